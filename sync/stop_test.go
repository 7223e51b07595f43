package sync

import (
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// TestStopEndsTheRunAfterItsPage: closing Options.Stop (crmsync serve on
// SIGTERM) lets the page in progress finish and starts no other; the next
// run continues from there.
func TestStopEndsTheRunAfterItsPage(t *testing.T) {
	e := newEnv(t)
	for range 150 {
		e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "X", Email: "x@example.com"}, "1"))
	}
	stop := make(chan struct{})
	res := e.pull(func(o *Options) {
		o.Stop = stop
		o.Progress = func(Progress) {
			select {
			case <-stop:
			default:
				close(stop) // during the first page
			}
		}
	})
	if s := res.Report.Summary; s.Pages != 1 || s.Stopped != "stop" || s.DealsCreated != 100 {
		t.Errorf("summary %+v", s)
	}
	res = e.pull()
	if s := res.Report.Summary; s.DealsCreated != 50 || s.Stopped != "" {
		t.Errorf("the next run: %+v", s)
	}
	if n := len(e.bx.Deals()); n != 150 {
		t.Errorf("%d deals for 150 orders", n)
	}
}
