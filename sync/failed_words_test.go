package sync

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// A run tells items that failed and wait for a retry from items parked
// after their last attempt, in the words of crmsync status.
func TestSummaryTellsWaitingFromParked(t *testing.T) {
	e := newEnv(t)
	in := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10")
	in.Status = "awaiting-stock" // no stage mapped
	e.rc.AddStatus(retailcrm.Status{Code: "awaiting-stock", Name: "Awaiting stock", Group: "hold", Active: true})
	e.rc.CreateOrder(in)

	res := e.pull(func(o *Options) { o.MaxAttempts = 2 })
	s := res.Report.Summary
	if s.Failed != 1 || s.Parked != 0 || res.Parked() != 1 || !res.Report.Parked[0].WaitingForRetry {
		t.Errorf("first attempt: failed %d, parked %d, items %+v", s.Failed, s.Parked, res.Report.Parked)
	}
	if line := s.Line(); !strings.Contains(line, "failures: 0 parked, 1 waiting for a retry;") {
		t.Errorf("summary line %q", line)
	}
	var b bytes.Buffer
	if err := res.Report.WriteText(&b); err != nil || !strings.Contains(b.String(), " waiting for a retry: order ") {
		t.Errorf("text report %q (%v)", b.String(), err)
	}

	// The last attempt, once due: parked.
	res = e.pull(func(o *Options) {
		o.MaxAttempts = 2
		o.Now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	})
	s = res.Report.Summary
	if s.Failed != 0 || s.Parked != 1 || res.Parked() != 1 || res.Report.Parked[0].WaitingForRetry {
		t.Errorf("last attempt: failed %d, parked %d, items %+v", s.Failed, s.Parked, res.Report.Parked)
	}
	if line := s.Line(); !strings.Contains(line, "failures: 1 parked, 0 waiting for a retry;") {
		t.Errorf("summary line %q", line)
	}
	b.Reset()
	if err := res.Report.WriteText(&b); err != nil || !strings.Contains(b.String(), " parked: order ") {
		t.Errorf("text report %q (%v)", b.String(), err)
	}
	if c := s.Counters(); c["failed"] != 0 || c["parked"] != 1 {
		t.Errorf("run counters %v", c)
	}
}
