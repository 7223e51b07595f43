package push_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/store/storetest"
	"github.com/crmsync/crmsync/sync/push"
)

// toSchema3 turns the harness's database back into what the release of
// schema 3 kept: comment cursors as "comments:<deal id>" cursor rows, push's
// state only in its runs' counters (which push still writes), no state
// tables. The store is closed first and reopened (migrated) after.
func (h *harness) toSchema3() {
	h.t.Helper()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	storetest.ToSchema3(h.t, h.dbPath,
		`INSERT INTO cursors (name, value, updated_at)
			SELECT 'comments:' || entity_id, CAST(last_comment_id AS TEXT), updated_at FROM comment_cursors`,
		`DELETE FROM cursors WHERE name GLOB 'push:activity:*'`) // later releases' activity window
	h.st = h.open(false)
}

// TestPushAfterMigrationKeepsItsState: the first push after the migration
// to schema 4 carries on where the last push of the old release stopped:
// it reads only the comments newer than each deal's cursor (none is read
// again from the start and found in the order) and lists the deals active
// since the last complete run, as any later run does.
func TestPushAfterMigrationKeepsItsState(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	_, d2 := h.linked("new", "NEW")
	h.bx.AddComment("deal", d1, 7, "Call on Monday")
	h.bx.AddComment("deal", d2, 7, "Leave at the door")
	activity(h, o1)
	if rep := h.push(push.Options{}); rep.Summary.CommentsPushed != 2 || !rep.Summary.CommentsComplete {
		t.Fatalf("first push %+v", rep.Summary)
	}
	h.clk.Advance(10 * time.Minute)

	h.toSchema3()
	var cursors int
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		all, err := tx.Cursors(h.ctx)
		cursors = len(all)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.st.CountCommentCursors(h.ctx); n != 2 || cursors != 1 {
		t.Errorf("after the migration: %d comment cursors, %d cursors; want 2, 1 (stagehistory)", n, cursors)
	}

	h.bx.AddComment("deal", d1, 7, "Gift wrap")
	activity(h, o1)
	lists := h.bx.Stats().CommandsPerMethod["crm.deal.list"]
	edits := h.edits()
	rep := h.push(push.Options{})
	if rep.Summary.CommentsPushed != 1 || rep.Summary.CommentsPresent != 0 || h.edits() != edits+1 {
		t.Errorf("after the migration: %d comments pushed, %d found in the order, %d edits; want 1, 0, 1",
			rep.Summary.CommentsPushed, rep.Summary.CommentsPresent, h.edits()-edits)
	}
	if mc := h.order(o1).ManagerComment; strings.Count(mc, "Call on Monday") != 1 || strings.Count(mc, "Gift wrap") != 1 {
		t.Errorf("manager comment %q", mc)
	}
	if h.bx.Stats().CommandsPerMethod["crm.deal.list"] == lists {
		t.Error("the push after the migration did not list the recently active deals: its last complete run was lost")
	}
	if st, err := h.st.RunState(h.ctx, push.Command); err != nil || st.CommentsCompleteAt.IsZero() {
		t.Errorf("push state %+v %v", st, err)
	}
}
