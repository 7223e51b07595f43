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
		eng, st := e.engine(false, func(o *Options) { o.RetailCRM = broken; o.Now = func() time.Time { return now } })
		if _, err := eng.Pull(context.Background()); err == nil {
			t.Fatal("the run did not fail")
		}
		st.Close()
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
	eng, st := e.engine(true, func(o *Options) { o.RetailCRM = broken; o.Now = func() time.Time { return now.Add(48 * time.Hour) } })
	if _, err := eng.Pull(context.Background()); err == nil {
		t.Fatal("the dry run did not fail")
	}
	st.Close()
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
	st, err := openStore(e)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := RunAlert{Config: e.cfg, Bitrix: e.bxc, Store: st, Command: "push", Err: fmt.Errorf("stage history: %w", bitrix.ErrServer)}
	if n := AlertRunFailure(context.Background(), a); n != 1 {
		t.Errorf("first failure: %d sent", n)
	}
	if n := AlertRunFailure(context.Background(), a); n != 0 {
		t.Errorf("same failure again: %d sent", n)
	}
	if notes := e.bx.Notifications(); len(notes) != 1 || !strings.Contains(notes[0].Message, "push failed: stage history") {
		t.Errorf("notifications %+v", notes)
	}
}
