package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

func pullConfig(rc *retailcrmtest.Server, bx *bitrixtest.Server) string {
	return pullConfigLimits(rc, bx, "rate: 50")
}

// pullConfigLimits is pullConfig with the portal's limits given as the
// bitrix section's lines ("rate: 2\n  burst: 5").
func pullConfigLimits(rc *retailcrmtest.Server, bx *bitrixtest.Server, limits string) string {
	return `retailcrm:
  url: ` + rc.URL() + `
  api_key: ` + rc.APIKey() + `
  rate: 50
bitrix:
  webhook_url: ` + bx.WebhookURL() + `
  ` + limits + `
mapping:
  statuses:
    new: NEW
    group:approval: PREPARATION
    group:complete: WON
    group:cancel: LOSE
`
}

func TestPullEndToEnd(t *testing.T) {
	t.Parallel()
	rc := retailcrmtest.New(t, retailcrmtest.Options{})
	bx := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, pullConfig(rc, bx))
	db := filepath.Join(dir, "c.db")
	pull := func(args ...string) result {
		return runInProcess(t, append([]string{"--config", cfg, "--db", db, "pull"}, args...)...)
	}
	anna := &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}
	o := rc.CreateOrder(retailcrm.Order{Customer: anna, TotalSumm: decimal.RequireFromString("1890"), Currency: "RUB"})

	// A dry run announces the deal, writes nothing, creates no database.
	r := pull("--dry-run", "--detailed-exitcode")
	r.mustCode(t, exitUsage)
	if !strings.Contains(r.stdout, `+ deal    order `+o.Number) || !strings.Contains(r.stdout, "OPPORTUNITY=1890.00 RUB") ||
		!strings.Contains(r.stdout, `+ contact customer`) {
		t.Errorf("dry-run report:\n%s", r.stdout)
	}
	if len(bx.Deals()) != 0 {
		t.Fatal("dry run created a deal")
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("dry run created the database")
	}

	r = pull()
	r.mustCode(t, exitOK)
	if len(bx.Deals()) != 1 || len(bx.Contacts()) != 1 {
		t.Fatalf("%d deals, %d contacts", len(bx.Deals()), len(bx.Contacts()))
	}
	if !strings.Contains(r.stderr, "deals created 1") {
		t.Errorf("summary line missing: %q", r.stderr)
	}

	r = pull("--dry-run", "--detailed-exitcode")
	r.mustCode(t, exitOK)
	r = pull("--dry-run", "--json")
	r.mustCode(t, exitOK)
	var doc struct {
		Version int               `json:"version"`
		DryRun  bool              `json:"dry_run"`
		Changes []json.RawMessage `json:"changes"`
		Summary map[string]any    `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Version != 1 || !doc.DryRun || len(doc.Changes) != 0 {
		t.Errorf("--json report %q: %v", r.stdout, err)
	}

	// An order with an unmapped status fails and waits for a retry: exit 3,
	// the rest syncs, and the run says so in the words of status.
	rc.AddStatus(retailcrm.Status{Code: "weird", Name: "Weird", Group: "weird", Active: true})
	rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Bo", Email: "bo@example.com"}, Status: "weird"})
	rc.CreateOrder(retailcrm.Order{Customer: anna, TotalSumm: decimal.RequireFromString("10")})
	r = pull()
	r.mustCode(t, exitParked)
	if !strings.Contains(r.stderr, "; parked 1 (1 waiting for a retry, 0 out of attempts);") ||
		!strings.Contains(r.stderr, "crmsync: pull: finished, but 1 item was parked (1 waiting for a retry, 0 out of attempts; see crmsync status --failed)\n") ||
		strings.Contains(r.stderr, "were parked") || len(bx.Deals()) != 2 {
		t.Errorf("stderr %q, %d deals", r.stderr, len(bx.Deals()))
	}

	r = runInProcess(t, "--config", cfg, "--db", db, "status", "--json")
	r.mustCode(t, exitOK)
	var st struct {
		Runs []struct {
			Command  string           `json:"command"`
			Result   string           `json:"result"`
			Counters map[string]int64 `json:"counters"`
		} `json:"runs"`
		Failures struct {
			Items []struct {
				LastError string `json:"last_error"`
			} `json:"items"`
		} `json:"failures"`
		Links struct {
			Deals int64 `json:"deals"`
		} `json:"links"`
		Backlog map[string]*int `json:"backlog"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	var pullRun bool
	for _, run := range st.Runs {
		if run.Command == "pull" {
			pullRun = true
			if run.Result != "partial" || run.Counters["deals_created"] != 1 || run.Counters["waiting_for_retry"] != 1 || run.Counters["parked"] != 1 {
				t.Errorf("pull run %+v", run)
			}
			if _, ok := run.Counters["backlog"]; !ok {
				t.Error("no backlog counter")
			}
		}
	}
	if !pullRun || st.Links.Deals != 2 || len(st.Failures.Items) != 1 || !strings.Contains(st.Failures.Items[0].LastError, `"weird"`) {
		t.Errorf("status %s", r.stdout)
	}
	if st.Backlog["orders_history"] == nil {
		t.Errorf("backlog %v", st.Backlog)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, rc.APIKey()) || strings.Contains(out, bx.Secret()) {
			t.Error("a secret was printed")
		}
	}
}
