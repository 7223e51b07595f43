package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/push"
)

func TestAccountErrorStopsTheRunWithoutMovingTheCursor(t *testing.T) {
	h := newTest(t)
	o1, _ := h.movedTo("WON")
	h.failEdit(retailcrmtest.FaultHTML405)
	_, err := h.engine(h.st).Run(h.ctx, push.Options{})
	if !errors.Is(err, retailcrm.ErrAccountNotFound) {
		t.Fatalf("err %v, want ErrAccountNotFound", err)
	}
	if _, ok, _ := h.st.CursorInt(h.ctx, store.CursorStageHistory); ok {
		t.Error("the cursor passed a move that was not applied")
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	if runs[0].Result != store.RunFailed || runs[0].Message == "" {
		t.Errorf("run %+v", runs[0])
	}
	// Next run: the same move goes through.
	h.push(push.Options{})
	if h.order(o1).Status != "complete" {
		t.Error("move lost after the failed run")
	}
}

func TestBitrixFailureStopsTheRun(t *testing.T) {
	h := newTest(t)
	h.movedTo("WON")
	h.bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultOverload, Method: "crm.stagehistory.list", Count: 1})
	if _, err := h.engine(h.st).Run(h.ctx, push.Options{}); err == nil {
		t.Fatal("no error")
	}
	if h.edits() != 0 {
		t.Error("wrote despite the failed read")
	}
}

func TestInterruptedRunIsRecorded(t *testing.T) {
	h := newTest(t)
	h.movedTo("WON")
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if _, err := h.engine(h.st).Run(ctx, push.Options{}); err == nil {
		t.Fatal("no error")
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	if len(runs) == 1 && runs[0].Result == store.RunRunning {
		t.Errorf("run left running: %+v", runs)
	}
}

// An edit that got no answer (a dropped connection, a timeout) may or may
// not have run: the item is retried later, after re-reading the order, and
// the run goes on with the other orders.
func TestLostEditAnswerIsRetriedNotFatal(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	o2, d2 := h.linked("new", "NEW")
	h.move(d1, "WON")
	h.move(d2, "WON")
	h.failEdit(retailcrmtest.FaultDrop)
	rep := h.push(push.Options{})
	if rep.Summary.StatusesPushed != 1 || h.order(o2).Status != "complete" {
		t.Fatalf("the run did not go on past the lost answer: %+v", rep.Summary)
	}
	if h.order(o1).Status == "complete" {
		t.Fatal("the fake applied a dropped edit: the test proves nothing")
	}
	h.clk.Advance(time.Hour) // past the retry backoff
	h.push(push.Options{})
	if h.order(o1).Status != "complete" {
		t.Errorf("the move whose answer was lost never arrived: %q", h.order(o1).Status)
	}
}

// TestStopEndsTheRunBeforeItsNextPage: with Options.Stop closed (crmsync
// serve stopping) a run starts no page; the next run pushes everything.
func TestStopEndsTheRunBeforeItsNextPage(t *testing.T) {
	h := newTest(t)
	for range 3 {
		h.movedTo("WON")
	}
	stop := make(chan struct{})
	close(stop)
	rep := h.push(push.Options{Stop: stop})
	if rep.Summary.Stopped != "stop" || rep.Summary.StageRows != 0 || rep.Summary.StatusesPushed != 0 {
		t.Errorf("summary %+v", rep.Summary)
	}
	rep = h.push(push.Options{})
	if rep.Summary.StatusesPushed != 3 || rep.Summary.Stopped != "" {
		t.Errorf("the next run: %+v", rep.Summary)
	}
}

// Push's summary says failed items in pull's words too: waiting_for_retry
// (its failed) and out_of_attempts (its parked), next to the fields it had.
func TestSummaryWordsAgreeWithPull(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                                string
		attempts                            int
		failed, parked, waiting, outOfTries int
	}{
		{"waiting for a retry", 0, 1, 0, 1, 0},
		{"out of attempts", 1, 0, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.movedTo("WON")
			h.failEdit(retailcrmtest.FaultServerError)
			rep := h.push(push.Options{MaxAttempts: tc.attempts})
			s := rep.Summary
			if s.Failed != tc.failed || s.Parked != tc.parked || s.WaitingForRetry != tc.waiting || s.OutOfAttempts != tc.outOfTries {
				t.Fatalf("summary %+v", s)
			}
			var b bytes.Buffer
			if err := rep.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Summary map[string]any `json:"summary"`
			}
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Summary["waiting_for_retry"] != float64(tc.waiting) || doc.Summary["out_of_attempts"] != float64(tc.outOfTries) {
				t.Errorf("JSON summary %v", doc.Summary)
			}
		})
	}
}

func TestCancelledRunStopsCleanly(t *testing.T) {
	h := newTest(t)
	h.movedTo("WON")
	h.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultSlow, Path: editPath, Count: 1, Delay: time.Minute})
	// The run is cancelled once its edit reached RetailCRM, not after a fixed
	// time: on a busy machine the run may not have got that far yet.
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	finished := make(chan struct{})
	go func() {
		for h.edits() == 0 {
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
	if n := h.edits(); n != 1 {
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
