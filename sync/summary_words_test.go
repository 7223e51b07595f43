package sync

import "testing"

// Pull's summary says failed items in the words push's summary has too:
// parked counts them all, waiting_for_retry and out_of_attempts split them.
func TestSummaryOutOfAttempts(t *testing.T) {
	var s Summary
	s.countFailure(false)
	s.countFailure(true)
	s.countFailure(true)
	if s.Parked != 3 || s.WaitingForRetry != 1 || s.OutOfAttempts != 2 {
		t.Errorf("summary %+v", s)
	}
}
