package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
)

// portalWrites counts the write commands the fake portal ran.
func (f fakes) portalWrites() int {
	s := f.bx.Stats()
	n := 0
	for m, c := range s.CommandsPerMethod {
		if !bitrix.IsReadMethod(m) && m != "batch" {
			n += c
		}
	}
	for m, c := range s.PerMethod {
		if !bitrix.IsReadMethod(m) && m != "batch" {
			n += c
		}
	}
	return n
}

// dbFiles is the database file and its write-ahead log as they are on disk.
func dbFiles(t *testing.T, db string) [2][]byte {
	t.Helper()
	var out [2][]byte
	for i, p := range []string{db, db + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// A dry run of pull, backfill and push against a database that exists reads
// both sides and prints the plan (text as in the docs' example, or the JSON
// document), writes nothing to either API and leaves the database file
// byte for byte as it was, cursors included; the real run then does what
// the dry run announced.
func TestDryRunLeavesTheDatabaseAsItWas(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	_, cfg, db := workFiles(t, f.pullConfig())
	run := func(args ...string) result {
		return runInProcess(t, append([]string{"--config", cfg, "--db", db}, args...)...)
	}
	a := f.order("Anna", "anna@example.com", 1500)
	f.order("Boris", "boris@example.com", 200)
	run("pull").mustCode(t, exitOK)
	deal := f.bx.Deals()[0].ID

	f.setTotal(t, a.ID, 1450)
	c := f.order("Clara", "clara@example.com", 1890)
	files := dbFiles(t, db)
	cursors := statusOf(t, cfg, db).Cursors
	writes, edits := f.portalWrites(), f.rc.Requests("/api/v5/orders/{id}/edit")

	r := run("pull", "--dry-run", "--detailed-exitcode")
	r.mustCode(t, exitUsage)
	wantAll(t, "pull --dry-run", r.stdout,
		"~ deal    order "+a.Number+" (#"+itoa(deal)+")", "OPPORTUNITY: 1500.00 → 1450.00",
		"+ deal    order "+c.Number+" (site ", "OPPORTUNITY=1890.00 RUB",
		"+ contact customer ", `NAME="Clara" EMAIL=clara@example.com`)
	if !regexp.MustCompile(`(?m)^= \d+ orders unchanged$`).MatchString(r.stdout) {
		t.Errorf("the report lacks its '= N orders unchanged' line:\n%s", r.stdout)
	}
	j := run("pull", "--dry-run", "--json")
	j.mustCode(t, exitOK)
	doc := decodeJSON[map[string]any](t, j, "pull --dry-run")
	if changes, _ := doc["changes"].([]any); doc["dry_run"] != true || len(changes) == 0 {
		t.Errorf("pull --dry-run --json is no dry run's report with changes:\n%s", j.stdout)
	}
	run("backfill", "--dry-run").mustCode(t, exitOK)
	run("push", "--dry-run").mustCode(t, exitOK)

	if got := dbFiles(t, db); !bytes.Equal(got[0], files[0]) || !bytes.Equal(got[1], files[1]) {
		t.Error("a dry run changed the database file")
	}
	if got := statusOf(t, cfg, db).Cursors; len(got) != len(cursors) {
		t.Errorf("cursors %+v, were %+v", got, cursors)
	} else {
		for i := range got {
			if got[i].Name != cursors[i].Name || got[i].Value != cursors[i].Value {
				t.Errorf("cursor %s = %s, was %s", got[i].Name, got[i].Value, cursors[i].Value)
			}
		}
	}
	if w, e := f.portalWrites()-writes, f.rc.Requests("/api/v5/orders/{id}/edit")-edits; w != 0 || e != 0 {
		t.Errorf("dry runs wrote %d commands to Bitrix24 and %d order edits to RetailCRM", w, e)
	}

	run("pull").mustCode(t, exitOK)
	if len(f.bx.Deals()) != 3 {
		t.Errorf("%d deals after the real run, want 3", len(f.bx.Deals()))
	}
	r = run("pull", "--dry-run", "--detailed-exitcode")
	r.mustCode(t, exitOK)
	if strings.Contains(r.stdout, "+ ") || strings.Contains(r.stdout, "~ ") {
		t.Errorf("changes still pending after the real run:\n%s", r.stdout)
	}
}

// --max-items stops a pull after that many orders and says why; the next
// run goes on from there.
func TestPullMaxItems(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	_, cfg, db := workFiles(t, f.pullConfig())
	f.buyers(1, 3)
	r := runInProcess(t, "--config", cfg, "--db", db, "pull", "--max-items", "1")
	r.mustSay(t, exitOK, "stopped early: max-items")
	if n := len(f.bx.Deals()); n != 1 {
		t.Errorf("%d deals after --max-items 1, want 1", n)
	}
	runInProcess(t, "--config", cfg, "--db", db, "pull", "--max-duration", "1h").mustCode(t, exitOK)
	if n := len(f.bx.Deals()); n != 3 {
		t.Errorf("%d deals after the next run, want 3", n)
	}
}
