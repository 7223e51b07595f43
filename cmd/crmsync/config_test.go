package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestMapKeysKeepTheirCaseEndToEnd: stage ids (C1:NEW), status codes
// (Client-OK) and workflow parameter names written as keys of mapping,
// funnels and rules reach both services as written, through the binary's
// own reading of the file: pull puts each deal in the mapped stage of its
// funnel and fires the rule, push maps the stages back.
func TestMapKeysKeepTheirCaseEndToEnd(t *testing.T) {
	t.Parallel()
	f := newFakes(t, retailcrmtest.Options{Sites: []string{"shop", "Outlet"}}, bitrixtest.Options{})
	f.bx.SeedCategory(1, "Shop")
	f.bx.SeedCategory(2, "Outlet")
	f.rc.AddStatus(retailcrm.Status{Code: "Client-OK", Name: "Согласовано", Group: "approval", Active: true})
	_, cfg, db := workFiles(t, f.config(`  category_id: 1
mapping:
  statuses:
    new: C1:NEW
    Client-OK: C1:PREPARATION
    group:complete: C1:WON
    group:cancel: C1:LOSE
  stages:
    C1:WON: complete
funnels:
  - sites: [Outlet]
    category_id: 2
    statuses: { new: C2:NEW, Client-OK: C2:PREPARATION, group:complete: C2:WON, group:cancel: C2:LOSE }
    stages: { C2:WON: complete }
rules:
  - on: status:Client-OK
    do:
      workflow: { template_id: 12, parameters: { OrderNumber: "{{.Number}}" } }
`))
	run := func(command string) {
		t.Helper()
		runInProcess(t, "--config", cfg, "--db", db, command).mustCode(t, exitOK)
	}
	shop := f.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new", Customer: &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}})
	outlet := f.rc.CreateOrder(retailcrm.Order{Site: "Outlet", Status: "new", Customer: &retailcrm.Customer{FirstName: "Boris", Email: "boris@example.com"}})
	run("pull")
	deal := func(o retailcrm.Order) bitrixtest.Row {
		t.Helper()
		for _, d := range f.bx.Deals() {
			if bitrixtest.Str(d.Fields["ORIGIN_ID"]) == itoa(o.ID) {
				return d
			}
		}
		t.Fatalf("no deal for order %d", o.ID)
		return bitrixtest.Row{}
	}
	for o, want := range map[int64]string{shop.ID: "C1:NEW", outlet.ID: "C2:NEW"} {
		o, _ := f.rc.Order(o)
		if got := bitrixtest.Str(deal(o).Fields["STAGE_ID"]); got != want {
			t.Errorf("order %s (site %s): stage %q, want %q", o.Number, o.Site, got, want)
		}
	}

	for _, o := range []retailcrm.Order{shop, outlet} {
		if err := f.rc.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "Client-OK" }); err != nil {
			t.Fatal(err)
		}
	}
	run("pull")
	for o, want := range map[int64]string{shop.ID: "C1:PREPARATION", outlet.ID: "C2:PREPARATION"} {
		o, _ := f.rc.Order(o)
		if got := bitrixtest.Str(deal(o).Fields["STAGE_ID"]); got != want {
			t.Errorf("order %s after Client-OK: stage %q, want %q", o.Number, got, want)
		}
	}
	ws := f.bx.Workflows()
	if len(ws) != 2 {
		t.Fatalf("the rule on status:Client-OK started %d workflows: %+v", len(ws), ws)
	}
	for _, w := range ws {
		if _, ok := w.Parameters["OrderNumber"]; !ok || len(w.Parameters) != 1 {
			t.Errorf("workflow parameters lost their case: %+v", w.Parameters)
		}
	}

	for _, o := range []struct {
		order retailcrm.Order
		stage string
	}{{shop, "C1:WON"}, {outlet, "C2:WON"}} {
		if err := f.bx.MoveDeal(deal(o.order).ID, o.stage, 7); err != nil {
			t.Fatal(err)
		}
	}
	run("push")
	for _, id := range []int64{shop.ID, outlet.ID} {
		if o, _ := f.rc.Order(id); o.Status != "complete" {
			t.Errorf("order %s: status %q after its deal was won, want complete", o.Number, o.Status)
		}
	}
	if t.Failed() {
		var b strings.Builder
		for _, d := range f.bx.Deals() {
			b.WriteString(bitrixtest.Str(d.Fields["ORIGIN_ID"]) + " " + bitrixtest.Str(d.Fields["STAGE_ID"]) + "\n")
		}
		t.Log("deals:\n" + b.String())
	}
}

// TestConfigSearchOrder: without --config the binary reads ./crmsync.yaml,
// else $XDG_CONFIG_HOME/crmsync/crmsync.yaml; --config (and CRMSYNC_CONFIG)
// beat both, and the flag beats the variable.
func TestConfigSearchOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // runBinary's working directory, with XDG_CONFIG_HOME=dir/xdg
	put := func(path, db string) string {
		t.Helper()
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("db: "+db+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	status := func(env []string, args ...string) string {
		t.Helper()
		r := runBinary(t, dir, env, append(args, "status")...)
		r.mustCode(t, exitOK)
		return r.stdout
	}
	xdg := put("xdg/crmsync/crmsync.yaml", "xdg.db")
	wantAll(t, "status with the XDG file only", status(nil), "Database: xdg.db", "Config:   "+xdg)
	put("crmsync.yaml", "local.db")
	wantAll(t, "status with ./crmsync.yaml", status(nil), "Database: local.db", "Config:   crmsync.yaml")
	other := put("other/c.yaml", "other.db")
	env := []string{"CRMSYNC_CONFIG=" + other}
	wantAll(t, "status with CRMSYNC_CONFIG", status(env), "Database: other.db", "Config:   "+other)
	flag := put("flag/c.yaml", "flag.db")
	wantAll(t, "status with --config", status(env, "--config", flag), "Database: flag.db", "Config:   "+flag)

	// A key: the environment beats the file, a flag beats the environment.
	env = []string{"CRMSYNC_DB=env.db", "CRMSYNC_BITRIX_WEBHOOK_URL=https://p.bitrix24.ru/rest/3/envhooksecret/"}
	out := status(env)
	wantAll(t, "status with CRMSYNC_DB", out, "Database: env.db", "Config:   crmsync.yaml", "Bitrix24:  https://p.bitrix24.ru/rest/3/***/")
	if strings.Contains(out, "envhooksecret") {
		t.Errorf("status shows the webhook's secret:\n%s", out)
	}
	wantAll(t, "status with --db", status(env, "--db", "cli.db"), "Database: cli.db")
}
