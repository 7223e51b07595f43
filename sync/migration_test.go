package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/store/storetest"
)

// toSchema3 turns the env's database back into what the release of schema
// 3 kept: purchase profile entries as "profile:<customer>:<order>" cursor
// rows holding JSON, sent run alerts as fires of the rule
// "builtin:run-alert", pull's backlog only in its runs' counters, no state
// tables. The next open migrates it again.
func (e *env) toSchema3() {
	e.t.Helper()
	storetest.ToSchema3(e.t, e.dbPath,
		`INSERT INTO cursors (name, value, updated_at)
			SELECT 'profile:' || customer_id || ':' || order_id,
				json_object('o', order_id, 'c', json(CASE WHEN counted THEN 'true' ELSE 'false' END), 'a', amount, 't', created_at, 'n', number),
				updated_at
			FROM profile_contributions`,
		`INSERT INTO rule_fires (rule_key, event_key, action, result_id, fired_at)
			SELECT 'builtin:run-alert', command || ':' || kind || ':' || day, 'notify', '', sent_at FROM alert_marks`)
}

// TestPurchaseProfileAfterMigration: after the migration to schema 4, a
// pull that sees one of a customer's orders still counts the others from
// the entries the old release stored.
func TestPurchaseProfileAfterMigration(t *testing.T) {
	e := profileEnv(t)
	c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"})
	o1 := e.rc.CreateOrder(order(&c, "100"))
	o2 := e.rc.CreateOrder(order(&c, "250.50"))
	e.pull()
	if got := contactProfile(e, c.ID); got["count"] != "2" || got["spent"] != "350.50" {
		t.Fatalf("before the migration: %v", got)
	}
	e.toSchema3()

	e.updateOrder(o2.ID, func(o *retailcrm.Order) { o.TotalSumm = money("300") })
	e.pull()
	got := contactProfile(e, c.ID)
	if got["count"] != "2" || got["spent"] != "400.00" {
		t.Errorf("after the migration: %v, want 2 orders, 400.00 (order %d's entry lost?)", got, o1.ID)
	}
	if want := expectedProfile(e, c.ID, []int64{o1.ID, o2.ID}); !equalMaps(got, want) {
		t.Errorf("profile %v, recomputed %v", got, want)
	}
	st, err := store.Open(context.Background(), e.dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cursors, _ := st.Cursors(context.Background())
	for _, c := range cursors {
		if strings.HasPrefix(c.Name, "profile:") {
			t.Errorf("cursor %s left after the migration", c.Name)
		}
	}
	if state, err := st.RunState(context.Background(), "pull"); err != nil || !state.BacklogKnown {
		t.Errorf("pull state %+v %v", state, err)
	}
}

// TestRunAlertAfterMigration: an alert the old release sent today is not
// sent again after the migration; the next day's is.
func TestRunAlertAfterMigration(t *testing.T) {
	e := newEnv(t)
	e.cfg.Alerts.NotifyUserIDs = []int{4}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	alert := func() int {
		t.Helper()
		st, err := openStore(e)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return AlertRunFailure(context.Background(), RunAlert{Config: e.cfg, Bitrix: e.bxc, Store: st, Command: "push",
			Err: fmt.Errorf("stage history: %w", bitrix.ErrServer), Now: now})
	}
	if n := alert(); n != 1 {
		t.Fatalf("first failure: %d sent", n)
	}
	e.toSchema3()
	if n := alert(); n != 0 {
		t.Errorf("the same failure after the migration: %d sent", n)
	}
	now = now.Add(24 * time.Hour)
	if n := alert(); n != 1 {
		t.Errorf("the next day: %d sent", n)
	}
	if n := len(e.bx.Notifications()); n != 2 {
		t.Errorf("%d notifications, want 2", n)
	}
}
