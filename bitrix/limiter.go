package bitrix

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// burstMargin is the part of the portal's bucket the client leaves unused.
// In steady state the portal's counter would otherwise sit right at the
// threshold, and any network jitter that bunches two requests together
// would be refused; a margin of m absorbs m/rate seconds of jitter.
func burstMargin(burst int) int {
	return min(max(2, burst/10), burst-1)
}

// limiter mirrors the portal's leaky bucket (burst X, drain Y per second) as a
// token bucket: tokens = X - level, so a request is sent only when the
// portal's counter is below the block threshold. After a QUERY_LIMIT_EXCEEDED
// (another integration shares the budget) it halves the drain rate for a
// cool-down period and empties its tokens.
type limiter struct {
	mu       sync.Mutex
	clock    Clock
	lim      *rate.Limiter
	base     float64 // configured drain, requests per second
	cur      float64
	min      float64
	cooldown time.Duration
	slowTill time.Time
	// burst is the portal's block threshold, size the part of it the
	// token bucket uses (burst less the margin).
	burst, size float64
	// fullAt is when the portal last answered QUERY_LIMIT_EXCEEDED: its
	// counter was at the threshold then, whatever the tokens say.
	fullAt time.Time
}

func newLimiter(clock Clock, ratePerSec float64, burst int, cooldown time.Duration) *limiter {
	l := &limiter{clock: clock, base: ratePerSec, cur: ratePerSec, cooldown: cooldown, min: ratePerSec / 8}
	lim := rate.Limit(ratePerSec)
	if ratePerSec <= 0 {
		lim = rate.Inf
	}
	size := burst - burstMargin(burst)
	l.burst, l.size = float64(burst), float64(size)
	l.lim = rate.NewLimiter(lim, size)
	// Start full (tokens = burst), i.e. assume the portal's counter is 0.
	l.lim.AllowN(clock.Now(), 0)
	return l
}

// wait blocks until one request may be sent.
func (l *limiter) wait(ctx context.Context) error {
	if l.base <= 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := l.clock.Now()
	if l.cur < l.base && !l.slowTill.IsZero() && now.After(l.slowTill) {
		// Recover step by step: double the rate per quiet cool-down period.
		l.cur = min(l.base, l.cur*2)
		l.lim.SetLimitAt(now, rate.Limit(l.cur))
		if l.cur < l.base {
			l.slowTill = now.Add(l.cooldown)
		}
	}
	res := l.lim.ReserveN(now, 1)
	l.mu.Unlock()
	if !res.OK() {
		return context.Canceled
	}
	d := res.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := l.clock.Sleep(ctx, d); err != nil {
		res.CancelAt(l.clock.Now())
		return err
	}
	return nil
}

// penalize reacts to a QUERY_LIMIT_EXCEEDED answer and returns the minimum
// wait before the next attempt: one drain interval at the lowered rate.
func (l *limiter) penalize() time.Duration {
	if l.base <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.cur = max(l.min, l.cur/2)
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	l.slowTill = now.Add(l.cooldown)
	l.fullAt = now
	// The portal thinks its bucket is full: drop our spare tokens.
	if tok := int(l.lim.TokensAt(now)); tok > 0 {
		l.lim.ReserveN(now, tok)
	}
	return time.Duration(float64(time.Second) / l.cur)
}

// rate returns the current effective drain rate.
func (l *limiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// level estimates the portal's counter at now: the requests it has not
// drained yet, 0..burst. After a QUERY_LIMIT_EXCEEDED it is at least what
// a full bucket has drained since at the configured rate.
func (l *limiter) level(now time.Time) float64 {
	if l.base <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lvl := l.size - l.lim.TokensAt(now)
	if !l.fullAt.IsZero() {
		lvl = max(lvl, l.burst-l.base*now.Sub(l.fullAt).Seconds())
	}
	return min(max(lvl, 0), l.burst)
}

// restore starts the bucket from the portal's counter as another run left
// it (level at at), drained by the time since: the requests still counted
// are taken from the tokens, rounded up, so the first requests of this run
// wait for them instead of spending a burst the portal no longer has.
func (l *limiter) restore(level float64, at, now time.Time) {
	if l.base <= 0 || math.IsNaN(level) || level <= 0 {
		return
	}
	elapsed := max(now.Sub(at).Seconds(), 0) // a clock set back drains nothing
	left := min(level, l.burst) - l.base*elapsed
	if left <= 0 {
		return
	}
	n := int(math.Ceil(left))
	l.mu.Lock()
	defer l.mu.Unlock()
	// ReserveN takes at most the bucket's size at once; more goes into debt.
	for step := l.lim.Burst(); n > 0; n -= step {
		l.lim.ReserveN(now, min(n, step))
	}
}
