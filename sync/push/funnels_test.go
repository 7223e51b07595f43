package push_test

import (
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

// TestFunnelsBothWays: two stores, two funnels. Pull creates each order's
// deal in its store's funnel at that funnel's stage; push maps a person's
// move in either funnel back through that funnel's own mapping, and takes
// pull's writes in both funnels for echoes.
func TestFunnelsBothWays(t *testing.T) {
	h := newTest(t)
	h.rc = retailcrmtest.New(t, retailcrmtest.Options{Now: h.clk.Now, Sites: []string{"shop", "wholesale"}})
	var err error
	if h.rcc, err = retailcrm.New(h.rc.URL(), h.rc.APIKey(), retailcrm.WithRate(1000), retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 1})); err != nil {
		t.Fatal(err)
	}
	h.bx.SeedCategory(3, "Wholesale")
	h.mapping = config.Mapping{Statuses: map[string]string{
		"new": "NEW", "group:approval": "PREPARATION", "complete": "WON", "group:complete": "WON", "group:cancel": "LOSE",
	}}
	h.funnels = []config.Funnel{{Index: 0, Sites: []string{"wholesale"}, CategoryID: 3, Statuses: map[string]string{
		"new": "C3:NEW", "group:approval": "C3:PREPARATION", "group:complete": "C3:WON", "group:cancel": "C3:LOSE",
	}, Stages: map[string]string{"C3:WON": "complete", "C3:LOSE": "cancel-other"}}}
	anna := h.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	boris := h.rc.AddCustomer(retailcrm.Customer{FirstName: "Boris", Email: "boris@example.com"})
	retail := h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new", Customer: &anna, FirstName: "Anna", OrderMethod: "shopping-cart"})
	wholesale := h.rc.CreateOrder(retailcrm.Order{Site: "wholesale", Status: "new", Customer: &boris, FirstName: "Boris", OrderMethod: "phone"})
	realPull(t, h)

	deals := map[int64]int64{} // order → deal
	for _, d := range h.bx.Deals() {
		id, _ := strconv.ParseInt(d.Str("ORIGIN_ID"), 10, 64)
		deals[id] = int64(d.ID)
	}
	for _, tt := range []struct {
		order           int64
		category, stage string
	}{{retail.ID, "0", "NEW"}, {wholesale.ID, "3", "C3:NEW"}} {
		d, _ := h.bx.Deal(deals[tt.order])
		if d.Str("CATEGORY_ID") != tt.category || d.Str("STAGE_ID") != tt.stage {
			t.Errorf("order %d: deal in funnel %s at %s, want funnel %s at %s", tt.order, d.Str("CATEGORY_ID"), d.Str("STAGE_ID"), tt.category, tt.stage)
		}
	}
	if rep := h.push(push.Options{}); rep.Summary.EchoesDropped != 2 || h.edits() != 0 {
		t.Errorf("pull's stages in both funnels are not echoes: %+v, %d edits", rep.Summary, h.edits())
	}

	h.move(deals[retail.ID], "WON")
	h.move(deals[wholesale.ID], "C3:WON")
	h.push(push.Options{})
	if got := h.order(retail.ID).Status; got != "complete" {
		t.Errorf("retail order after WON: %s, want complete", got)
	}
	if got := h.order(wholesale.ID).Status; got != "complete" {
		t.Errorf("wholesale order after C3:WON: %s, want complete", got)
	}
	// The wholesale funnel's own reverse mapping, not the top level's.
	h.move(deals[wholesale.ID], "C3:LOSE")
	h.push(push.Options{})
	if got := h.order(wholesale.ID).Status; got != "cancel-other" {
		t.Errorf("wholesale order after C3:LOSE: %s, want cancel-other (funnels[0].stages)", got)
	}
}
