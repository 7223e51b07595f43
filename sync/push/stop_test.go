package push_test

import (
	"testing"

	"github.com/crmsync/crmsync/sync/push"
)

// TestStopEndsTheRunBeforeItsNextPage: with Options.Stop closed (crmsync
// serve stopping) a run starts no page; the next run pushes everything.
func TestStopEndsTheRunBeforeItsNextPage(t *testing.T) {
	h := newTest(t)
	for range 3 {
		_, d := h.linked("new", "NEW")
		h.move(d, "WON")
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
