package bitrix_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

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
			opts: bitrixtest.Options{OperatingCost: map[string]float64{method: 50}, OperatingLimit: map[string]float64{method: 150}},
		},
		{
			// 900 s, above 480: five calls of 200 s run back to back, no
			// pause at the docs' example.
			name: "larger budget", calls: 5, want429: 0, wantBudget: 0, maxElapsed: 10 * time.Second,
			opts: bitrixtest.Options{OperatingCost: map[string]float64{method: 200}, OperatingLimit: map[string]float64{method: 900}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, tc.opts)
			ctx := context.Background()
			start := p.clock.Now()
			for i := range tc.calls {
				if _, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
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
			p := newPair(t, bitrixtest.Options{OperatingCost: map[string]float64{method: 50}, OperatingLimit: map[string]float64{method: 150},
				OperatingWindow: 20 * time.Second, OmitOperating: tc.omit, OmitOperatingReset: tc.omitRst})
			ctx := context.Background()
			for i := range 9 {
				if _, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
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
