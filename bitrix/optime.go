package bitrix

import (
	"context"
	"sync"
	"time"
)

// opTimes tracks the operating-time budget per method (D:limits, "Resource
// Intensity Limits"): the last operating / operating_reset_at seen for a
// method, and until when the method is paused after OPERATION_TIME_LIMIT.
type opTimes struct {
	mu       sync.Mutex
	clock    Clock
	limit    float64       // seconds per window; 0 disables proactive pausing
	fallback time.Duration // pause when no reset time was ever seen
	m        map[string]*opState
}

type opState struct {
	operating float64
	resetAt   time.Time
	blocked   time.Time
}

func newOpTimes(clock Clock, limit float64, fallback time.Duration) *opTimes {
	return &opTimes{clock: clock, limit: limit, fallback: fallback, m: map[string]*opState{}}
}

func (o *opTimes) state(method string) *opState {
	s, ok := o.m[method]
	if !ok {
		s = &opState{}
		o.m[method] = s
	}
	return s
}

// observe records a time object seen for method (envelope or result_time).
func (o *opTimes) observe(method string, t *Time) {
	if t == nil || !t.HasOperating {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.state(method)
	s.operating = t.Operating
	if t.OperatingResetAt > 0 {
		s.resetAt = time.Unix(t.OperatingResetAt, 0)
	}
	// Stop just short of the limit, as the JS SDK does (limit - 5 s), so the
	// next call is not the one refused.
	if o.limit > 0 && s.operating >= o.limit-5 && !s.resetAt.IsZero() {
		s.blocked = s.resetAt.Add(time.Second)
	}
}

// block pauses method after an OPERATION_TIME_LIMIT answer until the last
// known operating_reset_at + 1 s, or for the fallback pause if none is known
// or it has already passed. It returns the pause.
func (o *opTimes) block(method string) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	s := o.state(method)
	until := s.resetAt.Add(time.Second)
	if s.resetAt.IsZero() || !until.After(now) {
		until = now.Add(o.fallback)
	}
	s.blocked = until
	return until.Sub(now)
}

// pauseFor returns how long method must still wait.
func (o *opTimes) pauseFor(method string) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.m[method]
	if !ok {
		return 0
	}
	return s.blocked.Sub(o.clock.Now())
}

// wait sleeps until method is no longer paused; maxWait bounds one pause.
func (o *opTimes) wait(ctx context.Context, method string, maxWait time.Duration) error {
	d := o.pauseFor(method)
	if d <= 0 {
		return ctx.Err()
	}
	if maxWait > 0 && d > maxWait {
		d = maxWait
	}
	return o.clock.Sleep(ctx, d)
}

// Operating reports the last operating seconds and reset time seen for method.
func (o *opTimes) snapshot(method string) (float64, time.Time, time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.m[method]
	if !ok {
		return 0, time.Time{}, time.Time{}
	}
	return s.operating, s.resetAt, s.blocked
}
