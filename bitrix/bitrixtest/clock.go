package bitrixtest

import (
	"context"
	"sync"
	"time"
)

// Clock is a virtual clock shared by a test's client and fake portal: Sleep
// advances it at once, so a run paced at 2 requests per second takes no real
// time. It satisfies bitrix.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a virtual clock at start (the zero time means 2026-01-01).
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Clock{now: start}
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep advances the clock by d without blocking.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}
