package push_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

func TestCommentsArriveOnce(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	// A comment crmsync (pull) wrote on the deal is never carried back.
	// By the ledger (whoever the author), and by the webhook user as author.
	own := h.bx.AddComment("deal", d1, 5, "Status changed: new → approval")
	h.bx.AddComment("deal", d1, 1, "Written by crmsync, lost from the ledger by a crash")
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		return tx.AddLedger(h.ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: "comment", EntityID: d1,
			Field: "COMMENT", Value: "Status changed: new → approval", RemoteID: own})
	}); err != nil {
		t.Fatal(err)
	}
	h.bx.AddComment("deal", d1, 7, "Client asked to call back")
	h.clk.Advance(time.Minute)
	h.bx.AddComment("deal", d1, 8, "  Called: delivery on Friday  ")
	h.move(d1, "WON") // the deal has activity this run

	rep := h.push(push.Options{})
	got := h.order(o1).ManagerComment
	want := "Deliver after 6 pm\n[2026-03-02 09:01 user 7] Client asked to call back\n[2026-03-02 09:02 user 8] Called: delivery on Friday"
	if got != want {
		t.Errorf("manager comment\n got %q\nwant %q", got, want)
	}
	if rep.Summary.CommentsPushed != 2 || rep.Summary.CommentsOwn != 2 {
		t.Errorf("summary %+v", rep.Summary)
	}
	if has, _ := h.st.LedgerHas(h.ctx, store.SideRetailCRM, "order", o1, "managerComment",
		"[2026-03-02 09:01 user 7] Client asked to call back\n[2026-03-02 09:02 user 8] Called: delivery on Friday"); !has {
		t.Error("appended text not in the ledger")
	}

	// Nothing new: no edit.
	edits := h.edits()
	h.push(push.Options{})
	if h.edits() != edits || h.order(o1).ManagerComment != want {
		t.Errorf("comments appended twice: %q", h.order(o1).ManagerComment)
	}

	// A new comment arrives once, after the ones before.
	h.bx.AddComment("deal", d1, 7, "Paid by card")
	h.move(d1, "EXECUTING")
	h.push(push.Options{})
	h.push(push.Options{})
	got = h.order(o1).ManagerComment
	if strings.Count(got, "Paid by card") != 1 || !strings.HasPrefix(got, want+"\n") {
		t.Errorf("manager comment %q", got)
	}
}

func TestCommentsOfQuietDealsAreFoundThroughPullActivity(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	h.push(push.Options{}) // a first run: nothing to do
	h.bx.AddComment("deal", d1, 7, "Discount agreed")
	activity(h, o1) // pull touched the order since
	h.clk.Advance(time.Minute)
	h.push(push.Options{})
	if !strings.Contains(h.order(o1).ManagerComment, "Discount agreed") {
		t.Errorf("comment not carried: %q", h.order(o1).ManagerComment)
	}
}

// A comment on a deal nothing else touched is found by the deal's
// LAST_ACTIVITY_TIME, which the comment moved.
func TestCommentsOfQuietDealsAreFoundThroughLastActivity(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	for range 5 {
		h.linked("new", "NEW")
	}
	h.clk.Advance(10 * time.Minute)
	h.push(push.Options{}) // a first run: nothing to do
	h.clk.Advance(10 * time.Minute)
	h.bx.AddComment("deal", d1, 7, "Discount agreed")
	h.clk.Advance(time.Minute)
	rep := h.push(push.Options{})
	if !strings.Contains(h.order(o1).ManagerComment, "Discount agreed") {
		t.Errorf("comment not carried: %q", h.order(o1).ManagerComment)
	}
	if rep.Summary.DealsScanned != 1 {
		t.Errorf("scanned %d deals, want only the one with activity", rep.Summary.DealsScanned)
	}
}

func TestCommentBatchReadsFiftyDealsPerRequest(t *testing.T) {
	h := newTest(t)
	var deals []int64
	for range 120 {
		_, d := h.linked("new", "NEW")
		h.bx.AddComment("deal", d, 7, "note")
		deals = append(deals, d)
	}
	for _, d := range deals {
		if err := h.bx.MoveDeal(d, "WON", 7); err != nil {
			t.Fatal(err)
		}
	}
	before := h.bx.Stats()
	rep := h.push(push.Options{})
	after := h.bx.Stats()
	batches := after.PerMethod["batch"] - before.PerMethod["batch"]
	// One for the deals' current stages (120 deals, 3 list commands), then
	// ceil(120/50) = 3 for their comments.
	if batches != 4 {
		t.Errorf("%d batch requests for 120 deals, want 4", batches)
	}
	if n := after.CommandsPerMethod["crm.timeline.comment.list"] - before.CommandsPerMethod["crm.timeline.comment.list"]; n != 120 {
		t.Errorf("%d comment list commands, want 120", n)
	}
	if rep.Summary.CommentsPushed != 120 || rep.Summary.StatusesPushed != 120 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

func TestCrashAfterEditDoesNotDoubleAppend(t *testing.T) {
	t.Parallel()
	t.Run("answer lost", func(t *testing.T) {
		h := newTest(t)
		o1, d1 := h.linked("new", "NEW")
		h.bx.AddComment("deal", d1, 7, "Fragile, pack twice")
		// The edit applies, its answer is cut off: the outcome is unknown.
		h.failEdit(retailcrmtest.FaultTruncated)
		activity(h, o1)
		rep := h.push(push.Options{})
		if rep.Summary.Failed != 1 || len(rep.Parked) != 0 {
			t.Fatalf("summary %+v", rep.Summary)
		}
		if strings.Count(h.order(o1).ManagerComment, "Fragile") != 1 {
			t.Fatalf("comment %q", h.order(o1).ManagerComment)
		}
		// The retry reads the order first and finds the line there.
		h.clk.Advance(2 * time.Minute)
		edits := h.edits()
		rep = h.push(push.Options{})
		if h.edits() != edits || strings.Count(h.order(o1).ManagerComment, "Fragile") != 1 {
			t.Errorf("appended twice: %q", h.order(o1).ManagerComment)
		}
		if rep.Summary.CommentsPresent != 1 {
			t.Errorf("summary %+v", rep.Summary)
		}
		if fs, _ := h.st.Failures(h.ctx, store.FailureFilter{}); len(fs) != 0 {
			t.Errorf("failure not cleared: %+v", fs)
		}
	})
	t.Run("process died before the commit", func(t *testing.T) {
		h := newTest(t)
		o1, d1 := h.commented("Gift wrap")
		// A dry run computes the exact text; a real run that died after the
		// edit left exactly that text in RetailCRM and nothing in the store.
		dry, err := h.engine(h.open(true)).Run(h.ctx, push.Options{DryRun: true})
		if err != nil || len(dry.Changes) != 1 {
			t.Fatalf("dry run %+v %v", dry, err)
		}
		text := "Deliver after 6 pm\n" + dry.Changes[0].Text
		if _, err := h.rcc.EditOrder(h.ctx, o1, "shop", retailcrm.OrderPatch{ManagerComment: &text}); err != nil {
			t.Fatal(err)
		}
		edits := h.edits()
		h.push(push.Options{})
		if h.edits() != edits || h.order(o1).ManagerComment != text {
			t.Errorf("appended again: %q", h.order(o1).ManagerComment)
		}
		// The cursor moved: a later run does not even consider it.
		curs, _ := h.st.CommentCursors(h.ctx, store.EntityDeal, []int64{d1})
		if cur, ok := curs[d1]; !ok || cur == 0 {
			t.Error("comment cursor not stored")
		}
	})
}

func TestActivityOfAnIncompleteRunIsScannedAgain(t *testing.T) {
	h := newTest(t)
	h.push(push.Options{}) // a complete run
	o1, _ := h.commented("Call on Monday")
	h.clk.Advance(10 * time.Minute)
	// This run stops before the comments (its only item is the stage row).
	rep := h.push(push.Options{MaxItems: 1})
	if rep.Summary.CommentsComplete || rep.Summary.DealsScanned != 0 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	h.clk.Advance(10 * time.Minute)
	rep = h.push(push.Options{})
	if !strings.Contains(h.order(o1).ManagerComment, "Call on Monday") || !rep.Summary.CommentsComplete {
		t.Errorf("activity lost after an incomplete run: %q, %+v", h.order(o1).ManagerComment, rep.Summary)
	}
}

func TestFailedCommentLinesGoWithTheNextAppend(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.commented("First note")
	h.failEdit(retailcrmtest.FaultServerError)
	rep := h.push(push.Options{})
	if rep.Summary.Failed != 1 || strings.Contains(h.order(o1).ManagerComment, "First note") {
		t.Fatalf("summary %+v, comment %q", rep.Summary, h.order(o1).ManagerComment)
	}
	// Before the retry is due, another comment comes: both go in one edit.
	h.bx.AddComment("deal", d1, 7, "Second note")
	activity(h, o1)
	edits := h.edits()
	h.push(push.Options{})
	mc := h.order(o1).ManagerComment
	if h.edits() != edits+1 || strings.Count(mc, "First note") != 1 || strings.Count(mc, "Second note") != 1 ||
		strings.Index(mc, "First note") > strings.Index(mc, "Second note") {
		t.Errorf("edits %d, comment %q", h.edits()-edits, mc)
	}
	if fs, _ := h.st.Failures(h.ctx, store.FailureFilter{}); len(fs) != 0 {
		t.Errorf("failure left: %+v", fs)
	}
}

func TestDeletedOrderParksItsComments(t *testing.T) {
	h := newTest(t)
	o1, _ := h.commented("Note")
	if err := h.rc.DeleteOrder(o1); err != nil {
		t.Fatal(err)
	}
	rep := h.push(push.Options{})
	if len(rep.Parked) != 1 || rep.Parked[0].Kind != push.KindComment || !strings.Contains(rep.Parked[0].Reason, "not found") {
		t.Errorf("parked %+v", rep.Parked)
	}
}

// Comment identity with a portal that changes whitespace: crmsync's own
// comment whose id was lost (only its intent is in the ledger) is known by
// its text however the portal spaced it; a person's comment that reads like
// one of crmsync's comments with a known id is carried.
func TestCommentIdentity(t *testing.T) {
	h := newTest(t)
	h.ledgerOnly = true // crmsync's comments known by the ledger alone
	o1, d1 := h.linked("new", "NEW")
	const lost = "Manager comment (by RetailCRM user 5): Call first\r\nthen ship  "
	const named = "Order status changed: New → Complete"
	// pull wrote both; the portal stored them with its own whitespace.
	h.bx.AddComment("deal", d1, 1, lost)
	namedID := h.bx.AddComment("deal", d1, 1, named)
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		for _, l := range []store.LedgerEntry{
			{Side: store.SideBitrix, Entity: "comment", EntityID: d1, Field: "COMMENT", Value: lost}, // answer lost
			{Side: store.SideBitrix, Entity: "comment", EntityID: d1, Field: "COMMENT", Value: named},
			{Side: store.SideBitrix, Entity: "comment", EntityID: d1, Field: "COMMENT", Value: named, RemoteID: namedID},
		} {
			if err := tx.AddLedger(h.ctx, l); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	h.bx.AddComment("deal", d1, 7, named) // a person, quoting it
	activity(h, o1)
	rep := h.push(push.Options{})
	mc := h.order(o1).ManagerComment
	if strings.Contains(mc, "then ship") {
		t.Errorf("crmsync's own comment echoed back: %q", mc)
	}
	if strings.Count(mc, named) != 1 || !strings.Contains(mc, "user 7] "+named) {
		t.Errorf("the person's comment is not carried once: %q", mc)
	}
	if rep.Summary.CommentsOwn != 2 || rep.Summary.CommentsPushed != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

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
