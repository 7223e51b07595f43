package push_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

func TestStageMovesArriveAsStatuses(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	o2, d2 := h.linked("new", "NEW")
	unlinked := h.bx.SeedDeal(map[string]any{"TITLE": "not ours", "STAGE_ID": "NEW"})
	h.move(d1, "WON")
	h.move(d2, "PREPARATION")
	h.move(d2, "EXECUTING") // the latest move of a deal wins
	h.move(unlinked, "WON")

	rep := h.push(push.Options{})
	if got := h.order(o1).Status; got != "complete" {
		t.Errorf("order %d status %q, want complete", o1, got)
	}
	if got := h.order(o2).Status; got != "assembling" {
		t.Errorf("order %d status %q, want assembling", o2, got)
	}
	if n := h.edits(); n != 2 {
		t.Errorf("%d edits, want 2 (one per order)", n)
	}
	if rep.Summary.StatusesPushed != 2 || len(rep.Changes) != 2 {
		t.Errorf("summary %+v changes %+v", rep.Summary, rep.Changes)
	}
	for _, req := range h.rc.RequestLog() {
		if strings.HasSuffix(req.Path, "/edit") {
			if req.Form.Get("by") != "id" || req.Form.Get("site") != "shop" || !strings.Contains(req.Form.Get("order"), `"status"`) {
				t.Errorf("edit form %v", req.Form)
			}
		}
	}
	cur, ok, err := h.st.CursorInt(h.ctx, store.CursorStageHistory)
	if err != nil || !ok || cur != rep.Cursor.To || cur == 0 {
		t.Errorf("cursor %d %v %v, report %+v", cur, ok, err, rep.Cursor)
	}
	// push's writes are in the ledger, for pull to recognise their echo.
	if has, _ := h.st.LedgerHas(h.ctx, store.SideRetailCRM, "order", o1, "status", "complete"); !has {
		t.Error("status write not in the ledger")
	}

	// A second run reads from the cursor and sends nothing.
	before := h.edits()
	rep = h.push(push.Options{})
	if h.edits() != before || rep.Summary.StageRows != 0 || len(rep.Changes) != 0 {
		t.Errorf("second run wrote: edits %d→%d, %+v", before, h.edits(), rep.Summary)
	}
	runs, err := h.st.Runs(h.ctx, push.Command, 2)
	if err != nil || len(runs) != 2 || runs[1].Result != store.RunOK || runs[1].Counters["statuses_pushed"] != 2 {
		t.Errorf("runs %+v %v", runs, err)
	}
}

func TestOrderAlreadyAgreesIsNotRewritten(t *testing.T) {
	h := newTest(t)
	// prepayed is in group approval → PREPARATION; moving the deal back to
	// PREPARATION must not touch it, and WON for a complete order is a no-op.
	o1, d1 := h.linked("new", "NEW")
	if err := h.rc.UpdateOrder(o1, func(o *retailcrm.Order) { o.Status = "complete" }); err != nil {
		t.Fatal(err)
	}
	h.move(d1, "WON")
	rep := h.push(push.Options{})
	if h.edits() != 0 || rep.Summary.StatusesUnchanged != 1 {
		t.Errorf("edits %d, %+v", h.edits(), rep.Summary)
	}
}

func TestUnmappedStagesAreReported(t *testing.T) {
	h := newTest(t)
	_, d1 := h.linked("new", "NEW")
	_, d2 := h.linked("new", "NEW")
	_, d3 := h.linked("new", "NEW")
	h.move(d1, "LOSE")
	h.move(d2, "LOSE")
	h.move(d3, "PREPARATION") // only a group entry maps there: never back
	rep := h.push(push.Options{})
	if h.edits() != 0 {
		t.Errorf("%d edits for unmapped stages", h.edits())
	}
	want := map[string]int{"LOSE": 2, "PREPARATION": 1}
	if len(rep.Unmapped) != 2 {
		t.Fatalf("unmapped %+v", rep.Unmapped)
	}
	for _, u := range rep.Unmapped {
		if want[u.Stage] != u.Deals {
			t.Errorf("unmapped %+v", u)
		}
	}
	runs, _ := h.st.Runs(h.ctx, push.Command, 1)
	if runs[0].Counters["unmapped_stage:LOSE"] != 2 || runs[0].Counters["unmapped_stages"] != 3 {
		t.Errorf("counters %v", runs[0].Counters)
	}
	events, _ := h.st.Events(h.ctx, store.EventFilter{RunID: runs[0].ID})
	n := 0
	for _, e := range events {
		if e.Action == "stage.unmapped" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d unmapped events, want one per stage: %+v", n, events)
	}
	var b strings.Builder
	_ = rep.WriteText(&b)
	if !strings.Contains(b.String(), "LOSE") || !strings.Contains(b.String(), "mapping.stages") {
		t.Errorf("text report:\n%s", b.String())
	}
}

func TestStageSetByPullIsNotPushedBack(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW")
	// pull moves the deal to WON (the order went complete) and records it.
	if err := h.rc.UpdateOrder(o1, func(o *retailcrm.Order) { o.Status = "cancel-other" }); err != nil {
		t.Fatal(err)
	}
	if err := h.bxc.Update(h.ctx, bitrix.EntityDeal, bitrix.ID(d1), bitrix.Fields{"STAGE_ID": "WON"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		return tx.AddLedger(h.ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: "deal", EntityID: d1, Field: "STAGE_ID", Value: "WON"})
	}); err != nil {
		t.Fatal(err)
	}
	rep := h.push(push.Options{})
	if h.edits() != 0 || rep.Summary.EchoesDropped != 1 {
		t.Errorf("echo pushed back: edits %d, %+v", h.edits(), rep.Summary)
	}
	if got := h.order(o1).Status; got != "cancel-other" {
		t.Errorf("status %q", got)
	}
}

func TestMovingBackToPullsStageLaterIsNotAnEcho(t *testing.T) {
	h := newTest(t)
	o1, d1 := h.linked("new", "NEW") // pull set NEW
	h.move(d1, "WON")
	h.push(push.Options{})
	if h.order(o1).Status != "complete" {
		t.Fatal("WON not pushed")
	}
	h.clk.Advance(time.Hour)
	h.move(d1, "NEW") // a person reopens the deal, long after pull's write
	rep := h.push(push.Options{})
	if h.order(o1).Status != "new" || rep.Summary.EchoesDropped != 0 {
		t.Errorf("status %q, %+v", h.order(o1).Status, rep.Summary)
	}
}

func TestUnmappedStageTheOrderAgreesWithIsNotReported(t *testing.T) {
	h := newTest(t)
	// Without a ledger entry (say pull crashed before recording it), the
	// move to PREPARATION for an order in group approval is still nothing
	// to push and nothing to report.
	o1, d1 := h.linked("new", "NEW")
	setStatus(h, o1, "client-confirmed")
	if err := h.bx.MoveDeal(d1, "PREPARATION", 1); err != nil {
		t.Fatal(err)
	}
	rep := h.push(push.Options{})
	if len(rep.Unmapped) != 0 || rep.Summary.StatusesUnchanged != 1 || h.edits() != 0 {
		t.Errorf("unmapped %+v, %+v", rep.Unmapped, rep.Summary)
	}
}

func TestIdleRunCostsTwoBitrixRequests(t *testing.T) {
	h := newTest(t)
	for range 60 {
		h.linked("new", "NEW")
	}
	// Their last activity (creation) is older than the overlap window.
	h.clk.Advance(10 * time.Minute)
	h.push(push.Options{})
	h.clk.Advance(3 * time.Minute)
	rep := h.push(push.Options{})
	// One stage-history page, one list of recently active deals; nothing
	// from RetailCRM, and push's own work of the last run is not rescanned.
	if rep.Summary.BitrixRequests != 2 || rep.Summary.RetailCRMRequests != 0 || rep.Summary.DealsScanned != 0 {
		t.Errorf("idle run: %+v", rep.Summary)
	}
}

func TestLeadsPushLikeDeals(t *testing.T) {
	h := newTest(t)
	o := h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new"})
	lead := h.bx.SeedLead(map[string]any{"TITLE": "Order", "STATUS_ID": "NEW", "ORIGINATOR_ID": "retailcrm",
		"ORIGIN_ID": strconv.FormatInt(o.ID, 10)})
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		return tx.PutOrderLink(h.ctx, store.OrderLink{OrderID: o.ID, Site: "shop", EntityType: store.EntityLead,
			EntityID: lead, SyncedAt: h.clk.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	if err := h.bxc.Update(h.ctx, bitrix.EntityLead, bitrix.ID(lead), bitrix.Fields{"STATUS_ID": "CONVERTED"}, nil); err != nil {
		t.Fatal(err)
	}
	h.bx.AddComment("lead", lead, 7, "Converted after a call")
	e := h.engine(h.st, func(d *push.Deps) {
		d.Entity = config.EntityLead
		d.Mapping = config.Mapping{Statuses: map[string]string{"new": "NEW"}, Stages: map[string]string{"CONVERTED": "complete"}}
	})
	rep, err := e.Run(h.ctx, push.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := h.order(o.ID)
	if got.Status != "complete" || !strings.Contains(got.ManagerComment, "Converted after a call") {
		t.Errorf("order %+v; report %+v", got, rep.Summary)
	}
}

// TestFunnelsBothWays: two stores, two funnels. Pull creates each order's
// deal in its store's funnel at that funnel's stage; push maps a person's
// move in either funnel back through that funnel's own mapping, and takes
// pull's writes in both funnels for echoes.
func TestFunnelsBothWays(t *testing.T) {
	h := newTest(t)
	h.useRetailCRM(retailcrmtest.Options{Sites: []string{"shop", "wholesale"}})
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
