package sync

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/rules"
)

func TestRulesFireOncePerEvent(t *testing.T) {
	e := newEnv(t)
	e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	e.cfg.Rules = ruleSet(t, []map[string]any{
		{"on": "created", "if": map[string]any{"method": "phone"},
			"do": map[string]any{"task": map[string]any{"title": "Call back about order {{.Number}}", "responsible_id": 7, "deadline": "2h"}}},
		{"on": "status_group:cancel",
			"do": map[string]any{"notify": map[string]any{"user_ids": []any{7, 8}, "message": "Order {{.Number}} was cancelled: {{.StatusComment}}"}}},
		{"on": "returned", "do": map[string]any{"comment": "Return registered for order {{.Number}}", "workflow": map[string]any{"template_id": 12}}},
		{"on": "repeat_purchase", "do": map[string]any{"comment": "Repeat purchase by {{.FirstName}}"}},
		{"on": "created", "if": map[string]any{"amount_over": "1000"}, "do": map[string]any{"comment": "Big order {{.Total}}"}},
	})
	phone := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "50")
	phone.OrderMethod = "phone"
	o1 := e.rc.CreateOrder(phone)
	o2 := e.rc.CreateOrder(order(o1.Customer, "5000"))
	e.pull()
	if ts := e.bx.Tasks(); len(ts) != 1 || !strings.Contains(ts[0].Fields["TITLE"].(string), "order "+o1.Number) {
		t.Fatalf("tasks %+v", ts)
	}
	texts := func() []string {
		var out []string
		for _, c := range e.bx.Comments() {
			out = append(out, c.Comment)
		}
		return out
	}
	if got := strings.Join(texts(), "|"); !strings.Contains(got, "Repeat purchase by Ann") || !strings.Contains(got, "Big order 5000.00") ||
		strings.Count(got, "Big order") != 1 {
		t.Errorf("comments %q", got)
	}

	e.updateOrder(o1.ID, func(o *retailcrm.Order) { o.Status = "cancel-other"; o.StatusComment = "no stock" })
	e.updateOrder(o2.ID, func(o *retailcrm.Order) { o.Status = "return" })
	// A dry run announces the actions.
	dry := e.dryPull()
	var rep bytes.Buffer
	_ = dry.Report.WriteText(&rep)
	for _, want := range []string{`+ notify  order ` + o1.Number, `was cancelled: no stock"`, `+ workflow order ` + o2.Number} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("dry-run report lacks %q:\n%s", want, rep.String())
		}
	}
	e.pull()
	// o2's return is in group cancel too: two notifications each for o1 and o2.
	if n := len(e.bx.Notifications()); n != 4 || !strings.Contains(e.bx.Notifications()[0].Message, "no stock") {
		t.Errorf("notifications %+v", e.bx.Notifications())
	}
	if ws := e.bx.Workflows(); len(ws) != 1 || ws[0].TemplateID != 12 {
		t.Errorf("workflows %+v", ws)
	}

	// Nothing fires twice: not on an idle run, not after losing the database.
	counts := func() [4]int {
		return [4]int{len(e.bx.Tasks()), len(e.bx.Notifications()), len(e.bx.Workflows()), len(e.bx.Comments())}
	}
	before := counts()
	e.pull()
	os.Remove(e.dbPath)
	os.Remove(e.dbPath + "-wal")
	os.Remove(e.dbPath + "-shm")
	e.pull()
	if after := counts(); after != before {
		t.Errorf("tasks, notifications, workflows, comments: %v → %v", before, after)
	}
}

func TestBadRuleIsAConfigurationError(t *testing.T) {
	e := newEnv(t)
	e.cfg.Rules = ruleSet(t, []map[string]any{{"on": "created", "do": map[string]any{"task": map[string]any{"title": "x {{.Nope", "responsible_id": 1}}}})
	_, err := New(Options{Config: e.cfg, RetailCRM: e.rcc, Bitrix: e.bxc, Store: nil})
	if err == nil {
		t.Fatal("no error")
	}
	st := e.openDB()
	defer st.Close()
	_, err = New(Options{Config: e.cfg, RetailCRM: e.rcc, Bitrix: e.bxc, Store: st})
	if err == nil || !strings.Contains(err.Error(), "rules[0].do.task") {
		t.Errorf("err %v", err)
	}
}

// ruleSet parses rules given as the configuration's YAML decodes them; a
// mistake in their shape fails the test, the problems of their texts are
// left for the engine.
func ruleSet(t testing.TB, rs []map[string]any) []rules.Rule {
	t.Helper()
	var n yaml.Node
	if err := n.Encode(rs); err != nil {
		t.Fatal(err)
	}
	out, errs := rules.Parse(&n)
	if len(errs) > 0 {
		t.Fatalf("rules: %v", errs)
	}
	return out
}
