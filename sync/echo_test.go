package sync

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// TestEchoKeptBesideAForeignChange: a change made with crmsync's own key
// (source api, apiKey.current) is dropped as an echo, unless a foreign
// change touched the same order in the same page: then the order's
// records, the echo among them, are all carried (here: its status change
// becomes a timeline comment, though the foreign change was another field).
func TestEchoKeptBesideAForeignChange(t *testing.T) {
	e := newEnv(t)
	c := &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}
	mixed := e.rc.CreateOrder(order(c, "100"))
	echoOnly := e.rc.CreateOrder(order(c, "200"))
	e.pull()

	own := e.newRetailCRMClient()
	for _, o := range []retailcrm.Order{mixed, echoOnly} {
		if _, err := own.EditOrder(context.Background(), o.ID, o.Site, retailcrm.OrderPatch{Status: "client-confirmed"}); err != nil {
			t.Fatal(err)
		}
	}
	e.updateOrder(mixed.ID, func(o *retailcrm.Order) { o.CustomerComment = "please call first" })
	before := e.writes()
	res := e.pull()
	if res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	if res.Report.Summary.EchoesDropped != 1 {
		t.Errorf("%d echoes dropped, want 1 (the order no foreign change touched)", res.Report.Summary.EchoesDropped)
	}
	cs := commentsOf(e, dealOf(t, e, mixed.ID)["ID"].(string))
	if !slices.ContainsFunc(cs, func(s string) bool {
		return strings.Contains(s, "Новый → Согласовано с клиентом")
	}) {
		t.Errorf("the echoed status change of an order with a foreign change is not carried: comments %q", cs)
	}
	if cs := commentsOf(e, dealOf(t, e, echoOnly.ID)["ID"].(string)); len(cs) != 0 {
		t.Errorf("an order with only echoes got comments %q", cs)
	}
	if got := dealOf(t, e, echoOnly.ID)["STAGE_ID"]; got != "NEW" {
		t.Errorf("an order with only echoes had its deal moved to %v", got)
	}
	if e.writes() == before {
		t.Error("nothing written for the order with a foreign change")
	}
}
