package retailcrm_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

const historyPath = "/api/v5/orders/history"

// attemptTimeout is the client's per-attempt timeout in the tests that need
// one: a fault-free answer must come within it even on a busy machine, or
// an extra attempt changes the request counts. A slow fault waits
// slowDelay, far longer; the fake stops waiting as soon as the client hangs
// up, so the tests wait attemptTimeout, not slowDelay.
const (
	attemptTimeout = time.Second
	slowDelay      = time.Minute
)

func TestRetryReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     retailcrmtest.Fault
		wantErr   error // nil: succeeds after retries
		wantCalls int
	}{
		{"503 twice then ok", retailcrmtest.Fault{Kind: retailcrmtest.FaultRateLimit, Count: 2}, nil, 3},
		{"503 forever stops at max attempts", retailcrmtest.Fault{Kind: retailcrmtest.FaultRateLimit, Count: 100}, retailcrm.ErrRateLimited, 5},
		// Over its limit RetailCRM may answer from nginx: an HTML 503 page
		// is as retryable as the JSON one.
		{"503 HTML page twice then ok", retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Status: 503, Count: 2}, nil, 3},
		{"502 HTML twice then ok", retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Count: 2}, nil, 3},
		{"500 HTML forever", retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Status: 500, Count: 100}, retailcrm.ErrServer, 5},
		{"dropped connection then ok", retailcrmtest.Fault{Kind: retailcrmtest.FaultDrop, Count: 1}, nil, 2},
		{"slow answer past the timeout then ok", retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Delay: slowDelay, Count: 1}, nil, 2},
		{"truncated JSON is not retried", retailcrmtest.Fault{Kind: retailcrmtest.FaultTruncated, Count: 1}, retailcrm.ErrDecode, 1},
		{"HTML 405 is not retried", retailcrmtest.Fault{Kind: retailcrmtest.FaultHTML405, Count: 1}, retailcrm.ErrAccountNotFound, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, c := newFake(t, retailcrmtest.Options{}, retailcrm.WithTimeout(attemptTimeout))
			fake.CreateOrder(retailcrm.Order{})
			tt.fault.Path = historyPath
			fake.InjectFault(tt.fault)
			p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{})
			if tt.wantErr == nil {
				if err != nil || len(p.History) != 1 {
					t.Fatalf("err = %v, page = %+v", err, p)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := fake.Requests(historyPath); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRetryEdit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fault       retailcrmtest.Fault
		wantErr     error
		wantCalls   int
		wantApplied bool
	}{
		{"503 is refused before running: retried", retailcrmtest.Fault{Kind: retailcrmtest.FaultRateLimit, Count: 2}, nil, 3, true},
		{"503 HTML page is refused before running: retried", retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Status: 503, Count: 2}, nil, 3, true},
		{"502 may have run: not retried", retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Count: 1}, retailcrm.ErrServer, 1, false},
		{"dropped connection: not retried", retailcrmtest.Fault{Kind: retailcrmtest.FaultDrop, Count: 1}, nil, 1, false},
		{"timeout: not retried, yet applied", retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Delay: slowDelay, Count: 1}, retailcrm.ErrTimeout, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, c := newFake(t, retailcrmtest.Options{}, retailcrm.WithTimeout(attemptTimeout))
			o := fake.CreateOrder(retailcrm.Order{})
			tt.fault.Path = "/api/v5/orders/{id}/edit"
			fake.InjectFault(tt.fault)
			_, err := c.EditOrder(context.Background(), o.ID, "", retailcrm.OrderPatch{Status: "complete"})
			switch {
			case tt.wantErr == nil && tt.wantApplied && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case !tt.wantApplied && err == nil:
				t.Fatal("edit reported success")
			case errors.Is(err, context.DeadlineExceeded):
				// That would read as the run's own deadline and end it.
				t.Fatalf("err = %v matches context.DeadlineExceeded", err)
			}
			if got := fake.Requests("/api/v5/orders/{id}/edit"); got != tt.wantCalls {
				t.Errorf("edit requests = %d, want %d", got, tt.wantCalls)
			}
			// A slow edit runs once the fake sees the client gave up; wait
			// for it (the bound only ends a test that would fail anyway).
			deadline := time.Now().Add(30 * time.Second)
			for tt.wantApplied && fake.APIChanges(o.ID) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			got, _ := fake.Order(o.ID)
			if applied := got.Status == "complete"; applied != tt.wantApplied {
				t.Errorf("applied = %v, want %v", applied, tt.wantApplied)
			}
			if n := fake.APIChanges(o.ID); n > 1 {
				t.Errorf("edit applied %d times", n)
			}
		})
	}
}

// TestRetryStopsWithContext: when the caller's context ends, retrying stops
// and the error names both the context's end and the answer that made the
// client wait, wherever the context happened to end (inside a backoff wait,
// or inside an attempt on a busy machine).
func TestRetryStopsWithContext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// slow: the second answer takes longer than the context lives, so the
		// context ends inside an attempt, not in a wait.
		slow bool
	}{{"ends in a backoff wait", false}, {"ends inside an attempt", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, c := newFake(t, retailcrmtest.Options{},
				retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 100, InitialDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond}))
			fake.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultRateLimit, Count: 1})
			if tc.slow {
				fake.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Delay: 5 * time.Second, Count: 1})
			} else {
				fake.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultRateLimit, Count: 1000})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Statuses(ctx)
			if !errors.Is(err, retailcrm.ErrRateLimited) {
				t.Fatalf("err = %v, want it to keep the rate-limit answer", err)
			}
			if tc.slow && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want it to say the context ended", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v after the context ended", d)
			}
			if n := fake.TotalRequests(); n < 2 || n > 30 { // 500 ms of 25–75 ms waits, far below MaxAttempts
				t.Errorf("requests = %d, want a few", n)
			}
		})
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	fake, c := parallelFake(t)
	_, err := c.Order(context.Background(), 999)
	assertAPIError(t, err, http.StatusNotFound, "Not found", []error{retailcrm.ErrNotFound}, []error{retailcrm.ErrAuth})
	if n := fake.TotalRequests(); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

// TestFaultsProbabilistic drives many reads through random faults of every
// kind: no panic, every call ends in success or a classified error, and
// the seeded fake repeats the same number of faults.
func TestFaultsProbabilistic(t *testing.T) {
	t.Parallel()
	run := func() (ok, failed int, served map[retailcrmtest.FaultKind]int) {
		fake, c := newFake(t, retailcrmtest.Options{Seed: 42}, retailcrm.WithTimeout(attemptTimeout))
		for range 5 {
			fake.CreateOrder(retailcrm.Order{})
		}
		kinds := []retailcrmtest.FaultKind{retailcrmtest.FaultRateLimit, retailcrmtest.FaultServerError,
			retailcrmtest.FaultTruncated, retailcrmtest.FaultHTML405, retailcrmtest.FaultDrop}
		for _, k := range kinds {
			fake.InjectFault(retailcrmtest.Fault{Kind: k, Probability: 0.06})
		}
		fake.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Probability: 0.02, Delay: slowDelay})
		for range 60 {
			_, err := c.Orders(context.Background(), retailcrm.OrdersFilter{})
			if err == nil {
				ok++
				continue
			}
			failed++
			var apiErr *retailcrm.APIError
			if !errors.As(err, &apiErr) && !errors.Is(err, retailcrm.ErrDecode) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("unclassified error: %v", err)
			}
		}
		served = map[retailcrmtest.FaultKind]int{}
		for _, k := range append(kinds, retailcrmtest.FaultSlow) {
			served[k] = fake.FaultsServed(k)
		}
		return ok, failed, served
	}
	ok, failed, served := run()
	t.Logf("60 calls: %d ok, %d failed; faults served %v", ok, failed, served)
	if ok == 0 {
		t.Error("no call succeeded")
	}
	_, _, again := run()
	for k, n := range served {
		if k != retailcrmtest.FaultSlow && again[k] != n {
			t.Errorf("fault %v served %d then %d: not repeatable", k, n, again[k])
		}
	}
}
