package retailcrm_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestLimiterSpacing measures the client-side limiter: n calls at r rps
// take at least (n-1)/r, and a fake limited to a little above r never
// answers 503.
func TestLimiterSpacing(t *testing.T) {
	t.Parallel()
	const rps, calls = 40.0, 21
	fake, c := newFake(t, retailcrmtest.Options{RPS: rps * 1.25}, retailcrm.WithRate(rps))
	start := time.Now()
	for range calls {
		if _, err := c.Statuses(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	minimum := time.Duration(float64(calls-1) / rps * float64(time.Second))
	t.Logf("%d calls at %.0f rps took %v (floor %v, %.1f rps measured)", calls, rps, elapsed, minimum,
		float64(calls-1)/elapsed.Seconds())
	if elapsed < minimum-5*time.Millisecond {
		t.Errorf("took %v, want at least %v", elapsed, minimum)
	}
	if n := fake.FaultsServed(retailcrmtest.FaultRateLimit); n != 0 {
		t.Errorf("fake answered 503 %d times", n)
	}
}

// TestFakeRPSLimit shows the fake's own limit: an unpaced client is refused
// and recovers through retries. The fake measures its rate on a clock that
// moves 5 ms per reading, four times the limit, so the refusals do not
// depend on how fast this machine answers.
func TestFakeRPSLimit(t *testing.T) {
	t.Parallel()
	clk := &steppingClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: 5 * time.Millisecond}
	fake, c := newFake(t, retailcrmtest.Options{RPS: 50, Now: clk.Now},
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 8, InitialDelay: 20 * time.Millisecond, MaxDelay: 80 * time.Millisecond}))
	for range 80 {
		if _, err := c.Sites(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	refused := fake.FaultsServed(retailcrmtest.FaultRateLimit)
	t.Logf("80 unpaced calls: %d requests, %d refused with 503", fake.TotalRequests(), refused)
	if refused == 0 {
		t.Error("fake never enforced its limit")
	}
	if n := fake.TotalRequests(); n != 80+refused {
		t.Errorf("requests = %d with %d refusals, want the 80 calls plus one retry per refusal", n, refused)
	}
}

// steppingClock moves step forward each time it is read.
type steppingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func TestConcurrentCalls(t *testing.T) {
	fake, c := parallelFake(t)
	o := fake.CreateOrder(retailcrm.Order{})
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			var err error
			switch i % 4 {
			case 0:
				_, err = c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{})
			case 1:
				_, err = c.Order(context.Background(), o.ID)
			case 2:
				err = fake.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerComment += "x" })
			default:
				_, err = c.EditOrder(context.Background(), o.ID, "", retailcrm.OrderPatch{StatusComment: "s"})
			}
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got, _ := fake.Order(o.ID)
	if len(got.ManagerComment) != 10 {
		t.Errorf("comment = %q, want 10 appends", got.ManagerComment)
	}
}
