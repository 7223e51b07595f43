package push_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

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
