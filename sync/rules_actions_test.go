package sync

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/rules"
)

// actionRules covers every trigger and action.
func actionRules(t testing.TB) []rules.Rule {
	return ruleSet(t, []map[string]any{
		{"on": "created", "if": map[string]any{"site": "shop"},
			"do": map[string]any{"task": map[string]any{"title": "Call {{.CustomerName}} about order {{.Number}}", "responsible_id": 7,
				"description": "{{.Amount}} {{.Currency}}, {{.Delivery}}, {{.Phone}}\n{{.OrderURL}}\n{{.DealURL}}", "deadline": "2h"}}},
		{"on": "status:complete",
			"do": map[string]any{"notify": map[string]any{"user_ids": []any{9}, "message": "Order {{.Number}}: {{.OldStatusName}} → {{.StatusName}}"}}},
		{"on": "returned", "do": map[string]any{"comment": "Returned: {{.ReturnedItems}}",
			"workflow": map[string]any{"template_id": 12, "parameters": map[string]any{"Order": "{{.Number}}"}}}},
		{"on": "method:phone", "do": map[string]any{"stage": "PREPARATION"}},
	})
}

func itemsOrder(c *retailcrm.Customer) retailcrm.Order {
	o := order(c, "1500")
	o.Phone = "+79001234567"
	o.Items = []retailcrm.Item{
		{ID: 11, Quantity: money("1"), Status: "new", Offer: &retailcrm.Offer{ID: 1, Name: "Kettle"}},
		{ID: 12, Quantity: money("2"), Status: "new", Offer: &retailcrm.Offer{ID: 2, Name: "Mug"}},
	}
	return o
}

func TestRuleActionsReachThePortal(t *testing.T) {
	e := newEnv(t)
	e.cfg.RetailCRM.URL = "https://shop.retailcrm.ru"
	e.cfg.Bitrix.WebhookURL = e.bx.WebhookURL()
	e.cfg.Rules = actionRules(t)
	o := e.rc.CreateOrder(itemsOrder(&retailcrm.Customer{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com"}))
	e.pull()
	deal := dealOf(t, e, o.ID)
	dealID := deal["ID"].(string)
	contactID := deal["CONTACT_ID"]
	tasks := e.bx.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("tasks %+v", tasks)
	}
	f := tasks[0].Fields
	if f["TITLE"] != "Call Ann Lee about order "+o.Number || bitrixtest.Str(f["RESPONSIBLE_ID"]) != "7" {
		t.Errorf("task %+v", f)
	}
	if b := strings.Join(anyStrings(f["UF_CRM_TASK"]), ","); b != "D_"+dealID+",C_"+contactID.(string) {
		t.Errorf("task bound to %q, want the deal %s and contact %v", b, dealID, contactID)
	}
	desc, _ := f["DESCRIPTION"].(string)
	for _, want := range []string{"1500.00 RUB", "courier", "+79001234567", "https://shop.retailcrm.ru/orders/" + strconv.FormatInt(o.ID, 10) + "/edit",
		"/crm/deal/details/" + dealID + "/"} {
		if !strings.Contains(desc, want) {
			t.Errorf("description %q lacks %q", desc, want)
		}
	}
	if strings.Contains(desc, e.bx.Secret()) {
		t.Errorf("the webhook secret is in a task: %q", desc)
	}
	if d, _ := f["DEADLINE"].(string); !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`).MatchString(d) {
		t.Errorf("deadline %q is not YYYY-MM-DDThh:mm:ss±hh:mm: %+v", d, f)
	}

	// status:complete notifies with names; returning every line fires
	// returned (comment listing the lines, workflow on the deal) and moves
	// the deal to the failure stage.
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	e.pull()
	notes := e.bx.Notifications()
	if len(notes) != 1 || notes[0].UserID != 9 || notes[0].Message != "Order "+o.Number+": Новый → Выполнен" {
		t.Errorf("notifications %+v", notes)
	}
	e.updateOrder(o.ID, func(o *retailcrm.Order) {
		for i := range o.Items {
			o.Items[i].Status = "returned"
		}
	})
	e.pull()
	ws := e.bx.Workflows()
	if len(ws) != 1 || ws[0].TemplateID != 12 || strings.Join(ws[0].DocumentID, ",") != "crm,CCrmDocumentDeal,DEAL_"+dealID ||
		ws[0].Parameters["Order"] != o.Number {
		t.Errorf("workflows %+v", ws)
	}
	cs := strings.Join(commentsOf(e, dealID), "\n")
	if !strings.Contains(cs, `Returned: "Kettle", "Mug" × 2`) || !strings.Contains(cs, `"Kettle" moved to Возвращен, "Mug" × 2 moved to Возвращен.`) {
		t.Errorf("comments:\n%s", cs)
	}
	if st := dealOf(t, e, o.ID)["STAGE_ID"]; st != "LOSE" {
		t.Errorf("every line returned, stage %v", st)
	}

	// method:phone forces the stage.
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.OrderMethod = "phone" })
	e.pull()
	if st := dealOf(t, e, o.ID)["STAGE_ID"]; st != "PREPARATION" {
		t.Errorf("stage action: %v", st)
	}

	// Re-runs fire nothing again.
	before := [4]int{len(e.bx.Tasks()), len(e.bx.Notifications()), len(e.bx.Workflows()), len(e.bx.Comments())}
	e.pull()
	e.pull()
	if after := [4]int{len(e.bx.Tasks()), len(e.bx.Notifications()), len(e.bx.Workflows()), len(e.bx.Comments())}; after != before {
		t.Errorf("re-runs: %v → %v", before, after)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range bitrixtest.List(v) {
		out = append(out, bitrixtest.Str(x))
	}
	return out
}

func TestPartialReturnCommentsWithoutFailingTheDeal(t *testing.T) {
	e := newEnv(t)
	e.cfg.Rules = ruleSet(t, []map[string]any{{"on": "returned", "do": map[string]any{"comment": "Returned: {{.ReturnedItems}}"}}})
	o := e.rc.CreateOrder(itemsOrder(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}))
	e.pull()
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Items[1].Status = "returned" })
	e.pull()
	d := dealOf(t, e, o.ID)
	if d["STAGE_ID"] != "NEW" {
		t.Errorf("a partial return moved the deal to %v", d["STAGE_ID"])
	}
	cs := strings.Join(commentsOf(e, d["ID"].(string)), "\n")
	if !strings.Contains(cs, `Returned: "Mug" × 2`) || strings.Contains(cs, "Kettle") {
		t.Errorf("comments:\n%s", cs)
	}
	// Every comment crmsync wrote, the rule's and the status comments, is in
	// the ledger, so push never carries one back.
	_, st := e.engine(false)
	dealID, _ := strconv.ParseInt(d["ID"].(string), 10, 64)
	for _, c := range commentsOf(e, d["ID"].(string)) {
		if ok, err := ledgerHasComment(st, dealID, c); err != nil || !ok {
			t.Errorf("comment %q is not in the ledger (%v)", c, err)
		}
	}
}

// Rules fire once whether the order first came by a backfill (no history)
// or by the history, and a crash between sending and recording does not
// send again.
func TestRulesFireOnceAcrossBackfillAndCrash(t *testing.T) {
	e := newEnv(t)
	e.cfg.Rules = ruleSet(t, []map[string]any{
		{"on": "created", "do": map[string]any{"task": map[string]any{"title": "Call about {{.Number}}", "responsible_id": 7}}},
		{"on": "created", "do": map[string]any{"notify": map[string]any{"user_ids": []any{3}, "message": "New order {{.Number}}"}}},
	})
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10"))
	// A backfill imports the order with its rules before any pull.
	eng, st := e.engine(false)
	if err := loadRefs(eng); err != nil {
		t.Fatal(err)
	}
	full, _ := e.rc.Order(o.ID)
	if err := eng.syncOrders(context.Background(), []*retailcrm.Order{&full}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if len(e.bx.Tasks()) != 1 || len(e.bx.Notifications()) != 1 {
		t.Fatalf("backfill: %d tasks, %d notifications", len(e.bx.Tasks()), len(e.bx.Notifications()))
	}
	// The pull then reads the creation record: nothing again.
	e.pull()
	if len(e.bx.Tasks()) != 1 || len(e.bx.Notifications()) != 1 {
		t.Errorf("pull after backfill: %d tasks, %d notifications", len(e.bx.Tasks()), len(e.bx.Notifications()))
	}

	// A crash after every write batch of a new order's pull: the rules'
	// actions still reach the portal at most once each.
	for after := 1; ; after++ {
		e2 := newEnv(t)
		e2.cfg.Rules = e.cfg.Rules
		e2.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Bob", Email: "bob@example.com"}, "10"))
		crash := &crashingBitrix{Bitrix: e2.bxc, after: after}
		eng, st := e2.engine(false, func(o *Options) { o.Bitrix = crash })
		_, err := eng.Pull(context.Background())
		st.Close()
		if err == nil {
			break
		}
		if !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		e2.pull()
		e2.pull()
		if n, m := len(e2.bx.Tasks()), len(e2.bx.Notifications()); n > 1 || m > 1 {
			t.Errorf("crash after write batch %d: %d tasks, %d notifications", after, n, m)
		}
	}
}

func TestDryRunListsRuleActionsWithoutSending(t *testing.T) {
	e := newEnv(t)
	e.cfg.Rules = actionRules(t)
	o := e.rc.CreateOrder(itemsOrder(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}))
	res := e.dryPull()
	var b bytes.Buffer
	if err := res.Report.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "+ task") || !strings.Contains(b.String(), "Call Ann about order "+o.Number) {
		t.Errorf("dry-run report lacks the task:\n%s", b.String())
	}
	if len(e.bx.Tasks())+len(e.bx.Notifications())+len(e.bx.Workflows())+len(e.bx.Comments()) != 0 {
		t.Error("a dry run sent rule actions")
	}
	// The real run then sends it once.
	e.pull()
	if len(e.bx.Tasks()) != 1 {
		t.Errorf("%d tasks after the real run", len(e.bx.Tasks()))
	}
}

// loadRefs reads the references a run reads first, for tests that call
// syncOrders directly as a backfill does.
func loadRefs(eng *Engine) error {
	return eng.loadReferences(context.Background())
}
