package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// noProductStatuses answers the product statuses reference with an error.
type noProductStatuses struct{ *retailcrm.Client }

func (noProductStatuses) ProductStatuses(context.Context) (map[string]retailcrm.ProductStatus, error) {
	return nil, fmt.Errorf("reference: %w", retailcrm.ErrServer)
}

func TestReturnsWithoutTheProductStatusesReference(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(itemsOrder(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}))
	rc := func(opts *Options) { opts.RetailCRM = noProductStatuses{e.rcc} }
	e.pull(rc)
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Items[0].Status = "returned"; o.Items[1].Status = "cancelled" })
	e.pull(rc)
	d := dealOf(t, e, o.ID)
	cs := strings.Join(commentsOf(e, d["ID"].(string)), "\n")
	// By name, "returned" is a return and "cancelled" is not.
	if !strings.Contains(cs, `"Kettle" moved to returned`) || strings.Contains(cs, "Mug") || d["STAGE_ID"] != "NEW" {
		t.Errorf("stage %v, comments:\n%s", d["STAGE_ID"], cs)
	}
}

func TestOneReturnEventPerPage(t *testing.T) {
	e := newEnv(t)
	e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	e.cfg.Rules = ruleSet(t, []map[string]any{{"on": "returned", "do": map[string]any{"notify": map[string]any{"user_ids": []any{2}, "message": "Returned: {{.ReturnedItems}}"}}}})
	o := e.rc.CreateOrder(itemsOrder(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}))
	e.pull()
	// Both lines and then the order, in one page: one return.
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Items[0].Status = "returned" })
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Items[1].Status = "returned" })
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "return" })
	e.pull()
	notes := e.bx.Notifications()
	if len(notes) != 1 || notes[0].Message != `Returned: "Kettle", "Mug" × 2` {
		t.Errorf("notifications %+v", notes)
	}
}
