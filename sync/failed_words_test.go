package sync

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// A run counts every item it parked and, of them, those waiting for a retry,
// in the words of crmsync status; the dry-run report's lines keep their form.
func TestSummaryTellsWaitingFromParked(t *testing.T) {
	e := newEnv(t)
	in := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10")
	in.Status = "awaiting-stock" // no stage mapped
	e.rc.AddStatus(retailcrm.Status{Code: "awaiting-stock", Name: "Awaiting stock", Group: "hold", Active: true})
	e.rc.CreateOrder(in)

	res := e.pull(func(o *Options) { o.MaxAttempts = 2 })
	s := res.Report.Summary
	if s.WaitingForRetry != 1 || s.Parked != 1 || res.Parked() != 1 || !res.Report.Parked[0].WaitingForRetry {
		t.Errorf("first attempt: waiting %d, parked %d, items %+v", s.WaitingForRetry, s.Parked, res.Report.Parked)
	}
	if line := s.Line(); !strings.Contains(line, "; parked 1 (1 waiting for a retry, 0 out of attempts);") {
		t.Errorf("summary line %q", line)
	}
	var b bytes.Buffer
	if err := res.Report.WriteText(&b); err != nil || !strings.Contains(b.String(), " parked: order ") {
		t.Errorf("text report %q (%v)", b.String(), err)
	}

	// The last attempt, once due: parked.
	res = e.pull(func(o *Options) {
		o.MaxAttempts = 2
		o.Now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	})
	s = res.Report.Summary
	if s.WaitingForRetry != 0 || s.Parked != 1 || res.Parked() != 1 || res.Report.Parked[0].WaitingForRetry {
		t.Errorf("last attempt: waiting %d, parked %d, items %+v", s.WaitingForRetry, s.Parked, res.Report.Parked)
	}
	if line := s.Line(); !strings.Contains(line, "; parked 1 (0 waiting for a retry, 1 out of attempts);") {
		t.Errorf("summary line %q", line)
	}
	b.Reset()
	if err := res.Report.WriteText(&b); err != nil || !strings.Contains(b.String(), " parked: order ") {
		t.Errorf("text report %q (%v)", b.String(), err)
	}
	if c := s.Counters(); c["waiting_for_retry"] != 0 || c["parked"] != 1 {
		t.Errorf("run counters %v", c)
	}
}
