package bitrix_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// budgetClient is a client of srv on the shared virtual clock, paced for a
// 2 rps / 5 burst portal, with extra options (the carried-over level).
func budgetClient(t *testing.T, srv *bitrixtest.Server, clock *bitrixtest.Clock, opts ...bitrix.Option) *bitrix.Client {
	t.Helper()
	base := []bitrix.Option{
		bitrix.WithClock(clock),
		bitrix.WithRate(2, 5),
		bitrix.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		bitrix.WithRetry(bitrix.RetryPolicy{InitialDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}),
	}
	c, err := bitrix.New(srv.WebhookURL(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func scopes(t *testing.T, c *bitrix.Client, n int) {
	t.Helper()
	for range n {
		if _, err := c.Scope(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// Two runs back to back on a 2 rps / 5 burst portal: the second one starts
// from the level the first left and provokes no QUERY_LIMIT_EXCEEDED;
// started empty (as before the level was kept) it opens with a burst the
// portal has already spent.
func TestBucketLevelCarriesOverRuns(t *testing.T) {
	t.Parallel()
	for _, carry := range []bool{true, false} {
		clock := bitrixtest.NewClock(time.Time{})
		srv := bitrixtest.New(t, bitrixtest.Options{Rate: 2, Burst: 5, Now: clock.Now})
		first := budgetClient(t, srv, clock)
		scopes(t, first, 10)
		level, at := first.BucketLevel()
		if level < 2 || level > 5 || !at.Equal(clock.Now()) {
			t.Fatalf("level after a paced run: %.2f at %v", level, at)
		}
		var opts []bitrix.Option
		if carry {
			opts = append(opts, bitrix.WithBucketLevel(level, at))
		}
		second := budgetClient(t, srv, clock, opts...)
		scopes(t, second, 10)
		n := srv.Stats().QueryLimit503
		if carry && n != 0 {
			t.Fatalf("carried-over level: %d × 503, want 0", n)
		}
		if !carry && n == 0 {
			t.Fatal("fresh bucket after a run: want the portal to refuse the opening burst")
		}
		t.Logf("carry %v: %d × 503", carry, n)
	}
}

// The carried-over level drains at the configured rate: the first request
// waits exactly until the counter is below the client's threshold.
func TestBucketLevelRestoreDrains(t *testing.T) {
	t.Parallel()
	// Burst 5 leaves a margin of 2: the client sends while the counter is
	// at most 2 (3 tokens). Rate 2: one request drains in 0.5 s.
	for _, tc := range []struct {
		name  string
		level float64
		ago   time.Duration
		free  int           // requests sent at once
		wait  time.Duration // before the next one
	}{
		{"none", 0, 0, 3, 500 * time.Millisecond},
		{"full just now", 5, 0, 0, 1500 * time.Millisecond},
		{"full a second ago", 5, time.Second, 0, 500 * time.Millisecond},
		{"partly drained", 3, 500 * time.Millisecond, 1, 500 * time.Millisecond},
		{"fractional rounds up", 2.4, 0, 0, 500 * time.Millisecond},
		{"long drained", 5, time.Minute, 3, 500 * time.Millisecond},
		{"above the burst is full", 40, 0, 0, 1500 * time.Millisecond},
		{"from the future drains nothing", 5, -time.Minute, 0, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := bitrixtest.NewClock(time.Time{})
			srv := bitrixtest.New(t, bitrixtest.Options{Rate: 2, Burst: 5, Now: clock.Now})
			c := budgetClient(t, srv, clock, bitrix.WithBucketLevel(tc.level, clock.Now().Add(-tc.ago)))
			start := clock.Now()
			scopes(t, c, tc.free)
			if d := clock.Now().Sub(start); d != 0 {
				t.Fatalf("%d free requests took %v", tc.free, d)
			}
			scopes(t, c, 1)
			if d := clock.Now().Sub(start); d < tc.wait-time.Millisecond || d > tc.wait+time.Millisecond {
				t.Fatalf("request %d sent after %v, want %v", tc.free+1, d, tc.wait)
			}
			if n := srv.Stats().QueryLimit503; n != 0 {
				t.Fatalf("%d × 503", n)
			}
		})
	}
}

// A QUERY_LIMIT_EXCEEDED answer means the portal's bucket is full, whatever
// the client counted: the level handed on is the burst, draining from then.
func TestBucketLevelFullAfterQueryLimit(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{Rate: 2, Burst: 5}, bitrix.WithRate(2, 5), bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 1}))
	if level, _ := p.c.BucketLevel(); level != 0 {
		t.Fatalf("fresh client level %.2f", level)
	}
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultRateLimit, Method: "scope", Count: 1})
	if _, err := p.c.Scope(context.Background()); !errors.Is(err, bitrix.ErrQueryLimit) {
		t.Fatalf("err %v, want the refusal", err)
	}
	// The client had sent one request of its 3; the portal says 5.
	if level, at := p.c.BucketLevel(); level != 5 || !at.Equal(p.clock.Now()) {
		t.Fatalf("level right after a 503: %.2f, want 5", level)
	}
	p.clock.Advance(time.Second)
	if level, _ := p.c.BucketLevel(); level != 3 {
		t.Fatalf("level a second after a 503: %.2f, want 3", level)
	}
	p.clock.Advance(time.Minute)
	if level, _ := p.c.BucketLevel(); level != 0 {
		t.Fatalf("level a minute later: %.2f", level)
	}
}
