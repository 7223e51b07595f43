package push_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/push"
)

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
