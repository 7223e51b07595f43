package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/store"
)

// seededDir is a fresh directory with a database seeded by seedStore.
func seededDir(t *testing.T) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "s.db")
	seedStore(t, db)
	return dir, db
}

// seedStore fills a database with one of everything status shows.
func seedStore(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.SetCursor(ctx, store.CursorOrdersHistory, "7137"); err != nil {
			return err
		}
		for _, l := range []store.OrderLink{
			{OrderID: 1042, Site: "shop", Number: "1042A", EntityType: store.EntityDeal, EntityID: 77, ContactID: 5, ContentHash: "h1"},
			{OrderID: 1043, Site: "shop", Number: "1043A", EntityType: store.EntityLead, EntityID: 78, ContentHash: "h2"},
		} {
			if err := tx.PutOrderLink(ctx, l); err != nil {
				return err
			}
		}
		if err := tx.PutCustomerLink(ctx, store.CustomerLink{CustomerID: 311, ContactID: 5, Email: "anna@example.com"}); err != nil {
			return err
		}
		if _, _, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "order", Key: "1050", Error: `unmapped status "weird"`, MaxAttempts: 1}); err != nil {
			return err
		}
		_, _, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "order", Key: "1051", Error: "Bitrix24 answered 400: bad field", MaxAttempts: 5})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.StartRun(ctx, "pull", 4242)
	if err != nil {
		t.Fatal(err)
	}
	backlog := int64(340)
	if err := st.FinishRunLeaving(ctx, id, store.RunPartial, map[string]int64{"orders": 12, "parked": 2, backlogCounter: 340}, "",
		store.RunLeaves{Backlog: &backlog}); err != nil {
		t.Fatal(err)
	}
}

func TestStatusOnMissingDatabaseCreatesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "fresh.db")
	for _, args := range [][]string{{"status"}, {"status", "--json"}, {"status", "--failed"}} {
		r := runInProcess(t, append([]string{"--db", db, "--config", writeConfig(t, dir, "")}, args...)...)
		r.mustCode(t, exitOK)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("status created the database: %v", err)
	}
	r := runInProcess(t, "--db", db, "--config", writeConfig(t, dir, ""), "status", "--json")
	if rep := decodeStatus(t, r); rep.Exists || len(rep.Cursors) != 0 || rep.Failures.Items == nil || rep.Runs == nil {
		t.Errorf("unexpected report %+v", rep)
	}
}

func TestStatusOnFreshEmptyDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "empty.db")
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	r := runInProcess(t, "--db", db, "--config", writeConfig(t, dir, ""), "status")
	r.mustCode(t, exitOK)
	wantAll(t, "status", r.stdout, "(schema ", "Cursors:\n  none yet", "Last runs:\n  none yet", "Links: 0 orders", "Failures: parked 0")
}

func TestStatusReportsEverything(t *testing.T) {
	t.Parallel()
	dir, db := seededDir(t)
	cfg := writeConfig(t, dir, validConfig("https://shop.retailcrm.ru", "https://shop.bitrix24.ru/rest/1/statussecret9/"))

	r := runInProcess(t, "--db", db, "--config", cfg, "status", "--json")
	r.mustCode(t, exitOK)
	// The field names are a contract.
	statusFields(t, r, "database", "exists", "schema_version", "config", "cursors", "runs", "last_runs", "links", "failures", "backlog")
	rep := decodeStatus(t, r)
	if len(rep.Cursors) != 1 || rep.Cursors[0].Name != "orders_history" || rep.Cursors[0].Value != "7137" {
		t.Errorf("cursors %+v", rep.Cursors)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Command != "pull" || rep.Runs[0].Result != "partial" || rep.Runs[0].Counters["orders"] != 12 || rep.Runs[0].EndedAt == nil {
		t.Errorf("runs %+v", rep.Runs)
	}
	if rep.LastRuns["pull"].Counters["orders"] != 12 {
		t.Errorf("last_runs %+v", rep.LastRuns)
	}
	if rep.Links != (statusLinks{Orders: 2, Deals: 1, Leads: 1, Customers: 1}) {
		t.Errorf("links %+v", rep.Links)
	}
	if rep.Failures.Parked != 1 || rep.Failures.Pending != 1 || len(rep.Failures.Items) != 2 {
		t.Errorf("failures %+v", rep.Failures)
	}
	if rep.Failures.Items[0].LastError != `unmapped status "weird"` || !rep.Failures.Items[0].Parked || rep.Failures.Items[0].NextAttemptAt != nil {
		t.Errorf("parked failure %+v", rep.Failures.Items[0])
	}
	if next := rep.Failures.Items[1].NextAttemptAt; next == nil || !next.After(time.Now().Add(-time.Minute)) {
		t.Errorf("pending failure has no next attempt: %+v", rep.Failures.Items[1])
	}
	if n := rep.Backlog["orders_history"]; n == nil || *n != 340 {
		t.Errorf("backlog %v", rep.Backlog)
	}
	if rep.Config == nil || rep.Config.BitrixWebhookURL != "https://shop.bitrix24.ru/rest/1/***/" {
		t.Errorf("config %+v", rep.Config)
	}
	if strings.Contains(r.stdout, "statussecret9") || strings.Contains(r.stdout, "rcrm-secret-key-0001") {
		t.Error("status --json shows a secret")
	}

	text := runInProcess(t, "--db", db, "--config", cfg, "status")
	text.mustCode(t, exitOK)
	wantAll(t, "status text", text.stdout, "orders_history", "7137", "pull", "partial", "orders=12", "Links: 2 orders (1 deals, 1 leads), 1 customers",
		"Backlog: about 340", "Failures: parked 2 (1 waiting for a retry, 1 out of attempts)", `unmapped status "weird"`, "https://shop.bitrix24.ru/rest/1/***/")
	failed := runInProcess(t, "--db", db, "--config", cfg, "status", "--failed")
	failed.mustCode(t, exitOK)
	if !strings.Contains(failed.stdout, "order 1050") || !strings.Contains(failed.stdout, "attempts 1") || strings.Contains(failed.stdout, "Cursors") {
		t.Errorf("status --failed:\n%s", failed.stdout)
	}
	// --failed narrows the text form only: the JSON document always holds
	// every failure (status --help, docs/operations.md).
	if j := runInProcess(t, "--db", db, "--config", cfg, "status", "--json", "--failed"); j.code != exitOK || j.stdout != r.stdout {
		t.Errorf("status --json --failed (exit %d) differs from status --json:\n%s", j.code, j.stdout)
	}
}

func TestStatusLeavesDatabaseUnchanged(t *testing.T) {
	t.Parallel()
	dir, db := seededDir(t)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	runInProcess(t, "--db", db, "--config", writeConfig(t, dir, ""), "status", "--json").mustCode(t, exitOK)
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("status changed the database file")
	}
}

func TestRetryAndSkip(t *testing.T) {
	t.Parallel()
	dir, db := seededDir(t)
	cfg := writeConfig(t, dir, "")
	status := func() statusReport { return statusOf(t, cfg, db) }
	rep := status()
	parked := rep.Failures.Items[0].ID
	pending := rep.Failures.Items[1].ID

	r := runInProcess(t, "--db", db, "--config", cfg, "retry")
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "re-queued 1 failure(s)") {
		t.Errorf("retry output %q", r.stdout)
	}
	if rep := status(); rep.Failures.Parked != 0 || rep.Failures.Pending != 2 {
		t.Errorf("after retry: %+v", rep.Failures)
	}

	r = runInProcess(t, "--db", db, "--config", cfg, "skip", itoa(parked), itoa(pending))
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "skipped 2 failure(s)") {
		t.Errorf("skip output %q", r.stdout)
	}
	if rep := status(); len(rep.Failures.Items) != 0 {
		t.Errorf("after skip: %+v", rep.Failures)
	}

	r = runInProcess(t, "--db", db, "--config", cfg, "skip", "999")
	r.mustSay(t, exitError, "no failure with id [999]")
	r = runInProcess(t, "--db", db, "--config", cfg, "retry", itoa(parked))
	r.mustCode(t, exitOK)
	if rep := status(); rep.Failures.Pending != 1 {
		t.Errorf("retry of a skipped id should bring it back: %+v", rep.Failures)
	}
}

// TestStatusOfMigratedReleaseDatabase: the database of the last schema 1
// release, migrated, shows what that release's status showed (its cursors
// block and backlog line, copied from its output): the comment cursors and
// the backlog now come from their own tables.
func TestStatusOfMigratedReleaseDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "release.db")
	data, err := os.ReadFile(filepath.Join("..", "..", "store", "testdata", "schema1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db, store.Options{}) // migrates
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := writeConfig(t, dir, "")

	text := runInProcess(t, "--db", db, "--config", cfg, "status")
	text.mustCode(t, exitOK)
	wantAll(t, "status", text.stdout, `
Cursors:
  customers_history  120         updated 2026-12-06 03:04:42 UTC
  orders_history     310         updated 2026-12-06 03:04:44 UTC
  stagehistory       1539        updated 2026-12-06 03:04:44 UTC
  comments           (per deal)  299 deals followed

Last runs:
`, "\nLinks: 299 orders (299 deals, 0 leads), 87 customers\nBacklog: about 0 order history records at the last pull\n")

	js := runInProcess(t, "--db", db, "--config", cfg, "status", "--json")
	js.mustCode(t, exitOK)
	rep := decodeStatus(t, js)
	if rep.SchemaVersion != store.SupportedSchemaVersion() || rep.CommentCursors != 299 || len(rep.Cursors) != 3 {
		t.Errorf("schema %d, %d comment cursors, cursors %+v", rep.SchemaVersion, rep.CommentCursors, rep.Cursors)
	}
	if n := rep.Backlog["orders_history"]; n == nil || *n != 0 {
		t.Errorf("backlog %v", rep.Backlog)
	}
}

// TestStatusWithBrokenConfigKeepsItsSettings: a configuration with a problem
// elsewhere still names the database status reads and the log format, as
// far as it could be read (flag > environment > file > default).
func TestStatusWithBrokenConfigKeepsItsSettings(t *testing.T) {
	t.Parallel()
	dir, db := seededDir(t)
	cfg := writeConfig(t, dir, "db: "+db+"\nlog_format: json\nbitrix:\n  rate: fast\n")
	r := runInProcess(t, "--config", cfg, "status", "--failed")
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "order 1050") {
		t.Errorf("status did not read the file's database:\n%s\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `"msg":"configuration has problems; showing the database only"`) ||
		!strings.Contains(r.stderr, "bitrix.rate: must be a number, not text (line 4)") {
		t.Errorf("the warning is not logged as JSON with the problem:\n%s", r.stderr)
	}
	// A flag still beats the file.
	other := filepath.Join(dir, "flag.db")
	r = runInProcess(t, "--config", cfg, "--db", other, "--log-format", "text", "status", "--failed")
	r.mustCode(t, exitOK)
	if strings.Contains(r.stdout, "order 1050") || strings.Contains(r.stderr, `"msg"`) {
		t.Errorf("the flags did not win:\n%s\n%s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("status created the database: %v", err)
	}
}

// The text of status lists at most 10 groups of each kind of duplicate and
// points to the --json field for the rest: deals, leads and contacts by
// order or customer, companies by corporate customer or legal buyer.
func TestStatusTextListsDuplicates(t *testing.T) {
	t.Parallel()
	rep := &statusReport{Database: "c.db", Exists: true, SchemaVersion: 1}
	for i := range int64(12) {
		if i < 11 {
			rep.Duplicates = append(rep.Duplicates, statusDuplicate{Entity: "deal", OriginID: 100 + i, KeptID: 1000 + i, Others: []int64{2000 + i}})
		}
		origin := itoa(300 + i)
		if i == 1 {
			origin = "inn:7707083893:773601001"
		}
		rep.CompanyDuplicates = append(rep.CompanyDuplicates, statusCompanyDuplicate{OriginID: origin, KeptID: 30 + i, Others: []int64{40 + i, 50 + i}})
	}
	var b strings.Builder
	writeStatusText(&b, rep, false)
	got := b.String()
	start := strings.Index(got, "Duplicates in Bitrix24")
	if start < 0 {
		t.Fatalf("no duplicates listed:\n%s", got)
	}
	got = got[start:]
	if end := strings.Index(got, "\n\n"); end >= 0 {
		got = got[:end+1]
	}
	if got != statusDuplicatesText {
		t.Errorf("status text lists the duplicates as\n%s\nwant\n%s", got, statusDuplicatesText)
	}
}

const statusDuplicatesText = `Duplicates in Bitrix24: 11 ORIGIN_ID(s) carried by several entities; crmsync uses the oldest, merge or delete the others
  deal of order 100: uses 1000; 1 other(s): 2000
  deal of order 101: uses 1001; 1 other(s): 2001
  deal of order 102: uses 1002; 1 other(s): 2002
  deal of order 103: uses 1003; 1 other(s): 2003
  deal of order 104: uses 1004; 1 other(s): 2004
  deal of order 105: uses 1005; 1 other(s): 2005
  deal of order 106: uses 1006; 1 other(s): 2006
  deal of order 107: uses 1007; 1 other(s): 2007
  deal of order 108: uses 1008; 1 other(s): 2008
  deal of order 109: uses 1009; 1 other(s): 2009
  ... 1 more: crmsync status --json | jq .duplicates
Duplicate companies in Bitrix24: 12 ORIGIN_ID(s) carried by several companies; crmsync uses the oldest, merge or delete the others
  company of corporate customer 300: uses 30; 2 other(s): 40, 50
  company of inn:7707083893:773601001: uses 31; 2 other(s): 41, 51
  company of corporate customer 302: uses 32; 2 other(s): 42, 52
  company of corporate customer 303: uses 33; 2 other(s): 43, 53
  company of corporate customer 304: uses 34; 2 other(s): 44, 54
  company of corporate customer 305: uses 35; 2 other(s): 45, 55
  company of corporate customer 306: uses 36; 2 other(s): 46, 56
  company of corporate customer 307: uses 37; 2 other(s): 47, 57
  company of corporate customer 308: uses 38; 2 other(s): 48, 58
  company of corporate customer 309: uses 39; 2 other(s): 49, 59
  ... 2 more: crmsync status --json | jq .company_duplicates
`

// TestRetryRecreatesADeletedDeal: a deal deleted in Bitrix24 parks its
// order (exit 3, the reason naming the deal) and later pulls leave it so;
// crmsync retry with the failure's id lets the next pull make a new deal.
func TestRetryRecreatesADeletedDeal(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	bx := f.bx
	dir, cfg, db := workFiles(t, f.pullConfig())
	crmsync := func(args ...string) result {
		return runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
	}
	o := f.order("Anna", "anna@example.com", 100)
	crmsync("pull").mustCode(t, exitOK)
	if len(bx.Deals()) != 1 {
		t.Fatalf("%d deals", len(bx.Deals()))
	}
	gone := bx.Deals()[0].ID
	if err := bx.DeleteDeal(gone); err != nil {
		t.Fatal(err)
	}
	for _, total := range []int64{110, 120} {
		f.setTotal(t, o.ID, total)
		r := crmsync("pull")
		r.mustCode(t, exitParked)
		if len(bx.Deals()) != 0 {
			t.Fatalf("pull re-created the deleted deal")
		}
	}
	r := crmsync("status", "--failed", "--json")
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "deal "+itoa(gone)+" was deleted in Bitrix24") {
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
	crmsync("retry", itoa(fs[0].ID)).mustCode(t, exitOK)
	crmsync("pull").mustCode(t, exitOK)
	ds := bx.Deals()
	if len(ds) != 1 || ds[0].ID == gone || ds[0].Str("ORIGIN_ID") != itoa(o.ID) || ds[0].Str("OPPORTUNITY") != "120.00" {
		t.Fatalf("deals after retry: %+v", ds)
	}
	crmsync("pull").mustCode(t, exitOK)
	if len(bx.Deals()) != 1 {
		t.Errorf("%d deals after one more pull", len(bx.Deals()))
	}
}
