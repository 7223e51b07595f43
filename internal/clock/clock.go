// Package clock holds the one context-aware sleep the clients, the engine
// and the fakes share.
package clock

import (
	"context"
	"time"
)

// Sleep waits d or until ctx is done, returning ctx.Err() then. A d <= 0
// does not wait: it only reports whether ctx is already done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
