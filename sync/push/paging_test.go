package push_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

func TestMoreThanAPageOfNewComments(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.commented("first")
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
	h := newTest(t)
	h.movedTo("WON")
	const edit = "/api/v5/orders/{id}/edit"
	h.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Path: edit, Count: 1, Delay: time.Minute})
	// The run is cancelled once its edit reached RetailCRM, not after a fixed
	// time: on a busy machine the run may not have got that far yet.
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	finished := make(chan struct{})
	go func() {
		for h.rc.Requests(edit) == 0 {
			select {
			case <-finished:
				return
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
	}()
	_, err := h.engine(h.st).Run(ctx, push.Options{})
	close(finished)
	if err == nil {
		t.Fatal("no error")
	}
	if n := h.rc.Requests(edit); n != 1 {
		t.Errorf("%d edits, want the one the run was cancelled in", n)
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	if len(runs) != 1 || runs[0].Result != store.RunInterrupted {
		t.Errorf("runs %+v", runs)
	}
	if _, ok, _ := h.st.CursorInt(h.ctx, store.CursorStageHistory); ok {
		t.Error("cursor moved past an edit whose outcome is unknown")
	}
}

// TestPropertyOrdersFollowTheirDeals: whatever people do to the deals,
// whatever managers do to the orders (carried by pull at once), and however
// push runs interleave with run limits, after a final push every order's
// status is the one its deal's stage maps to, and push wrote no more
// statuses than people moved deals.
func TestPropertyOrdersFollowTheirDeals(t *testing.T) {
	t.Parallel()
	stages := []string{"NEW", "WON", "EXECUTING"}
	want := map[string]string{"NEW": "new", "WON": "complete", "EXECUTING": "assembling"}
	rapid.Check(t, func(rt *rapid.T) {
		h := newHarness(t)
		n := rapid.IntRange(1, 4).Draw(rt, "deals")
		orders := make([]int64, n)
		deals := make([]int64, n)
		for i := range n {
			orders[i], deals[i] = h.linked("new", "NEW")
		}
		moves := 0
		steps := rapid.IntRange(1, 8).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 2).Draw(rt, "action") {
			case 0:
				h.push(push.Options{MaxItems: rapid.IntRange(0, 5).Draw(rt, "max")})
				continue
			case 1: // a manager changes the order, pull carries it at once
				i := rapid.IntRange(0, n-1).Draw(rt, "order")
				status := rapid.SampledFrom([]string{"new", "complete"}).Draw(rt, "status")
				pullLike(h, orders[i], deals[i], status, map[string]string{"new": "NEW", "complete": "WON"}[status])
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
				rt.Fatalf("order %d status %q, deal at %s\n%s", orders[i], got, d.Str("STAGE_ID"), h.logs.String())
			}
		}
		// Only people's moves cause writes: pull's never come back.
		if h.edits() > moves {
			rt.Fatalf("%d edits for %d moves by people", h.edits(), moves)
		}
	})
}

// pullLike plays pull: the manager sets the order's status, then pull moves
// the deal to the mapped stage, records the write and the sync.
func pullLike(h *harness, orderID, dealID int64, status, stage string) {
	h.t.Helper()
	if h.order(orderID).Status != status {
		setStatus(h, orderID, status)
	}
	d, _ := h.bx.Deal(dealID)
	if d.Str("STAGE_ID") != stage {
		if err := h.bxc.Update(h.ctx, bitrix.EntityDeal, bitrix.ID(dealID), bitrix.Fields{"STAGE_ID": stage}, nil); err != nil {
			h.t.Fatal(err)
		}
	}
	err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		if d.Str("STAGE_ID") != stage {
			if err := tx.AddLedger(h.ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: "deal", EntityID: dealID,
				Field: "STAGE_ID", Value: stage}); err != nil {
				return err
			}
		}
		l, _, err := tx.OrderLink(h.ctx, orderID)
		if err != nil {
			return err
		}
		l.SyncedAt = time.Time{}
		return tx.PutOrderLink(h.ctx, l)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
}
