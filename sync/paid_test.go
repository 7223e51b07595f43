package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// paidEnv is an env whose rules notify user 5 when an order is paid and
// give user 7 a task about a new order that is not paid.
func paidEnv(t *testing.T) *env {
	e := newEnv(t)
	e.cfg.Locale = ""
	e.cfg.Rules = ruleSet(t, []map[string]any{
		{"on": "paid", "do": map[string]any{"notify": map[string]any{"user_ids": []int{5},
			"message": "Оплачен {{.Number}}: {{.Paid}} {{.PaidAt}}"}}},
		{"on": "created", "if": map[string]any{"paid": false}, "do": map[string]any{"task": map[string]any{
			"title": "Проверить оплату заказа {{.Number}}", "responsible_id": 7}}},
	})
	return e
}

func unpaidOrder(c *retailcrm.Customer) retailcrm.Order {
	o := order(c, "1890")
	o.Currency = "RUB"
	o.Payments = retailcrm.Payments{{Type: "bank-card", Status: "not-paid", Amount: money("1890")}}
	return o
}

func setPayment(t *testing.T, e *env, id int64, status string) {
	t.Helper()
	if err := e.rc.UpdateOrder(id, func(o *retailcrm.Order) { o.Payments[0].Status = status }); err != nil {
		t.Fatal(err)
	}
}

// paidNotes lists the notifications the paid rule sent.
func paidNotes(e *env) []string {
	var out []string
	for _, n := range e.bx.Notifications() {
		if strings.HasPrefix(n.Message, "Оплачен ") {
			out = append(out, n.Message)
		}
	}
	return out
}

// TestPaidFiresOnce: an order becoming fully paid fires on: paid once, with
// .Paid and .PaidAt, and gets the built-in timeline comment with the amount
// and the date; re-runs, a refund and a second payment do not fire it again.
// An order created paid fires it from its creation (its COMMENTS say it is
// paid); if: {paid: false} holds for the unpaid order only.
func TestPaidFiresOnce(t *testing.T) {
	e := paidEnv(t)
	c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	unpaid := e.rc.CreateOrder(unpaidOrder(&c))
	paidNow := unpaidOrder(&c)
	paidNow.Payments[0].Status = "paid"
	paidNow.Payments[0].PaidAt = mustDateTime(t, "2026-03-01 12:00:00")
	prepaid := e.rc.CreateOrder(paidNow)
	if !prepaid.FullyPaid() || unpaid.FullyPaid() {
		t.Fatalf("fake: fullPaidAt %q and %q", prepaid.FullPaidAt, unpaid.FullPaidAt)
	}
	e.pull()
	if tasks := e.bx.Tasks(); len(tasks) != 1 || !strings.Contains(tasks[0].Fields["TITLE"].(string), unpaid.Number) {
		t.Errorf("if: {paid: false}: tasks %+v, want one, for order %s", tasks, unpaid.Number)
	}
	if got := paidNotes(e); len(got) != 1 || got[0] != "Оплачен "+prepaid.Number+": true 2026-03-01 12:00:00" {
		t.Errorf("an order created paid: notifications %q", got)
	}
	// An order created paid did not become paid while crmsync watched: its
	// COMMENTS say so, its timeline gets no comment (a pull replaying the
	// history after a backfill must not write one either).
	prepaidDeal := dealOf(t, e, prepaid.ID)
	if cs := commentsOf(e, prepaidDeal["ID"].(string)); len(cs) != 0 {
		t.Errorf("timeline of the order created paid: %q", cs)
	}
	if !strings.Contains(prepaidDeal["COMMENTS"].(string), "\nОплачен полностью: 2026-03-01 12:00:00") {
		t.Errorf("COMMENTS of the order created paid: %q", prepaidDeal["COMMENTS"])
	}

	setPayment(t, e, unpaid.ID, "paid")
	e.pull()
	e.pull()
	got := paidNotes(e)
	if len(got) != 2 || !strings.HasPrefix(got[1], "Оплачен "+unpaid.Number+": true 20") {
		t.Errorf("after the payment: notifications %q", got)
	}
	deal := dealOf(t, e, unpaid.ID)
	cs := commentsOf(e, deal["ID"].(string))
	if len(cs) != 1 || !strings.HasPrefix(cs[0], "Заказ оплачен полностью: 1 890,00 RUB, 20") {
		t.Errorf("timeline after the payment: %q", cs)
	}
	if !strings.Contains(deal["COMMENTS"].(string), "Оплата: Банковская карта (Оплачен)\nОплачен полностью: 20") {
		t.Errorf("COMMENTS %q", deal["COMMENTS"])
	}

	// Refunded, then paid again: the timeline tells both payments, the rule
	// does not fire again.
	setPayment(t, e, unpaid.ID, "not-paid")
	e.pull()
	setPayment(t, e, unpaid.ID, "paid")
	e.pull()
	if got := paidNotes(e); len(got) != 2 {
		t.Errorf("paid fired again: %q", got)
	}
	if cs := commentsOf(e, deal["ID"].(string)); len(cs) != 2 {
		t.Errorf("timeline after paying again: %q", cs)
	}
	if n := len(e.bx.Tasks()); n != 1 {
		t.Errorf("%d tasks", n)
	}
}

// TestPaidFiresOnceAcrossACrash: a run that sent the paid notification and
// died before committing its page reads the page again and does not send
// it twice (the fired-once record is written before the page's commit).
func TestPaidFiresOnceAcrossACrash(t *testing.T) {
	e := paidEnv(t)
	c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	o := e.rc.CreateOrder(unpaidOrder(&c))
	e.pull()
	setPayment(t, e, o.ID, "paid")

	eng, st := e.engine(false)
	eng.beforeCommit = func(int) error { return errCrash }
	if _, err := eng.Pull(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("crashed pull: %v", err)
	}
	st.Close()
	if got := paidNotes(e); len(got) != 1 {
		t.Fatalf("before the crash: %q", got)
	}
	e.pull()
	e.pull()
	if got := paidNotes(e); len(got) != 1 {
		t.Errorf("after the restart: %q", got)
	}
	if cs := commentsOf(e, dealOf(t, e, o.ID)["ID"].(string)); len(cs) != 1 {
		t.Errorf("timeline after the restart: %q", cs)
	}
}

// TestBackfillWithRulesFiresPaid: backfill --with-rules takes the orders as
// just created, so an order paid already fires paid (once: a later pull of
// its history does not fire it again); a backfill without rules fires
// nothing.
func TestBackfillWithRulesFiresPaid(t *testing.T) {
	for _, withRules := range []bool{false, true} {
		e := paidEnv(t)
		c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
		o := unpaidOrder(&c)
		o.Payments[0].Status = "paid"
		e.rc.CreateOrder(o)
		if _, err := e.backfill(false, BackfillOptions{WithRules: withRules}); err != nil {
			t.Fatal(err)
		}
		e.pull()
		want := 0
		if withRules {
			want = 1
		}
		if got := paidNotes(e); len(got) != want {
			t.Errorf("with rules %v: notifications %q, want %d", withRules, got, want)
		}
	}
}

func mustDateTime(t *testing.T, s string) retailcrm.DateTime {
	t.Helper()
	d, err := retailcrm.ParseDateTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
