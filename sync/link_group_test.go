package sync

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// pull records each linked order's status group, so push knows which
// deals are open (their comments are swept) without asking RetailCRM.
func TestLinksRecordTheOrderStatusGroup(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10"))
	e.pull()
	_, st := e.engine(false)
	if l, ok, err := st.OrderLink(context.Background(), o.ID); err != nil || !ok || l.StatusGroup != "new" {
		t.Fatalf("link %+v %v %v, want group new", l, ok, err)
	}
	st.Close()
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	e.pull()
	_, st = e.engine(false)
	if l, _, err := st.OrderLink(context.Background(), o.ID); err != nil || l.StatusGroup != "complete" {
		t.Errorf("link %+v %v, want group complete", l, err)
	}
}
