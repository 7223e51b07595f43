package bitrix_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

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
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	ctx := context.Background()
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
	opts := bitrixtest.Options{OperatingCost: map[string]float64{"crm.deal.list": 200}, OperatingLimit: map[string]float64{"crm.deal.list": 480}}
	t.Run("reactive", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, opts, bitrix.WithOperatingLimit(0))
		ctx := context.Background()
		for range 3 {
			if _, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
				t.Fatal(err)
			}
		}
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
		ctx := context.Background()
		for range 6 {
			if _, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
				t.Fatal(err)
			}
		}
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
		p := newPair(t, bitrixtest.Options{OperatingCost: map[string]float64{"batch": 200}, OperatingLimit: map[string]float64{"batch": 480}},
			bitrix.WithOperatingLimit(0))
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
		p := newPair(t, bitrixtest.Options{OperatingCost: map[string]float64{"crm.deal.get": 300}, OperatingLimit: map[string]float64{"crm.deal.get": 480}},
			bitrix.WithOperatingLimit(0))
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
