package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
)

// brokenHistory fails every history read with err(n), n counting reads.
type brokenHistory struct {
	RetailCRM
	err   func(n int) error
	reads int
}

func (b *brokenHistory) OrdersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error) {
	b.reads++
	return nil, b.err(b.reads)
}

func TestRunFailureAlertsOncePerKindAndDay(t *testing.T) {
	e := newEnv(t)
	e.cfg.Alerts.NotifyUserIDs = []int{5, 6}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	broken := &brokenHistory{RetailCRM: e.rcc, err: func(n int) error {
		return fmt.Errorf("page after id %d: %w", 1000+n, retailcrm.ErrServer)
	}}
	run := func() {
		t.Helper()
		if _, err := e.tryPull(false, func(o *Options) { o.RetailCRM = broken; o.Now = func() time.Time { return now } }); err == nil {
			t.Fatal("the run did not fail")
		}
	}
	for i := 0; i < 3; i++ {
		run()
	}
	notes := e.bx.Notifications()
	if len(notes) != 2 || notes[0].UserID != 5 || notes[1].UserID != 6 || !strings.Contains(notes[0].Message, "pull failed") {
		t.Fatalf("after three failing runs: %+v", notes)
	}
	// Another kind of failure is news; so is the same one the next day.
	broken.err = func(int) error { return fmt.Errorf("reading: %w", bitrix.ErrAuth) }
	run()
	run()
	if n := len(e.bx.Notifications()); n != 4 {
		t.Errorf("after a new kind of failure: %d notifications", n)
	}
	now = now.Add(24 * time.Hour)
	run()
	if n := len(e.bx.Notifications()); n != 6 {
		t.Errorf("the next day: %d notifications", n)
	}
	// A dry run never alerts.
	if _, err := e.tryPull(true, func(o *Options) { o.RetailCRM = broken; o.Now = func() time.Time { return now.Add(48 * time.Hour) } }); err == nil {
		t.Fatal("the dry run did not fail")
	}
	if n := len(e.bx.Notifications()); n != 6 {
		t.Errorf("a dry run alerted: %d notifications", n)
	}
}

func TestErrorKindIgnoresNumbers(t *testing.T) {
	a := errorKind(errors.New("order history did not advance past id 17"))
	b := errorKind(errors.New("order history did not advance past id 912"))
	c := errorKind(errors.New("something else"))
	if a != b || a == c || errorKind(fmt.Errorf("x: %w", bitrix.ErrAuth)) != "bitrix-auth" {
		t.Errorf("kinds %q %q %q", a, b, c)
	}
}

func TestAlertRunFailureForOtherCommands(t *testing.T) {
	e := newEnv(t)
	e.cfg.Alerts.NotifyUserIDs = []int{4}
	a := RunAlert{Command: "push", Err: fmt.Errorf("stage history: %w", bitrix.ErrServer)}
	if n := e.alert(a); n != 1 {
		t.Errorf("first failure: %d sent", n)
	}
	if n := e.alert(a); n != 0 {
		t.Errorf("same failure again: %d sent", n)
	}
	if notes := e.bx.Notifications(); len(notes) != 1 || !strings.Contains(notes[0].Message, "push failed: stage history") {
		t.Errorf("notifications %+v", notes)
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
		return e.alert(RunAlert{Command: "push", Err: fmt.Errorf("stage history: %w", bitrix.ErrServer), Now: now})
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
