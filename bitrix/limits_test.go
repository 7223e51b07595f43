package bitrix_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
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

// operating is a fake whose method costs cost seconds of operating time a
// call, out of limit per window.
func operating(method string, cost, limit float64) bitrixtest.Options {
	return bitrixtest.Options{OperatingCost: map[string]float64{method: cost}, OperatingLimit: map[string]float64{method: limit}}
}

// listDeals lists deals n times, each call one page.
func listDeals(t *testing.T, c *bitrix.Client, n int) {
	t.Helper()
	for i := range n {
		if _, err := c.List(context.Background(), bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func scopes(t *testing.T, c *bitrix.Client, n int) {
	t.Helper()
	for range n {
		if _, err := c.Scope(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// At the portal's own limit (2/s, burst 50) on a virtual clock, a long run
// provokes no QUERY_LIMIT_EXCEEDED and takes what the limit allows.
func TestLimiterMatchesPortalBucket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		sopts bitrixtest.Options
		rate  float64
		burst int
	}{
		{"cloud", bitrixtest.Options{}, 2, 50},
		{"enterprise", bitrixtest.Enterprise(), 5, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, tc.sopts, bitrix.WithRate(tc.rate, tc.burst))
			ctx := context.Background()
			start := p.clock.Now()
			const n = 400
			for range n {
				if _, err := p.c.Scope(ctx); err != nil {
					t.Fatal(err)
				}
			}
			elapsed := p.clock.Now().Sub(start).Seconds()
			ideal := float64(n-tc.burst*9/10) / tc.rate
			st := p.srv.Stats()
			if st.QueryLimit503 != 0 {
				t.Fatalf("%d QUERY_LIMIT_EXCEEDED", st.QueryLimit503)
			}
			if elapsed < ideal*0.99 || elapsed > ideal*1.10 {
				t.Fatalf("virtual time %.1fs, ideal %.1fs", elapsed, ideal)
			}
			t.Logf("%d requests at %g/s burst %d: %.1fs virtual (ideal %.1fs), 0 × 503", n, tc.rate, tc.burst, elapsed, ideal)
		})
	}
}

// Concurrent callers share one bucket; measured in real time at a scaled-up
// rate (400/s, burst 50).
func TestLimiterRealTimeConcurrent(t *testing.T) {
	t.Parallel()
	const rate, burst, workers, per = 200.0, 50, 4, 50
	srv := bitrixtest.New(t, bitrixtest.Options{Rate: rate, Burst: burst})
	c, err := bitrix.New(srv.WebhookURL(), bitrix.WithRate(rate, burst))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var mu sync.Mutex
	var stamps []time.Time
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range per {
				if _, err := c.Scope(ctx); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				stamps = append(stamps, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := srv.Stats().QueryLimit503; n != 0 {
		t.Fatalf("%d QUERY_LIMIT_EXCEEDED", n)
	}
	total := workers * per
	ideal := time.Duration(float64(total-burst*9/10) / rate * float64(time.Second))
	if elapsed < ideal*9/10 {
		t.Fatalf("finished in %v, faster than the bucket allows (%v)", elapsed, ideal)
	}
	// Spacing after the burst: mean interval between completions.
	tail := stamps[burst:]
	mean := tail[len(tail)-1].Sub(tail[0]) / time.Duration(len(tail)-1)
	t.Logf("%d requests, %d workers, %g/s burst %d: %v (ideal %v), mean spacing after burst %v (ideal %v)",
		total, workers, rate, burst, elapsed.Round(time.Millisecond), ideal.Round(time.Millisecond), mean, time.Duration(float64(time.Second)/rate))
}

func TestQueryLimitRetriesAndSlowsDown(t *testing.T) {
	ctx, p := parallelPair(t)
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultRateLimit, Method: "crm.deal.add", Count: 3})
	id, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "x"}, nil)
	if err != nil || id == 0 {
		t.Fatal(err)
	}
	if len(p.srv.Deals()) != 1 {
		t.Fatal("a write refused with 503 must be retried exactly until it runs once")
	}
	st := p.c.Stats()
	if st.QueryLimitHits != 3 || st.EffectiveRate >= 2 {
		t.Fatalf("stats %+v", st)
	}
	// Recovery: after quiet cool-down periods the rate doubles back.
	p.clock.Advance(5 * time.Minute)
	for range 4 {
		if _, err := p.c.Scope(ctx); err != nil {
			t.Fatal(err)
		}
		p.clock.Advance(2 * time.Minute)
	}
	if r := p.c.Stats().EffectiveRate; r != 2 {
		t.Fatalf("rate did not recover: %v", r)
	}
	// Bounded: a portal that keeps refusing gives ErrQueryLimit.
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultRateLimit, Method: "crm.deal.add", Count: 100})
	before := p.srv.Stats().PerMethod["crm.deal.add"]
	_, err = p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "y"}, nil)
	if !errors.Is(err, bitrix.ErrQueryLimit) || errors.Is(err, bitrix.ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
	if n := p.srv.Stats().PerMethod["crm.deal.add"] - before; n != 6 {
		t.Fatalf("%d attempts, want 6", n)
	}
}

// Another integration eats the shared budget: the portal's bucket is smaller
// than the client thinks. The client adapts after the first refusals.
func TestAdaptiveSlowdownOnSharedBudget(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{Rate: 1, Burst: 10})
	ctx := context.Background()
	for range 200 {
		if _, err := p.c.Scope(ctx); err != nil {
			t.Fatal(err)
		}
	}
	n := p.srv.Stats().QueryLimit503
	if n == 0 || n > 10 {
		t.Fatalf("%d refusals for 200 calls", n)
	}
	t.Logf("portal 1/s burst 10, client 2/s burst 50: %d × 503 in 200 calls, effective rate %.2f", n, p.c.Stats().EffectiveRate)
}

func TestOverloadStops(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultOverload, Count: 5})
	_, err := p.c.List(context.Background(), bitrix.EntityDeal, bitrix.ListRequest{})
	var ae *bitrix.APIError
	if !errors.Is(err, bitrix.ErrOverload) || !errors.As(err, &ae) || ae.HTTPStatus != 503 {
		t.Fatalf("err %v", err)
	}
	if n := p.srv.Stats().Requests; n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestOperationTimeLimitWaitsForReset(t *testing.T) {
	t.Parallel()
	opts := operating("crm.deal.list", 200, 480)
	t.Run("reactive", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, opts, bitrix.WithOperatingLimit(0))
		ctx := context.Background()
		listDeals(t, p.c, 3)
		_, reset, _ := p.c.OperatingTime("crm.deal.list")
		if _, err := p.c.Scope(ctx); err != nil { // other methods are unaffected
			t.Fatal(err)
		}
		if _, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
			t.Fatal(err)
		}
		if p.srv.Stats().OperationLimit429 != 1 || p.c.Stats().OperationLimitHits != 1 {
			t.Fatalf("server %+v client %+v", p.srv.Stats(), p.c.Stats())
		}
		if now := p.clock.Now(); now.Before(reset.Add(time.Second)) {
			t.Fatalf("retried at %v, before operating_reset_at+1s %v", now, reset)
		}
	})
	t.Run("budget given by the operator", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, opts, bitrix.WithOperatingLimit(480))
		listDeals(t, p.c, 6)
		if n := p.srv.Stats().OperationLimit429; n != 0 {
			t.Fatalf("%d × 429 despite tracking operating", n)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, bitrixtest.Options{})
		p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultOperationTimeLimit, Method: "crm.deal.list", Count: 50})
		_, err := p.c.List(context.Background(), bitrix.EntityDeal, bitrix.ListRequest{})
		if !errors.Is(err, bitrix.ErrOperationTimeLimit) {
			t.Fatalf("err %v", err)
		}
		if n := p.srv.Stats().PerMethod["crm.deal.list"]; n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})
	t.Run("batch charged as a whole", func(t *testing.T) {
		t.Parallel()
		// The portal may charge a batch's time to "batch" itself (JSSDK PR
		// 539): the whole batch answers 429 and must wait for its reset.
		p := newPair(t, operating("batch", 200, 480), bitrix.WithOperatingLimit(0))
		id := p.srv.SeedDeal(map[string]any{"TITLE": "x"})
		for i := range 4 {
			b := bitrix.NewBatch(false)
			mustAdd(t, b, "a", bitrix.GetCmd(bitrix.EntityDeal, bitrix.ID(id)))
			res, err := p.c.Batch(context.Background(), b)
			if err != nil || res.Get("a").Status != bitrix.Done {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
		if n := p.srv.Stats().OperationLimit429; n != 1 {
			t.Fatalf("%d × 429, want 1 (then a wait for operating_reset_at)", n)
		}
	})
	t.Run("inside batch", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, operating("crm.deal.get", 300, 480), bitrix.WithOperatingLimit(0))
		id := p.srv.SeedDeal(map[string]any{"TITLE": "x"})
		b := bitrix.NewBatch(false)
		for _, k := range []string{"a", "b", "c"} {
			mustAdd(t, b, k, bitrix.GetCmd(bitrix.EntityDeal, bitrix.ID(id)))
		}
		res, err := p.c.Batch(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		if res.Get("a").Status != bitrix.Done || res.Get("c").Status != bitrix.Failed || !errors.Is(res.Get("c").Err, bitrix.ErrOperationTimeLimit) {
			t.Fatalf("statuses %s %s %v", res.Get("a").Status, res.Get("c").Status, res.Get("c").Err)
		}
		op, _, paused := p.c.OperatingTime("crm.deal.get")
		if op < 300 || !paused.After(p.clock.Now()) {
			t.Fatalf("operating %v paused until %v", op, paused)
		}
		// The next batch with that method waits for the reset first.
		if _, err := p.c.Batch(context.Background(), res.Remaining()); err != nil {
			t.Fatal(err)
		}
		retry := bitrix.NewBatch(false)
		mustAdd(t, retry, "c", bitrix.GetCmd(bitrix.EntityDeal, bitrix.ID(id)))
		res, err = p.c.Batch(context.Background(), retry)
		if err != nil || res.Get("c").Status != bitrix.Done {
			t.Fatalf("after pause: %v %v", err, res.Get("c").Err)
		}
	})
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

// The operating-time budget is the portal's, not the docs' example of 480 s:
// the client pauses a method where the portal refuses it, never earlier, and
// invents nothing when the answers carry no operating fields.
func TestOperatingBudgetIsThePortals(t *testing.T) {
	t.Parallel()
	const method = "crm.deal.list"
	for _, tc := range []struct {
		name  string
		opts  bitrixtest.Options
		calls int
		// want429 is how many refusals the run may see; wantBudget the
		// budget the client ends up pausing at.
		want429    int
		wantBudget float64
		// maxElapsed bounds the virtual time the calls took (0: unbounded).
		maxElapsed time.Duration
	}{
		{
			// 150 s, far below 480: refused once, then paused at the level
			// the portal refused, window after window.
			name: "smaller budget", calls: 12, want429: 1, wantBudget: 150,
			opts: operating(method, 50, 150),
		},
		{
			// 900 s, above 480: five calls of 200 s run back to back, no
			// pause at the docs' example.
			name: "larger budget", calls: 5, want429: 0, wantBudget: 0, maxElapsed: 10 * time.Second,
			opts: operating(method, 200, 900),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, tc.opts)
			start := p.clock.Now()
			listDeals(t, p.c, tc.calls)
			if n := p.srv.Stats().OperationLimit429; n != tc.want429 {
				t.Errorf("%d × 429, want %d", n, tc.want429)
			}
			if b := p.c.OperatingBudget(method); b != tc.wantBudget {
				t.Errorf("budget %v, want %v", b, tc.wantBudget)
			}
			if el := p.clock.Now().Sub(start); tc.maxElapsed > 0 && el > tc.maxElapsed {
				t.Errorf("%d calls took %v: paused although the portal never refused", tc.calls, el)
			}
		})
	}
}

// Answers without operating / operating_reset_at (a portal with the limiter
// off, some real answers): the client has no budget to go by, so it calls
// until the portal refuses, then waits (the reset it knows, else one bucket)
// and carries on.
func TestOperatingTimeWithoutTheFields(t *testing.T) {
	t.Parallel()
	const method = "crm.deal.list"
	for _, tc := range []struct {
		name          string
		omit, omitRst bool
	}{
		{"no operating fields", true, false},
		{"operating without its reset", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := operating(method, 50, 150)
			opts.OperatingWindow, opts.OmitOperating, opts.OmitOperatingReset = 20*time.Second, tc.omit, tc.omitRst
			p := newPair(t, opts)
			listDeals(t, p.c, 9)
			st := p.srv.Stats()
			if st.OperationLimit429 == 0 {
				t.Error("never refused: the client paused on a budget the portal did not send")
			}
			if st.PerMethod[method] != 9+st.OperationLimit429 {
				t.Errorf("%d requests for 9 calls and %d refusals", st.PerMethod[method], st.OperationLimit429)
			}
			if b := p.c.OperatingBudget(method); b != 0 {
				t.Errorf("budget %v invented", b)
			}
			op, reset, _ := p.c.OperatingTime(method)
			if tc.omit && op != 0 || !reset.IsZero() {
				t.Errorf("operating %v reset %v read from answers without them", op, reset)
			}
		})
	}
}
