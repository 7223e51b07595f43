package push_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

func TestConflictLaterChangeWins(t *testing.T) {
	t.Parallel()
	t.Run("deal moved after the order changed: stage wins", func(t *testing.T) {
		h := newTest(t)
		o1, d1 := h.linked("new", "NEW")
		setStatus(h, o1, "client-confirmed") // 09:01 UTC = 12:01 Moscow, not yet pulled
		h.move(d1, "WON")                    // 09:02 UTC
		rep := h.push(push.Options{})
		if got := h.order(o1).Status; got != "complete" {
			t.Errorf("status %q, want complete", got)
		}
		checkConflict(t, h, rep, "bitrix", "client-confirmed", "WON")
	})
	t.Run("order changed after the deal moved: status kept", func(t *testing.T) {
		h := newTest(t)
		o1, d1 := h.linked("new", "NEW")
		h.move(d1, "WON")                    // 09:01 UTC
		setStatus(h, o1, "client-confirmed") // 09:02 UTC
		rep := h.push(push.Options{})
		if got := h.order(o1).Status; got != "client-confirmed" {
			t.Errorf("status %q, want client-confirmed kept", got)
		}
		if h.edits() != 0 || rep.Summary.ConflictsLost != 1 {
			t.Errorf("edits %d, %+v", h.edits(), rep.Summary)
		}
		checkConflict(t, h, rep, "retailcrm", "client-confirmed", "WON")
	})
	t.Run("order changed but already synced: no conflict", func(t *testing.T) {
		h := newTest(t)
		o1, d1 := h.linked("new", "NEW")
		setStatus(h, o1, "client-confirmed")
		// pull synced the order afterwards.
		if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
			l, _, err := tx.OrderLink(h.ctx, o1)
			if err != nil {
				return err
			}
			l.SyncedAt = h.clk.Now()
			return tx.PutOrderLink(h.ctx, l)
		}); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(time.Minute)
		h.move(d1, "WON")
		rep := h.push(push.Options{})
		if h.order(o1).Status != "complete" || rep.Summary.Conflicts != 0 {
			t.Errorf("status %q, %+v", h.order(o1).Status, rep.Summary)
		}
	})
}

func checkConflict(t *testing.T, h *harness, rep *push.Report, winner, status, stage string) {
	t.Helper()
	if len(rep.Conflicts) != 1 {
		t.Fatalf("conflicts %+v", rep.Conflicts)
	}
	c := rep.Conflicts[0]
	if c.Winner != winner || c.Status != status || c.Stage != stage {
		t.Errorf("conflict %+v", c)
	}
	// Both times, each in its own zone: RetailCRM's account zone (MSK) and
	// the portal's offset.
	if !strings.Contains(c.StatusTime, "MSK") || !strings.Contains(c.StageTime, "T") {
		t.Errorf("times %q / %q", c.StatusTime, c.StageTime)
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	events, _ := h.st.Events(h.ctx, store.EventFilter{RunID: runs[0].ID})
	for _, e := range events {
		if e.Action == "status.conflict" && e.Result == store.ResultConflict &&
			strings.Contains(e.Message, status) && strings.Contains(e.Message, stage) {
			return
		}
	}
	t.Errorf("no conflict event with both values: %+v", events)
}

func TestRejectedStatusIsParkedAndTheRunGoesOn(t *testing.T) {
	h := newTest(t)
	h.mapping.Stages["FINAL_INVOICE"] = "no-such-status"
	o1, d1 := h.linked("new", "NEW")
	o2, d2 := h.linked("new", "NEW")
	h.move(d1, "FINAL_INVOICE")
	h.move(d2, "WON")
	rep := h.push(push.Options{})
	if len(rep.Parked) != 1 || rep.Parked[0].OrderID != o1 || !strings.Contains(rep.Parked[0].Reason, `Status "no-such-status" does not exist`) {
		t.Fatalf("parked %+v", rep.Parked)
	}
	if h.order(o2).Status != "complete" {
		t.Error("the run stopped at the parked item")
	}
	if line := rep.Summary.Line(); !strings.Contains(line, "; parked 1 (0 waiting for a retry, 1 out of attempts);") {
		t.Errorf("summary line %q", line)
	}
	f, ok, err := h.st.Failure(h.ctx, push.KindStage, itoa(o1))
	if err != nil || !ok || !f.Parked || !strings.Contains(f.LastError, "no-such-status") {
		t.Errorf("failure %+v %v %v", f, ok, err)
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	if runs[0].Result != store.RunPartial || runs[0].Counters["parked"] != 1 {
		t.Errorf("run %+v", runs[0])
	}
	// A parked item waits for crmsync retry; the next run does not retry it.
	edits := h.edits()
	h.push(push.Options{})
	if h.edits() != edits {
		t.Error("parked item retried without crmsync retry")
	}
	// After retry (and a fixed mapping) it goes through.
	if _, err := h.st.RetryFailures(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	h.mapping.Stages["FINAL_INVOICE"] = "delivering"
	rep = h.push(push.Options{})
	if h.order(o1).Status != "delivering" || rep.Summary.Retried != 1 {
		t.Errorf("retry: status %q, %+v", h.order(o1).Status, rep.Summary)
	}
	if _, ok, _ := h.st.Failure(h.ctx, push.KindStage, itoa(o1)); ok {
		t.Error("failure not cleared after success")
	}
}

func TestTransientErrorIsRetriedLater(t *testing.T) {
	h := newTest(t)
	o1, _ := h.movedTo("WON")
	h.failEdit(retailcrmtest.FaultServerError)
	rep := h.push(push.Options{})
	if rep.Summary.Failed != 1 || len(rep.Parked) != 0 || h.order(o1).Status != "new" {
		t.Fatalf("summary %+v", rep.Summary)
	}
	if line := rep.Summary.Line(); !strings.Contains(line, "; parked 1 (1 waiting for a retry, 0 out of attempts);") {
		t.Errorf("summary line %q", line)
	}
	h.clk.Advance(2 * time.Minute) // the backoff is over
	h.push(push.Options{})
	if h.order(o1).Status != "complete" {
		t.Errorf("not retried: %q", h.order(o1).Status)
	}
}

func TestDryRunLeavesEverythingAsItWas(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.movedTo("WON")
	h.bx.AddComment("deal", d1, 7, "Call after lunch")
	rep, err := h.engine(h.open(true)).Run(h.ctx, push.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || len(rep.Changes) != 2 || rep.Changes[0].Op != push.OpStatus || rep.Changes[1].Op != push.OpComment {
		t.Fatalf("report %+v", rep.Changes)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "~ status") || !strings.HasPrefix(lines[1], "+ comment") || !strings.HasPrefix(lines[2], "= ") {
		t.Errorf("text report:\n%s", b.String())
	}
	if h.edits() != 0 || h.order(o1).Status != "new" {
		t.Error("dry run wrote to RetailCRM")
	}
	if _, ok, _ := h.st.CursorInt(h.ctx, store.CursorStageHistory); ok {
		t.Error("dry run moved the cursor")
	}
	if runs, _ := h.st.Runs(h.ctx, "", 10); len(runs) != 0 {
		t.Errorf("dry run recorded a run: %+v", runs)
	}
	// The real run does what the dry run announced.
	real := h.push(push.Options{})
	if len(real.Changes) != len(rep.Changes) || real.Changes[0] != rep.Changes[0] || real.Changes[1] != rep.Changes[1] {
		t.Errorf("dry %+v\nreal %+v", rep.Changes, real.Changes)
	}
}

func TestRunLimits(t *testing.T) {
	h := newTest(t)
	var deals []int64
	for range 5 {
		_, d := h.linked("new", "NEW")
		deals = append(deals, d)
	}
	for _, d := range deals {
		h.move(d, "WON")
	}
	// 5 creation rows (pull's echoes), then 5 moves: 7 items reach 2 moves.
	rep := h.push(push.Options{MaxItems: 7})
	if rep.Summary.StageRows != 7 || rep.Summary.StatusesPushed != 2 || rep.Summary.Stopped != "max-items" {
		t.Errorf("summary %+v", rep.Summary)
	}
	rep = h.push(push.Options{})
	if rep.Summary.StatusesPushed != 3 {
		t.Errorf("the next run did not continue from the cursor: %+v", rep.Summary)
	}
	rep = h.push(push.Options{MaxDuration: time.Nanosecond})
	if rep.Summary.Stopped != "max-duration" && rep.Summary.StageRows != 0 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

func TestParkedItemAlertsOnce(t *testing.T) {
	h := newTest(t)
	h.mapping.Stages["FINAL_INVOICE"] = "no-such-status"
	h.movedTo("FINAL_INVOICE")
	e := h.engine(h.st, func(d *push.Deps) { d.NotifyUserIDs = []int64{7, 9} })
	if _, err := e.Run(h.ctx, push.Options{}); err != nil {
		t.Fatal(err)
	}
	notes := h.bx.Notifications()
	if len(notes) != 2 || !strings.Contains(notes[0].Message, "no-such-status") {
		t.Fatalf("notifications %+v", notes)
	}
	if _, err := e.Run(h.ctx, push.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.bx.Notifications()); n != 2 {
		t.Errorf("%d notifications after a second run, want still 2", n)
	}
}
