package bitrix

import (
	"context"
	"sync"
	"time"
)

// opTimes tracks the operating-time budget per method (b24restdocs:limits.md, "Resource
// Consumption Limits"): the last operating / operating_reset_at the portal
// sent for a method, and until when the method is paused.
//
// The portal sends how much of a method's budget is used, never the budget
// itself: the docs give 480 s per 10 minutes only as an example, and the
// cloud value is Bitrix24's to set. So a method is paused only when the
// portal says so (429 OPERATION_TIME_LIMIT), or when its operating reaches a
// budget the operator gave (WithOperatingLimit) or the level at which the
// portal already refused that method in this window. Answers without the
// fields (some real ones, self-hosted portals) leave nothing to go by but
// the 429 itself. See docs/api-notes.md, "Errors and operating time".
type opTimes struct {
	mu       sync.Mutex
	clock    Clock
	limit    float64       // budget the operator gave, seconds per window; 0: unknown
	fallback time.Duration // pause when no reset time is known
	m        map[string]*opState
}

type opState struct {
	operating float64   // last operating seen
	resetAt   time.Time // last operating_reset_at seen
	blocked   time.Time
	// refusedAt is the lowest operating at which the portal refused the
	// method: its budget is at most that (0: never refused).
	refusedAt float64
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

// budget is the operating at which method is paused before the portal
// refuses it; 0 when nothing tells it.
func (o *opTimes) budget(s *opState) float64 {
	b := 0.0
	if o.limit > 0 {
		// Stop just short of a given budget, as the JS SDK does (limit - 5 s),
		// so the next call is not the one refused.
		b = max(o.limit-5, o.limit/2)
	}
	if s.refusedAt > 0 && (b == 0 || s.refusedAt < b) {
		b = s.refusedAt
	}
	return b
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
	if b := o.budget(s); b > 0 && s.operating >= b && s.resetAt.After(o.clock.Now()) {
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
	// The operating last seen in this window is a level the portal refuses:
	// remember it so the method pauses there next time instead of being
	// refused again. A level from an earlier window says nothing.
	if s.operating > 0 && s.resetAt.After(now) && (s.refusedAt == 0 || s.operating < s.refusedAt) {
		s.refusedAt = s.operating
	}
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

// snapshot reports the last operating seconds and reset time seen for
// method, until when it is paused, and the budget it is paused at.
func (o *opTimes) snapshot(method string) (operating float64, resetAt, blocked time.Time, budget float64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.m[method]
	if !ok {
		return 0, time.Time{}, time.Time{}, o.budget(&opState{})
	}
	return s.operating, s.resetAt, s.blocked, o.budget(s)
}
