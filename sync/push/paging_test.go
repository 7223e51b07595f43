package push_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

func TestMoreThanAPageOfNewComments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o1, d1 := h.linked("new", "NEW")
	h.bx.AddComment("deal", d1, 7, "first")
	activity(h, o1)
	h.push(push.Options{})
	for i := range 120 {
		h.bx.AddComment("deal", d1, 7, fmt.Sprintf("note %03d", i))
	}
	activity(h, o1)
	h.clk.Advance(time.Minute)
	rep := h.push(push.Options{})
	mc := h.order(o1).ManagerComment
	if rep.Summary.CommentsPushed != 120 || strings.Count(mc, "] first") != 1 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	prev := -1
	for i := range 120 {
		at := strings.Index(mc, fmt.Sprintf("note %03d", i))
		if at < 0 || at < prev {
			t.Fatalf("note %d missing or out of order", i)
		}
		prev = at
	}
}

func TestCancelledRunStopsCleanly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, d1 := h.linked("new", "NEW")
	h.move(d1, "WON")
	h.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Path: "/api/v5/orders/{id}/edit", Count: 1, Delay: 2 * time.Second})
	ctx, cancel := context.WithTimeout(h.ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := h.engine(h.st).Run(ctx, push.Options{}); err == nil {
		t.Fatal("no error")
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	if len(runs) != 1 || runs[0].Result != store.RunInterrupted {
		t.Errorf("runs %+v", runs)
	}
	if _, ok, _ := h.st.CursorInt(h.ctx, store.CursorStageHistory); ok {
		t.Error("cursor moved past an edit whose outcome is unknown")
	}
}

// TestPropertyOrdersFollowTheirDeals: whatever people do to the deals and
// however the runs interleave, after a final push every order's status is
// the one its deal's stage maps to, and no run writes more statuses than
// there were moves.
func TestPropertyOrdersFollowTheirDeals(t *testing.T) {
	t.Parallel()
	stages := []string{"NEW", "WON", "EXECUTING"}
	want := map[string]string{"NEW": "new", "WON": "complete", "EXECUTING": "assembling"}
	h := newHarness(t) // shared: each case works on deals of its own
	rapid.Check(t, func(rt *rapid.T) {
		edits := h.edits()
		n := rapid.IntRange(1, 4).Draw(rt, "deals")
		orders := make([]int64, n)
		deals := make([]int64, n)
		for i := range n {
			orders[i], deals[i] = h.linked("new", "NEW")
		}
		moves := 0
		steps := rapid.IntRange(1, 8).Draw(rt, "steps")
		for range steps {
			if rapid.Bool().Draw(rt, "push") {
				h.push(push.Options{MaxItems: rapid.IntRange(0, 5).Draw(rt, "max")})
				continue
			}
			i := rapid.IntRange(0, n-1).Draw(rt, "deal")
			stage := rapid.SampledFrom(stages).Draw(rt, "stage")
			if d, _ := h.bx.Deal(deals[i]); d.Str("STAGE_ID") != stage {
				moves++
			}
			h.move(deals[i], stage)
		}
		h.push(push.Options{}) // no limit: drains whatever max-items left
		for i := range n {
			d, _ := h.bx.Deal(deals[i])
			if got := h.order(orders[i]).Status; got != want[d.Str("STAGE_ID")] {
				rt.Fatalf("order %d status %q, deal at %s", orders[i], got, d.Str("STAGE_ID"))
			}
		}
		if h.edits()-edits > moves {
			rt.Fatalf("%d edits for %d moves", h.edits()-edits, moves)
		}
	})
}
