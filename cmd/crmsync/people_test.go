package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
)

// TestCheckReportsManagers: check names the scopes manager matching needs
// and the active RetailCRM managers without a Bitrix24 user.
func TestCheckReportsManagers(t *testing.T) {
	t.Parallel()
	seed := func(f fakes) {
		f.rc.AddUser(retailcrm.User{ID: 14, Active: true, IsManager: true, FirstName: "Anna", Email: "anna@shop.example"})
		f.rc.AddUser(retailcrm.User{ID: 15, Active: true, IsManager: true, FirstName: "Boris", Email: "boris@shop.example"})
		f.rc.AddUser(retailcrm.User{ID: 16, Active: true, IsManager: true, FirstName: "Vera", Email: "vera@shop.example"})
		f.rc.AddUser(retailcrm.User{ID: 17, Active: true, FirstName: "Admin", Email: "admin@shop.example"}) // not a manager
		f.bx.SeedUser(bitrixtest.UserRow{Email: "Anna@shop.example", Active: true})
	}
	for _, tt := range []struct {
		name         string
		rcScopes     []string
		bxScopes     []string
		status, want string
		check        string
	}{
		{"a manager without a Bitrix24 user", nil, nil, checkWarn, "1 of 3 active RetailCRM manager(s) have no Bitrix24 user: 16 Vera <vera@shop.example>", "managers"},
		{"user_brief only", nil, []string{"crm", "user_brief"}, checkWarn, "the webhook has only user_brief, which shows no e-mails", "managers.scopes"},
		{"no user_read", []string{"order_read", "order_write", "customer_read", "reference_read"}, nil, checkWarn,
			"the API key lacks user_read", "managers.scopes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, retailcrmtest.Options{Scopes: tt.rcScopes}, bitrixtest.Options{Scopes: tt.bxScopes})
			seed(f)
			cfg := writeConfig(t, t.TempDir(), f.config(fullMapping+"  managers: {\"15\": 1}\n"))
			rep := checkJSON(t, runInProcess(t, "--config", cfg, "check", "--json"))
			fs := findingOf(rep, tt.check)
			if len(fs) != 1 || fs[0].Status != tt.status || !strings.Contains(fs[0].Detail, tt.want) {
				t.Errorf("%s findings %+v, want %s %q", tt.check, fs, tt.status, tt.want)
			}
		})
	}
}

// TestRetryRecreatesADeletedDeal: a deal deleted in Bitrix24 parks its
// order (exit 3, the reason naming the deal) and later pulls leave it so;
// crmsync retry with the failure's id lets the next pull make a new deal.
func TestRetryRecreatesADeletedDeal(t *testing.T) {
	t.Parallel()
	rc := retailcrmtest.New(t, retailcrmtest.Options{})
	bx := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, pullConfig(rc, bx))
	db := filepath.Join(dir, "c.db")
	crmsync := func(args ...string) result {
		return runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
	}
	o := rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"},
		TotalSumm: decimal.RequireFromString("100"), Currency: "RUB"})
	crmsync("pull").mustCode(t, exitOK)
	if len(bx.Deals()) != 1 {
		t.Fatalf("%d deals", len(bx.Deals()))
	}
	gone := bx.Deals()[0].ID
	if err := bx.DeleteDeal(gone); err != nil {
		t.Fatal(err)
	}
	for _, total := range []string{"110", "120"} {
		if err := rc.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.TotalSumm = decimal.RequireFromString(total) }); err != nil {
			t.Fatal(err)
		}
		r := crmsync("pull")
		r.mustCode(t, exitParked)
		if len(bx.Deals()) != 0 {
			t.Fatalf("pull re-created the deleted deal")
		}
	}
	r := crmsync("status", "--failed", "--json")
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "deal "+strconv.FormatInt(gone, 10)+" was deleted in Bitrix24") {
		t.Errorf("status --failed does not name the deleted deal:\n%s", r.stdout)
	}
	st, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := st.Failures(context.Background(), store.FailureFilter{ParkedOnly: true})
	st.Close()
	if err != nil || len(fs) != 1 {
		t.Fatalf("parked failures %+v %v", fs, err)
	}
	crmsync("retry", strconv.FormatInt(fs[0].ID, 10)).mustCode(t, exitOK)
	crmsync("pull").mustCode(t, exitOK)
	ds := bx.Deals()
	if len(ds) != 1 || ds[0].ID == gone || ds[0].Str("ORIGIN_ID") != strconv.FormatInt(o.ID, 10) || ds[0].Str("OPPORTUNITY") != "120.00" {
		t.Fatalf("deals after retry: %+v", ds)
	}
	crmsync("pull").mustCode(t, exitOK)
	if len(bx.Deals()) != 1 {
		t.Errorf("%d deals after one more pull", len(bx.Deals()))
	}
}
