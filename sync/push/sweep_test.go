package push_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

// quietComments is a portal whose comments do not move LAST_ACTIVITY_TIME.
func quietComments(o *bitrixtest.Options) { o.CommentsLeaveActivity = true }

// linkedIn links a new order whose status group pull saw as group.
func (h *harness) linkedIn(group string) (orderID, dealID int64) {
	h.t.Helper()
	orderID, dealID = h.linked("new", "NEW")
	l, ok, err := h.st.OrderLink(h.ctx, orderID)
	if err != nil || !ok {
		h.t.Fatalf("link of order %d: %v %v", orderID, ok, err)
	}
	l.StatusGroup = group
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error { return tx.PutOrderLink(h.ctx, l) }); err != nil {
		h.t.Fatal(err)
	}
	return orderID, dealID
}

// linkedMany links n orders in the status group, as linkedIn does, and
// returns their ids in the order made.
func (h *harness) linkedMany(n int, group string) (orders, deals []int64) {
	h.t.Helper()
	for range n {
		o, d := h.linkedIn(group)
		orders, deals = append(orders, o), append(deals, d)
	}
	return orders, deals
}

// skipHistory moves the stage-history cursor to the history's head, as a
// first push would, without a push run on record.
func (h *harness) skipHistory() {
	h.t.Helper()
	var after int64
	for {
		page, err := h.bxc.StageHistoryList(h.ctx, bitrix.EntityTypeDeal, bitrix.ListRequest{
			Filter: map[string]any{">ID": after}, Order: map[string]string{"ID": "ASC"}, Start: -1})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range page.Rows {
			after = max(after, int64(r.ID))
		}
		if len(page.Rows) < bitrix.PageSize {
			break
		}
	}
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error { return tx.SetCursorInt(h.ctx, store.CursorStageHistory, after) }); err != nil {
		h.t.Fatal(err)
	}
}

// sweepSize mirrors push's slice: the batch listing active deals has room
// for 49 comment lists.
const sweepSize = 49

// A manager's comment on a deal with no other activity, on a portal where
// comments leave LAST_ACTIVITY_TIME alone, reaches the order within
// ceil(open/49) pushes, each of which costs at most 2 Bitrix24 requests.
func TestCommentsOfIdleOpenDealsAreSwept(t *testing.T) {
	t.Parallel()
	for _, open := range []int{3, 120} {
		t.Run(fmt.Sprintf("%d open deals", open), func(t *testing.T) {
			h := newTest(t, quietComments)
			orders := map[int64]int64{} // deal → order
			for i := range open {
				group := "new"
				if i%3 == 1 {
					group = "" // a link from before pull saved groups: open
				}
				o, d := h.linkedIn(group)
				orders[d] = o
			}
			for range 10 {
				h.linkedIn("complete")
				h.linkedIn("cancel")
			}
			h.clk.Advance(10 * time.Minute)
			h.push(push.Options{}) // takes the stage history's head
			for d := range orders {
				h.bx.AddComment("deal", d, 7, fmt.Sprintf("Idle deal %d: call back", d))
			}
			runs := (open + sweepSize - 1) / sweepSize
			for i := range runs {
				h.clk.Advance(5 * time.Minute)
				before := h.bx.Stats()
				rep := h.push(push.Options{})
				after := h.bx.Stats()
				if rep.Summary.BitrixRequests > 2 {
					t.Errorf("run %d: %d Bitrix24 requests, want ≤ 2", i+1, rep.Summary.BitrixRequests)
				}
				if n := after.CommandsPerMethod["crm.timeline.comment.list"] - before.CommandsPerMethod["crm.timeline.comment.list"]; n > sweepSize {
					t.Errorf("run %d: %d comment lists, want ≤ %d", i+1, n, sweepSize)
				}
			}
			for d, o := range orders {
				if mc := h.order(o).ManagerComment; strings.Count(mc, fmt.Sprintf("Idle deal %d: call back", d)) != 1 {
					t.Errorf("after %d pushes, order %d (deal %d) has %q", runs, o, d, mc)
				}
			}
			// Nothing new: still at most 2 requests and no RetailCRM request.
			h.clk.Advance(5 * time.Minute)
			rep := h.push(push.Options{})
			if rep.Summary.BitrixRequests > 2 || rep.Summary.RetailCRMRequests != 0 || rep.Summary.DealsScanned != 0 {
				t.Errorf("idle push: %+v", rep.Summary)
			}
		})
	}
}

// The sweep position moves on with every run and wraps around: a comment
// on the lowest open deal, written after the sweep passed it, is read in
// the next cycle.
func TestCommentSweepWrapsAround(t *testing.T) {
	h := newTest(t, quietComments)
	orders, deals := h.linkedMany(100, "new")
	h.clk.Advance(10 * time.Minute)
	var positions []int64
	for range 3 {
		h.push(push.Options{})
		h.clk.Advance(5 * time.Minute)
		pos, err := h.st.CommentSweep(h.ctx, store.EntityDeal)
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, pos)
	}
	// 100 deals, 49 a run: runs end at the 49th, 98th, then wrap to the 47th.
	want := []int64{deals[48], deals[97], deals[46]}
	for i := range want {
		if positions[i] != want[i] {
			t.Errorf("sweep positions %v, want %v", positions, want)
			break
		}
	}
	h.bx.AddComment("deal", deals[0], 7, "First deal, second cycle")
	h.bx.AddComment("deal", deals[99], 7, "Last deal, second cycle")
	for range 3 {
		h.push(push.Options{})
		h.clk.Advance(5 * time.Minute)
	}
	for _, i := range []int{0, 99} {
		if mc := h.order(orders[i]).ManagerComment; !strings.Contains(mc, "second cycle") {
			t.Errorf("deal %d: comment not carried in the second cycle: %q", deals[i], mc)
		}
	}
}

// The sweep does not break the push budget of ≤ 0.1 Bitrix24 requests per
// stage change: its comment reads ride in batches the push sends anyway.
func TestSweepKeepsThePushBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		moves    int
		firstRun bool // no earlier push: no activity list to ride on
	}{
		{"100 moves", 100, false},
		{"50 moves in a first push", 50, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTest(t, quietComments)
			var deals []int64
			for range 250 {
				_, d := h.linkedIn("new")
				deals = append(deals, d)
			}
			h.clk.Advance(10 * time.Minute)
			if tc.firstRun {
				// The stage history's head is taken, as a first push would,
				// without a push run on record.
				h.skipHistory()
			} else {
				h.push(push.Options{})
			}
			h.clk.Advance(5 * time.Minute)
			for _, d := range deals[100 : 100+tc.moves] {
				if err := h.bx.MoveDeal(d, "WON", 7); err != nil {
					t.Fatal(err)
				}
			}
			h.clk.Advance(time.Minute)
			rep := h.push(push.Options{})
			if rep.Summary.StatusesPushed != tc.moves || rep.Summary.BitrixRequests*10 > tc.moves {
				t.Errorf("%d stage changes: %d pushed, %d Bitrix24 requests (want ≤ %d)", tc.moves,
					rep.Summary.StatusesPushed, rep.Summary.BitrixRequests, tc.moves/10)
			}
			t.Logf("%d Bitrix24 requests, %d deals swept", rep.Summary.BitrixRequests, rep.Summary.DealsSwept)
			if rep.Summary.DealsSwept == 0 && !tc.firstRun {
				t.Errorf("nothing swept: %+v", rep.Summary)
			}
		})
	}
}
