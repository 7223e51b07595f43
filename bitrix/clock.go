package bitrix

import (
	"context"
	"time"

	"github.com/crmsync/crmsync/internal/clock"
)

// Clock is the time source of the limiter and of retry waits. Tests inject a
// virtual clock whose Sleep advances time at once.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	return clock.Sleep(ctx, d)
}
