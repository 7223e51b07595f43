package push_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

// webhookUser is the fake portal's webhook user: crmsync's own author.
const webhookUser = 1

// ownComment writes a timeline comment on the deal as pull does: through
// the webhook user, recorded in the ledger with its id, and an event about
// the order.
func (h *harness) ownComment(orderID, dealID int64, text string) {
	h.t.Helper()
	id := h.bx.AddComment("deal", dealID, webhookUser, text)
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		if err := tx.AddLedger(h.ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: "comment", EntityID: dealID,
			Field: "COMMENT", Value: text, RemoteID: id}); err != nil {
			return err
		}
		_, err := tx.AddEvent(h.ctx, store.Event{Source: store.SourceRetailCRM, OrderID: orderID, Action: "deal.update", Result: store.ResultOK})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
}

// ownStage moves the deal as pull does: through the webhook user,
// recorded in the ledger.
func (h *harness) ownStage(dealID int64, stage string) {
	h.t.Helper()
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		return tx.AddLedger(h.ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: "deal", EntityID: dealID,
			Field: "STAGE_ID", Value: stage})
	}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.bx.MoveDeal(dealID, stage, webhookUser); err != nil {
		h.t.Fatal(err)
	}
}

// A push of 100 stage changes, right after pull wrote to 300 deals (those
// moved among them) and with managers' comments on some deals, costs at
// most 0.1 Bitrix24 requests per change; every manager comment arrives;
// the push after it, with nothing new, costs at most 2.
func TestPushOfManyStageChangesCostsATenthOfARequestEach(t *testing.T) {
	h := newTest(t)
	const deals, moves = 300, 100
	type pair struct{ order, deal int64 }
	var all []pair
	for range deals {
		o, d := h.linked("new", "NEW")
		all = append(all, pair{o, d})
	}
	h.clk.Advance(10 * time.Minute)
	h.push(push.Options{}) // takes the stage history's head
	h.clk.Advance(5 * time.Minute)
	h.push(push.Options{})
	h.clk.Advance(time.Minute)
	// pull: a status comment on every deal.
	for _, p := range all {
		h.ownComment(p.order, p.deal, "Status changed: new → approval")
	}
	h.clk.Advance(30 * time.Second)
	h.push(push.Options{})
	h.clk.Advance(30 * time.Second)
	// Managers move 100 deals and comment on 10 others.
	want := map[int64]string{}
	for i, p := range all[:moves] {
		if err := h.bx.MoveDeal(p.deal, "WON", 7); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			want[p.order] = fmt.Sprintf("Moved deal %d, paid", p.deal)
			h.bx.AddComment("deal", p.deal, 7, want[p.order])
		}
	}
	for _, p := range all[moves : moves+10] {
		want[p.order] = fmt.Sprintf("Quiet deal %d: call back", p.deal)
		h.bx.AddComment("deal", p.deal, 8, want[p.order])
	}
	h.clk.Advance(2 * time.Minute)

	rep := h.push(push.Options{})
	t.Logf("push of %d stage changes: %d Bitrix24 requests, %d deals scanned, %d swept", moves,
		rep.Summary.BitrixRequests, rep.Summary.DealsScanned, rep.Summary.DealsSwept)
	if rep.Summary.StatusesPushed != moves {
		t.Fatalf("statuses pushed %d, want %d: %+v", rep.Summary.StatusesPushed, moves, rep.Summary)
	}
	if per := float64(rep.Summary.BitrixRequests) / moves; per > 0.1 {
		t.Errorf("%d Bitrix24 requests for %d stage changes (%.2f each), want ≤ 0.1 each: %+v",
			rep.Summary.BitrixRequests, moves, per, rep.Summary)
	}
	for o, text := range want {
		if mc := h.order(o).ManagerComment; strings.Count(mc, text) != 1 {
			t.Errorf("order %d: manager comment %q, want %q once", o, mc, text)
		}
	}

	h.clk.Advance(time.Minute)
	rep = h.push(push.Options{})
	if rep.Summary.BitrixRequests > 2 || rep.Summary.RetailCRMRequests != 0 {
		t.Errorf("push with nothing new: %d Bitrix24, %d RetailCRM requests, want ≤ 2 and 0: %+v",
			rep.Summary.BitrixRequests, rep.Summary.RetailCRMRequests, rep.Summary)
	}
}

// A person's comment that crmsync's own later write (a comment, or a stage
// move) hides from the deal's last activity still arrives: the deal has an
// own write newer than push's last read of it. Also on deals of finished
// orders, which the sweep leaves out, and when more deals are due than a
// run has places for.
func TestCommentHiddenByOwnWriteArrives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		deals int
		group string
		write string // "comment" or "stage"
		runs  int    // pushes within which every comment arrives
	}{
		{"own comment after it", 1, "new", "comment", 1},
		{"own stage move after it", 1, "new", "stage", 1},
		{"finished order", 1, "complete", "comment", 1},
		{"more deals than places", 100, "complete", "comment", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTest(t)
			type pair struct{ order, deal int64 }
			var all []pair
			for range tc.deals {
				o, d := h.linkedIn(tc.group)
				all = append(all, pair{o, d})
			}
			h.clk.Advance(10 * time.Minute)
			h.push(push.Options{})
			h.clk.Advance(5 * time.Minute)
			h.push(push.Options{})
			h.clk.Advance(5 * time.Minute)
			for _, p := range all {
				h.bx.AddComment("deal", p.deal, 7, fmt.Sprintf("Deal %d: client called", p.deal))
			}
			h.clk.Advance(time.Minute)
			for _, p := range all {
				if tc.write == "stage" {
					h.ownStage(p.deal, "EXECUTING")
				} else {
					h.ownComment(p.order, p.deal, "Status changed: new → assembling")
				}
			}
			for _, p := range all {
				if row, _ := h.bx.Deal(p.deal); row.Str("LAST_ACTIVITY_BY") != fmt.Sprint(webhookUser) {
					t.Fatalf("deal %d: LAST_ACTIVITY_BY %q, want the webhook user's", p.deal, row.Str("LAST_ACTIVITY_BY"))
				}
			}
			for range tc.runs {
				h.clk.Advance(5 * time.Minute)
				h.push(push.Options{})
			}
			for _, p := range all {
				if mc := h.order(p.order).ManagerComment; strings.Count(mc, fmt.Sprintf("Deal %d: client called", p.deal)) != 1 {
					t.Errorf("after %d pushes, order %d (deal %d): %q", tc.runs, p.order, p.deal, mc)
				}
			}
		})
	}
}

// A first push stopped after the stage history (here by its item limit; a
// kill does the same) has moved the history's cursor past the moves: the
// next push, still without a complete run before it, finds the moved deals
// by their activity and carries their comments (not through the sweep: the
// orders are in a final group).
func TestCommentsOfAStoppedFirstPushArrive(t *testing.T) {
	h := newTest(t)
	orders, deals := h.linkedMany(3, "complete") // left out of the sweep
	h.clk.Advance(10 * time.Minute)
	h.skipHistory()
	for _, d := range deals {
		h.bx.AddComment("deal", d, 7, fmt.Sprintf("Deal %d: gift wrap", d))
		h.move(d, "WON")
	}
	if rep := h.push(push.Options{MaxItems: 3}); rep.Summary.StatusesPushed != 3 || rep.Summary.CommentsComplete {
		t.Fatalf("stopped push: %+v", rep.Summary)
	}
	h.clk.Advance(time.Minute)
	h.push(push.Options{})
	for _, o := range orders {
		if mc := h.order(o).ManagerComment; !strings.Contains(mc, "gift wrap") {
			t.Errorf("order %d: manager comment %q", o, mc)
		}
	}
}

// spoilListing fails the activity listing's command in the batch whose
// listing page is the fail-th (from 1) this client sends.
type spoilListing struct {
	push.Bitrix
	fail, pages int
}

func (s *spoilListing) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	res, err := s.Bitrix.Batch(ctx, b)
	if cr := res.Get("active"); cr != nil {
		if s.pages++; s.pages == s.fail {
			res.Results["active"] = &bitrix.CmdResult{Key: "active", Cmd: cr.Cmd, Status: bitrix.Failed,
				Err: errors.New("spoiled by the test")}
		}
	}
	return res, err
}

// A run whose listing of active deals fails part way is not complete: the
// next run's window still starts where the last complete run's did, so
// the deals of the pages not listed are read then.
func TestFailedActivityListingKeepsTheWindow(t *testing.T) {
	h := newTest(t)
	orders, deals := h.linkedMany(60, "complete") // left out of the sweep
	h.clk.Advance(10 * time.Minute)
	h.push(push.Options{})
	h.clk.Advance(5 * time.Minute)
	h.push(push.Options{})
	h.clk.Advance(time.Minute)
	for _, d := range deals {
		h.bx.AddComment("deal", d, 7, fmt.Sprintf("Deal %d: invoice sent", d))
	}
	h.clk.Advance(5 * time.Minute)
	e := h.engine(h.st, func(d *push.Deps) { d.Bitrix = &spoilListing{Bitrix: h.bxc, fail: 2} })
	rep, err := e.Run(h.ctx, push.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.CommentsComplete || rep.Summary.CommentsPushed != 50 {
		t.Errorf("push with the listing's second page failed: %+v", rep.Summary)
	}
	h.clk.Advance(5 * time.Minute)
	h.push(push.Options{})
	for i, o := range orders {
		if mc := h.order(o).ManagerComment; strings.Count(mc, fmt.Sprintf("Deal %d: invoice sent", deals[i])) != 1 {
			t.Errorf("order %d: manager comment %q", o, mc)
		}
	}
}

// A person's comment followed by crmsync's update of a plain field: the
// deal's last modifier is the webhook user, its last actor the person, so
// the deal is listed as active and the comment arrives.
func TestCommentBeforeOwnFieldUpdateArrives(t *testing.T) {
	h := newTest(t)
	o, d := h.linkedIn("complete") // left out of the sweep
	h.clk.Advance(10 * time.Minute)
	h.push(push.Options{})
	h.clk.Advance(5 * time.Minute)
	h.push(push.Options{})
	h.clk.Advance(time.Minute)
	h.bx.AddComment("deal", d, 7, "Packed in two boxes")
	h.clk.Advance(time.Minute)
	b := bitrix.NewBatch(false)
	if err := b.Add("u", bitrix.UpdateCmd(bitrix.EntityDeal, bitrix.ID(d), bitrix.Fields{"TITLE": "Order, renamed"}, nil)); err != nil {
		t.Fatal(err)
	}
	if res, err := h.bxc.Batch(h.ctx, b); err != nil || res.Get("u").Status != bitrix.Done {
		t.Fatalf("update: %v", err)
	}
	if row, _ := h.bx.Deal(d); row.Str("MODIFY_BY_ID") != fmt.Sprint(webhookUser) || row.Str("LAST_ACTIVITY_BY") != "7" {
		t.Fatalf("deal: MODIFY_BY_ID %q, LAST_ACTIVITY_BY %q", row.Str("MODIFY_BY_ID"), row.Str("LAST_ACTIVITY_BY"))
	}
	h.clk.Advance(5 * time.Minute)
	h.push(push.Options{})
	if mc := h.order(o).ManagerComment; !strings.Contains(mc, "Packed in two boxes") {
		t.Errorf("manager comment %q", mc)
	}
}
