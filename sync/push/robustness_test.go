package push_test

import (
	"context"
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
