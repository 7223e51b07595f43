package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// pullConfig is the configuration of most end-to-end runs: both services
// fast, the main status groups mapped.
func (f fakes) pullConfig() string {
	return f.pullConfigLimits("rate: 50")
}

// pullConfigLimits is pullConfig with the portal's limits given as the
// bitrix section's lines ("rate: 2\n  burst: 5").
func (f fakes) pullConfigLimits(limits string) string {
	return `retailcrm:
  url: ` + f.rc.URL() + `
  api_key: ` + f.rc.APIKey() + `
  rate: 50
bitrix:
  webhook_url: ` + f.bx.WebhookURL() + `
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
	f := defaultFakes(t)
	rc, bx := f.rc, f.bx
	_, cfg, db := workFiles(t, f.pullConfig())
	pull := func(args ...string) result {
		return runInProcess(t, append([]string{"--config", cfg, "--db", db, "pull"}, args...)...)
	}
	o := f.order("Anna", "anna@example.com", 1890)

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
	f.order("Anna", "anna@example.com", 10)
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

// A person copied an order's deal 59 times: pull uses the oldest and creates
// nothing, status (text and --json) lists the copies, and check finds them
// still on the portal.
func TestDuplicatesReportedByStatusAndCheck(t *testing.T) {
	t.Parallel()
	f, cfg, db := duplicatesFakes(t)
	a := f.order("Anna", "anna@example.com", 100)
	b := f.order("Boris", "boris@example.com", 200)
	var copies []int64
	for range 60 {
		copies = append(copies, f.bx.SeedDeal(map[string]any{"TITLE": "copy", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": itoa(a.ID)}))
	}
	f.bx.SeedDeal(map[string]any{"TITLE": "by hand", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": itoa(b.ID)})

	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	if n := len(f.bx.Deals()); n != 61 {
		t.Fatalf("%d deals after pull, want 61", n)
	}

	line := fmt.Sprintf("deal of order %d: uses %d; 59 other(s): %d, %d", a.ID, copies[0], copies[1], copies[2])
	_, rep := reportsDuplicates(t, cfg, db, "duplicates", "Duplicates in Bitrix24: 1 ORIGIN_ID(s)", line)
	if len(rep.Duplicates) != 1 {
		t.Fatalf("duplicates %+v", rep.Duplicates)
	}
	d := rep.Duplicates[0]
	if d.Entity != "deal" || d.OriginID != a.ID || d.KeptID != copies[0] || !slices.Equal(d.Others, copies[1:]) || d.SeenAt.IsZero() {
		t.Errorf("duplicate %+v; want deal of order %d kept %d with the %d others", d, a.ID, copies[0], len(copies)-1)
	}
}

// check says so when the database records no duplicates.
func TestCheckReportsNoDuplicates(t *testing.T) {
	t.Parallel()
	f, cfg, db := duplicatesFakes(t)
	f.order("Anna", "", 1)
	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	found := findingOf(checkJSON(t, runInProcess(t, "--config", cfg, "--db", db, "check", "--json")), "bitrix.duplicates")
	if len(found) != 1 || found[0].Status != checkOK {
		t.Errorf("duplicates finding %+v", found)
	}
}

// People copied a corporate customer's company twice: pull uses the oldest
// and creates none, status (text and the --json field company_duplicates)
// lists the copies, and check finds them still on the portal.
func TestDuplicateCompaniesReportedByStatusAndCheck(t *testing.T) {
	t.Parallel()
	f, cfg, db := duplicatesFakes(t)
	person := f.rc.AddCustomer(retailcrm.Customer{FirstName: "Oleg", Email: "oleg@pyshka.example"})
	cc := f.rc.AddCorporateCustomer(retailcrm.CorporateCustomer{NickName: "Pyshka", Companies: []retailcrm.Company{{Name: "OOO Pyshka",
		Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "OOO Pyshka", INN: "7704211201", KPP: "770401001"}}},
		CustomerContacts: []retailcrm.CorporateContact{{IsMain: true, Customer: &retailcrm.Customer{ID: person.ID}}}})
	f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{Type: retailcrm.CustomerTypeCorporate, ID: cc.ID},
		Contact: &retailcrm.Customer{ID: person.ID}, Company: &retailcrm.Company{ID: cc.Companies[0].ID},
		TotalSumm: decimal.RequireFromString("100"), Currency: "RUB"})
	var copies []int64
	for range 3 {
		copies = append(copies, f.bx.SeedCompany(map[string]any{"TITLE": "Pyshka", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": itoa(cc.ID)}))
	}

	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	if n := len(f.bx.Companies()); n != 3 {
		t.Fatalf("%d companies after pull, want the 3 there were", n)
	}

	line := fmt.Sprintf("company of corporate customer %d: uses %d; 2 other(s): %d, %d", cc.ID, copies[0], copies[1], copies[2])
	raw, rep := reportsDuplicates(t, cfg, db, "company_duplicates", "Duplicate companies in Bitrix24: 1 ORIGIN_ID(s)", line)
	if d, ok := raw["duplicates"].([]any); !ok || len(d) != 0 {
		t.Errorf("duplicates %v, want an empty list (the companies have their own field)", raw["duplicates"])
	}
	if len(rep.CompanyDuplicates) != 1 {
		t.Fatalf("company duplicates %+v", rep.CompanyDuplicates)
	}
	d := rep.CompanyDuplicates[0]
	if d.OriginID != itoa(cc.ID) || d.KeptID != copies[0] || !slices.Equal(d.Others, copies[1:]) || d.SeenAt.IsZero() {
		t.Errorf("company duplicate %+v; want corporate customer %d's kept %d with %v", d, cc.ID, copies[0], copies[1:])
	}
}

// duplicatesFakes are both fakes, a config with fullMapping for them and
// the database path next to it.
func duplicatesFakes(t *testing.T) (f fakes, cfg, db string) {
	t.Helper()
	f = defaultFakes(t)
	_, cfg, db = workFiles(t, f.config(fullMapping))
	return f, cfg, db
}

// reportsDuplicates runs status --json, status and check on the database
// and wants the copies reported: the JSON has field, the text header and
// line, and check a bitrix.duplicates warning with line that says to use
// the oldest. It returns status --json, raw and decoded.
func reportsDuplicates(t *testing.T, cfg, db, field, header, line string) (raw map[string]any, rep statusReport) {
	t.Helper()
	r := runInProcess(t, "--config", cfg, "--db", db, "status", "--json")
	r.mustCode(t, exitOK)
	raw, rep = statusFields(t, r, field), decodeStatus(t, r)
	r = runInProcess(t, "--config", cfg, "--db", db, "status")
	r.mustCode(t, exitOK)
	wantAll(t, "status", r.stdout, header, line)
	r = runInProcess(t, "--config", cfg, "--db", db, "check", "--json")
	found := findingOf(checkJSON(t, r), "bitrix.duplicates")
	if len(found) != 1 || found[0].Status != checkWarn || !strings.Contains(found[0].Detail, line) || !strings.Contains(found[0].Fix, "oldest") {
		t.Errorf("check's duplicates finding %+v, want a warning with %q that says to use the oldest\n%s", found, line, r.stdout)
	}
	return raw, rep
}

// A method the portal lacks (its module is off) or a scope the webhook lacks
// ends the run as a configuration error naming the method (exit 4): it is
// the same for every item, so nothing is parked or set aside for a retry.
func TestMissingBitrixMethodOrScopeEndsTheRunWithExit4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		bxOpts  bitrixtest.Options
		command string
		rules   string
		want    string
	}{
		{"task module off", bitrixtest.Options{MissingMethods: []string{"tasks.task.add"}}, "pull",
			"rules:\n  - on: created\n    do:\n      task: {title: \"Call about {{.Number}}\", responsible_id: 1}\n",
			"method tasks.task.add not found on the portal (module or scope missing)"},
		{"im scope missing", bitrixtest.Options{Scopes: []string{"crm", "task"}}, "pull",
			"rules:\n  - on: created\n    do:\n      notify: {user_ids: [1], message: \"New order {{.Number}}\"}\n",
			"the webhook lacks the scope im.notify.system.add needs"},
		{"timeline comments missing", bitrixtest.Options{MissingMethods: []string{"crm.timeline.comment.list"}}, "push", "",
			"method crm.timeline.comment.list not found on the portal (module or scope missing)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, retailcrmtest.Options{}, tc.bxOpts)
			_, cfg, db := workFiles(t, f.config(fullMapping+tc.rules))
			for i := range 3 {
				f.order("Ann", fmt.Sprintf("ann%d@example.com", i), 10)
			}
			if tc.command == "push" {
				// Deals linked by a pull first, one with a manager's comment.
				runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
				for _, d := range f.bx.Deals() {
					f.bx.AddComment("deal", d.ID, 7, "Call back")
					break
				}
			}
			r := runInProcess(t, "--config", cfg, "--db", db, tc.command)
			r.mustSay(t, exitConfig, tc.want)
			rep := statusOf(t, cfg, db)
			if rep.Failures.Parked != 0 || rep.Failures.Pending != 0 || len(rep.Failures.Items) != 0 {
				t.Errorf("items set aside for a configuration error: %+v", rep.Failures)
			}
			if got := rep.LastRuns[tc.command].Result; got != "failed" {
				t.Errorf("%s run recorded as %q, want failed", tc.command, got)
			}
		})
	}
}
