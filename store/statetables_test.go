package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// schema1DB was written by the last release of schema 1 against the
// sandbox shop, with rules and purchase profile fields: 299 "profile:" and
// 299 "comments:" cursors, 684 rule fires, pull and push runs with
// counters. Tests open copies of it, never the file itself.
const schema1DB = "testdata/schema1.db"

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawQuery runs fn on the file through a plain connection of its own.
func rawQuery(t *testing.T, path string, fn func(db *sql.DB) error) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fn(db); err != nil {
		t.Fatal(err)
	}
}

// oldState is what the key-value rows of a schema 1-3 database say, read
// with plain SQL and decoded the way the release did.
type oldState struct {
	profiles     map[int64]ProfileContribution // by order id
	comments     map[int64]int64               // last comment id by deal id
	cursors      []Cursor                      // the other cursors
	alerts       [][3]string                   // command, kind, day
	ruleFires    int64                         // the rule fires that are not run alerts
	backlog      map[string]int64              // backlog counter of each command's latest run
	pushComplete time.Time                     // start of the latest complete push run
	runs         string                        // every run, as stored
}

func readOldState(t *testing.T, path string) oldState {
	t.Helper()
	st := oldState{profiles: map[int64]ProfileContribution{}, comments: map[int64]int64{}, backlog: map[string]int64{}}
	rawQuery(t, path, func(db *sql.DB) error {
		rows, err := db.Query(`SELECT name, value, updated_at FROM cursors ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Cursor
			var at int64
			if err := rows.Scan(&c.Name, &c.Value, &at); err != nil {
				return err
			}
			c.UpdatedAt = fromMS(at)
			switch {
			case strings.HasPrefix(c.Name, "profile:"):
				cust, _, _ := strings.Cut(strings.TrimPrefix(c.Name, "profile:"), ":")
				var v struct {
					O int64  `json:"o"`
					C bool   `json:"c"`
					A string `json:"a"`
					T string `json:"t"`
					N string `json:"n"`
				}
				if err := json.Unmarshal([]byte(c.Value), &v); err != nil {
					return fmt.Errorf("%s: %w", c.Name, err)
				}
				id, err := strconv.ParseInt(cust, 10, 64)
				if err != nil {
					return fmt.Errorf("%s: %w", c.Name, err)
				}
				st.profiles[v.O] = ProfileContribution{OrderID: v.O, CustomerID: id, Counted: v.C, Amount: v.A, CreatedAt: v.T, Number: v.N}
			case strings.HasPrefix(c.Name, "comments:"):
				deal, err := strconv.ParseInt(strings.TrimPrefix(c.Name, "comments:"), 10, 64)
				if err != nil {
					return fmt.Errorf("%s: %w", c.Name, err)
				}
				if st.comments[deal], err = strconv.ParseInt(c.Value, 10, 64); err != nil {
					return fmt.Errorf("%s: %w", c.Name, err)
				}
			default:
				st.cursors = append(st.cursors, c)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = db.Query(`SELECT event_key FROM rule_fires WHERE rule_key = 'builtin:run-alert' ORDER BY event_key`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				return err
			}
			parts := strings.Split(key, ":")
			st.alerts = append(st.alerts, [3]string{parts[0], parts[1], parts[2]})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := db.QueryRow(`SELECT count(*) FROM rule_fires WHERE rule_key <> 'builtin:run-alert'`).Scan(&st.ruleFires); err != nil {
			return err
		}
		if err := db.QueryRow(`SELECT group_concat(id || ' ' || command || ' ' || result || ' ' || counters, char(10)) FROM runs`).Scan(&st.runs); err != nil {
			return err
		}
		rows, err = db.Query(`SELECT id, command, started_at, result, counters FROM runs ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		pushRuns := 0
		for rows.Next() {
			var id, started int64
			var command, result, counters string
			if err := rows.Scan(&id, &command, &started, &result, &counters); err != nil {
				return err
			}
			var c map[string]int64
			if err := json.Unmarshal([]byte(counters), &c); err != nil {
				return err
			}
			if n, ok := c["backlog"]; ok {
				st.backlog[command] = n
			} else {
				delete(st.backlog, command)
			}
			if command == "push" {
				pushRuns++
				if (result == "ok" || result == "partial") && c["comments_complete"] == 1 {
					st.pushComplete = fromMS(started)
				}
			}
		}
		if pushRuns > 50 {
			return fmt.Errorf("%d push runs: the release looked at the last 50 only", pushRuns)
		}
		return rows.Err()
	})
	return st
}

// dump is every row of every table, to compare two opens.
func dump(t *testing.T, path string) string {
	t.Helper()
	var b strings.Builder
	rawQuery(t, path, func(db *sql.DB) error {
		var v int
		if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
			return err
		}
		fmt.Fprintf(&b, "user_version %d\n", v)
		rows, err := db.Query(`SELECT name, sql FROM sqlite_schema WHERE type IN ('table', 'index') ORDER BY name`)
		if err != nil {
			return err
		}
		var tables []string
		for rows.Next() {
			var name string
			var text sql.NullString
			if err := rows.Scan(&name, &text); err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s\n", text.String)
			if strings.HasPrefix(text.String, "CREATE TABLE") {
				tables = append(tables, name)
			}
		}
		rows.Close()
		for _, table := range tables {
			cols, err := columns(db, table)
			if err != nil {
				return err
			}
			list := strings.Join(cols, ", ")
			var all sql.NullString
			q := fmt.Sprintf(`SELECT json_group_array(json_array(%s)) FROM (SELECT * FROM %q ORDER BY %s)`, list, table, list)
			if err := db.QueryRow(q).Scan(&all); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			fmt.Fprintf(&b, "%s: %s\n", table, all.String)
		}
		return nil
	})
	return b.String()
}

func columns(db *sql.DB, table string) ([]string, error) {
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%q", c))
	}
	return out, rows.Err()
}

// TestUpgradeFromReleaseSchema1: the database of the last schema 1 release
// opens with this store at the newest schema, and every key-value row it
// held is in its table with the same meaning.
func TestUpgradeFromReleaseSchema1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	copyFile(t, schema1DB, path)
	// The release's sandbox runs never failed outright, so it holds no
	// run-alert rows: two are added as that release wrote them.
	rawExec(t, path, `INSERT INTO rule_fires (rule_key, event_key, action, result_id, fired_at) VALUES
		('builtin:run-alert', 'pull:bitrix-auth:2026-09-10', 'notify', '', 1789000000000),
		('builtin:run-alert', 'push:other-0a1b2c3d4e5f:2026-09-11', 'notify', '', 1789100000000)`)
	old := readOldState(t, path)
	if len(old.profiles) != 299 || len(old.comments) != 299 || old.ruleFires != 684 || len(old.alerts) != 2 {
		t.Fatalf("the release file holds %d profile rows, %d comment cursors, %d rule fires, %d alerts; want 299, 299, 684, 2",
			len(old.profiles), len(old.comments), old.ruleFires, len(old.alerts))
	}
	if old.pushComplete.IsZero() || len(old.backlog) == 0 || len(old.cursors) != 3 {
		t.Fatalf("the release file lacks runs or cursors: %+v %v %v", old.backlog, old.pushComplete, old.cursors)
	}
	var rows, v1 int64
	rawQuery(t, path, func(db *sql.DB) error {
		return db.QueryRow(`SELECT (SELECT count(*) FROM cursors), (SELECT user_version FROM pragma_user_version)`).Scan(&rows, &v1)
	})
	if v1 != 1 || rows != 3+299+299 {
		t.Fatalf("release file: schema %d, %d cursors", v1, rows)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != SupportedSchemaVersion() {
		t.Fatalf("schema %d %v, want %d", v, err, SupportedSchemaVersion())
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}

	// Purchase profiles: every order's entry, under its customer.
	byCustomer := map[int64][]ProfileContribution{}
	for _, p := range old.profiles {
		byCustomer[p.CustomerID] = append(byCustomer[p.CustomerID], p)
	}
	total := 0
	for cust, want := range byCustomer {
		slices.SortFunc(want, func(a, b ProfileContribution) int { return int(a.OrderID - b.OrderID) })
		got, err := s.ProfileContributions(ctx, cust)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("customer %d profile (-release +migrated):\n%s", cust, diff)
		}
		total += len(got)
	}
	if total != 299 {
		t.Errorf("%d profile contributions, want 299", total)
	}
	// A few values as the release file spells them.
	for _, c := range []struct {
		cust int64
		want ProfileContribution
	}{
		{4, ProfileContribution{OrderID: 1, CustomerID: 4, Counted: true, Amount: "13920", CreatedAt: "2026-09-09 15:04:39", Number: "1001A"}},
		{83, ProfileContribution{OrderID: 2, CustomerID: 83, Counted: false, Amount: "4389.99", CreatedAt: "2026-09-09 22:04:39", Number: "1002A"}},
	} {
		got, _ := s.ProfileContributions(ctx, c.cust)
		if !slices.Contains(got, c.want) {
			t.Errorf("customer %d: %+v lacks %+v", c.cust, got, c.want)
		}
	}

	// Comment cursors: the same last comment id per deal.
	deals := make([]int64, 0, len(old.comments))
	for id := range old.comments {
		deals = append(deals, id)
	}
	got, err := s.CommentCursors(ctx, EntityDeal, deals)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(old.comments, got); diff != "" {
		t.Errorf("comment cursors (-release +migrated):\n%s", diff)
	}
	if got[1] != 950 || got[5] != 955 {
		t.Errorf("deal 1 at %d, deal 5 at %d; the release file says 950, 955", got[1], got[5])
	}
	if n, err := s.CountCommentCursors(ctx); err != nil || n != 299 {
		t.Errorf("CountCommentCursors = %d %v", n, err)
	}
	if leads, _ := s.CommentCursors(ctx, EntityLead, deals); len(leads) != 0 {
		t.Errorf("lead cursors from deal rows: %v", leads)
	}

	// The cursors table keeps the streams' positions only.
	cursors, err := s.Cursors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(old.cursors, cursors); diff != "" {
		t.Errorf("cursors (-release +migrated):\n%s", diff)
	}

	// Run state: the latest pull's backlog, the latest complete push.
	for command, n := range old.backlog {
		st, err := s.RunState(ctx, command)
		if err != nil || !st.BacklogKnown || st.Backlog != n {
			t.Errorf("%s state %+v %v, want backlog %d", command, st, err, n)
		}
	}
	if st, err := s.RunState(ctx, "push"); err != nil || !st.CommentsCompleteAt.Equal(old.pushComplete) || st.BacklogKnown {
		t.Errorf("push state %+v %v, want comments complete at %v", st, err, old.pushComplete)
	}

	// Alerts: sent ones stay sent; the other rule fires stay put.
	for _, a := range old.alerts {
		if sent, err := s.AlertSent(ctx, a[0], a[1], a[2]); err != nil || !sent {
			t.Errorf("alert %v not marked: %v", a, err)
		}
	}
	if sent, _ := s.AlertSent(ctx, "pull", "bitrix-auth", "2026-09-11"); sent {
		t.Error("an alert of another day is marked")
	}
	var fires, alertFires int64
	var runs string
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(rule_key = 'builtin:run-alert'), 0) FROM rule_fires`).Scan(&fires, &alertFires); err != nil {
		t.Fatal(err)
	}
	if fires != old.ruleFires || alertFires != 0 {
		t.Errorf("%d rule fires (%d run alerts), want %d (0)", fires, alertFires, old.ruleFires)
	}
	// The runs and their counters, the runs' report, are untouched.
	if err := s.db.QueryRowContext(ctx, `SELECT group_concat(id || ' ' || command || ' ' || result || ' ' || counters, char(10)) FROM runs`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != old.runs {
		t.Errorf("runs changed:\n%s\nwant\n%s", runs, old.runs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A second open changes nothing.
	before := dump(t, path)
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after := dump(t, path); after != before {
		t.Errorf("the second open changed the database:\n%s", cmp.Diff(before, after))
	}
}

// TestMigrationOfOddRows: rows the release could leave that the release
// file does not show. An order with profile rows under two customers keeps
// the newest; rows the release's readers skipped or failed on are dropped;
// a comment cursor goes to the entity type its orders link (both when a
// deal and a lead share the id); push's state comes from its latest
// finished complete run; unreadable alert keys are dropped.
func TestMigrationOfOddRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openOldSchema(t, 3,
		`INSERT INTO cursors (name, value, updated_at) VALUES
			('orders_history', '7137', 1),
			('profile:5:100', '{"o":100,"c":true,"a":"10.50","t":"2026-01-01 10:00:00","n":"100A"}', 10),
			('profile:6:100', '{"o":100,"c":false,"a":"12","t":"2026-01-01 10:00:00","n":"100A"}', 20),
			('profile:7:101', 'not json', 10),
			('profile:7:102', '{"o":0,"c":true,"a":"1"}', 10),
			('profile:7:103', '{"o":103,"c":true,"a":"3"}', 10),
			('comments:10', '50', 5), ('comments:11', '60', 5), ('comments:12', '70', 5),
			('comments:x', '1', 5), ('comments:13', 'abc', 5)`,
		`INSERT INTO order_links (order_id, entity_type, entity_id, synced_at) VALUES
			(1, 'lead', 10, 0), (2, 'deal', 12, 0), (3, 'lead', 12, 0), (4, 'deal', 99, 0)`,
		`INSERT INTO runs (id, command, started_at, ended_at, result, counters) VALUES
			(1, 'pull', 100, 101, 'ok', '{"backlog":5}'),
			(2, 'push', 200, 201, 'ok', '{"comments_complete":1}'),
			(3, 'push', 300, 301, 'partial', '{"comments_complete":1}'),
			(4, 'pull', 400, 401, 'failed', '{"backlog":340,"parked":0}'),
			(5, 'push', 500, 501, 'failed', '{"comments_complete":1}'),
			(6, 'push', 600, 601, 'ok', '{"comments_complete":0}'),
			(7, 'backfill', 700, NULL, 'running', '{}')`,
		`INSERT INTO rule_fires (rule_key, event_key, action, result_id, fired_at) VALUES
			('builtin:run-alert', 'pull:retailcrm-auth:2026-01-02', 'notify', '', 9),
			('builtin:run-alert', 'junk', 'notify', '', 9),
			('rules[0]', 'order:1:created', 'task', '77', 9)`)

	for cust, want := range map[int64][]ProfileContribution{
		5: nil,
		6: {{OrderID: 100, CustomerID: 6, Amount: "12", CreatedAt: "2026-01-01 10:00:00", Number: "100A"}},
		7: {{OrderID: 103, CustomerID: 7, Counted: true, Amount: "3"}},
	} {
		got, err := s.ProfileContributions(ctx, cust)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("customer %d: %+v %v, want %+v", cust, got, err, want)
		}
	}
	for et, want := range map[EntityType]map[int64]int64{EntityDeal: {11: 60, 12: 70}, EntityLead: {10: 50, 12: 70}} {
		got, err := s.CommentCursors(ctx, et, []int64{10, 11, 12, 13})
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("%s cursors %v %v, want %v", et, got, err, want)
		}
	}
	cursors, _ := s.Cursors(ctx)
	if len(cursors) != 1 || cursors[0].Name != CursorOrdersHistory {
		t.Errorf("cursors %+v", cursors)
	}
	for command, want := range map[string]RunState{
		"pull":     {Command: "pull", Backlog: 340, BacklogKnown: true, RunID: 4},
		"push":     {Command: "push", CommentsCompleteAt: fromMS(300), RunID: 3},
		"backfill": {Command: "backfill"},
	} {
		if got, err := s.RunState(ctx, command); err != nil || !cmp.Equal(got, want) {
			t.Errorf("%s state %+v %v, want %+v", command, got, err, want)
		}
	}
	if sent, _ := s.AlertSent(ctx, "pull", "retailcrm-auth", "2026-01-02"); !sent {
		t.Error("alert not migrated")
	}
	var fires int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM rule_fires`).Scan(&fires); err != nil || fires != 1 {
		t.Errorf("%d rule fires left, want 1: %v", fires, err)
	}
	if _, ok, _ := s.RuleFired(ctx, "rules[0]", "order:1:created", "task"); !ok {
		t.Error("a rule's fire was lost")
	}
}

func TestStateTables(t *testing.T) {
	ctx, s, clk := newStoreTest(t)

	// Profile contributions: one per order; moving an order to another
	// customer moves its contribution.
	mustTx(t, s, func(tx *Tx) error {
		return putEach(ctx, tx, (*Tx).PutProfileContribution, []ProfileContribution{
			{OrderID: 1, CustomerID: 5, Counted: true, Amount: "10.50", CreatedAt: "2026-01-01 10:00:00", Number: "1A"},
			{OrderID: 2, CustomerID: 5, Amount: "3"},
			{OrderID: 3, CustomerID: 6, Counted: true, Amount: "7"},
			{OrderID: 2, CustomerID: 6, Counted: true, Amount: "4"},
		})
	})
	if got, _ := s.ProfileContributions(ctx, 5); len(got) != 1 || got[0].OrderID != 1 || got[0].Amount != "10.50" {
		t.Errorf("customer 5: %+v", got)
	}
	if got, _ := s.ProfileContributions(ctx, 6); len(got) != 2 || got[0] != (ProfileContribution{OrderID: 2, CustomerID: 6, Counted: true, Amount: "4"}) {
		t.Errorf("customer 6: %+v", got)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.PutProfileContribution(ctx, ProfileContribution{CustomerID: 5}) }); err == nil {
		t.Error("a contribution without an order accepted")
	}

	// Comment cursors, per entity type.
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetCommentCursor(ctx, EntityDeal, 10, 100); err != nil {
			return err
		}
		if err := tx.SetCommentCursor(ctx, EntityLead, 10, 5); err != nil {
			return err
		}
		return tx.SetCommentCursor(ctx, "", 10, 101) // "" is a deal
	})
	if got, _ := s.CommentCursors(ctx, EntityDeal, []int64{10, 11}); !cmp.Equal(got, map[int64]int64{10: 101}) {
		t.Errorf("deal cursors %v", got)
	}
	if n, _ := s.CountCommentCursors(ctx); n != 2 {
		t.Errorf("%d comment cursors", n)
	}

	// Run state: each run replaces what it leaves and keeps the rest.
	if st, err := s.RunState(ctx, "push"); err != nil || st != (RunState{Command: "push"}) {
		t.Errorf("state before any run %+v %v", st, err)
	}
	finish := func(command string, result RunResult, leaves RunLeaves) (int64, time.Time) {
		t.Helper()
		started := clk.Now()
		id, err := s.StartRun(ctx, command, 1)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		if err := s.FinishRunLeaving(ctx, id, result, map[string]int64{"x": 1}, "", leaves); err != nil {
			t.Fatal(err)
		}
		return id, started
	}
	n := int64(340)
	id1, _ := finish("pull", RunOK, RunLeaves{Backlog: &n})
	id2, started2 := finish("push", RunOK, RunLeaves{CommentsComplete: true})
	id3, _ := finish("push", RunPartial, RunLeaves{})
	zero := int64(0)
	id4, _ := finish("pull", RunFailed, RunLeaves{Backlog: &zero})
	if st, _ := s.RunState(ctx, "pull"); st != (RunState{Command: "pull", BacklogKnown: true, RunID: id4}) {
		t.Errorf("pull state %+v (runs %d, %d)", st, id1, id4)
	}
	if st, _ := s.RunState(ctx, "push"); !st.CommentsCompleteAt.Equal(started2) || st.RunID != id2 || st.BacklogKnown {
		t.Errorf("push state %+v, want complete at %v by run %d (run %d leaves nothing)", st, started2, id2, id3)
	}
	if run, _ := s.Run(ctx, id3); run.Result != RunPartial || run.Counters["x"] != 1 {
		t.Errorf("run %+v", run)
	}
	if err := s.FinishRunLeaving(ctx, 999, RunOK, nil, "", RunLeaves{Backlog: &n}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
	if st, _ := s.RunState(ctx, "pull"); st.Backlog != 0 {
		t.Errorf("an unknown run changed the state: %+v", st)
	}

	// Alert marks: once per command, kind and day.
	for i, want := range []bool{true, false} {
		var got bool
		mustTx(t, s, func(tx *Tx) error {
			var err error
			got, err = tx.MarkAlertSent(ctx, "pull", "bitrix-auth", "2026-11-29")
			return err
		})
		if got != want {
			t.Errorf("MarkAlertSent #%d = %v", i, got)
		}
	}
	for _, k := range [][3]string{{"push", "bitrix-auth", "2026-11-29"}, {"pull", "bitrix-server", "2026-11-29"}, {"pull", "bitrix-auth", "2026-11-30"}} {
		if sent, _ := s.AlertSent(ctx, k[0], k[1], k[2]); sent {
			t.Errorf("%v marked", k)
		}
	}
	if sent, _ := s.AlertSent(ctx, "pull", "bitrix-auth", "2026-11-29"); !sent {
		t.Error("alert not marked")
	}
}

func TestCommentSweepAndOpenLinks(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	mustTx(t, s, func(tx *Tx) error {
		return putEach(ctx, tx, (*Tx).PutOrderLink, []OrderLink{
			{OrderID: 1, EntityID: 10, StatusGroup: "new"},
			{OrderID: 2, EntityID: 20, StatusGroup: "complete"},
			{OrderID: 3, EntityID: 30, StatusGroup: "cancel"},
			{OrderID: 4, EntityID: 40}, // group unknown: open
			{OrderID: 5, EntityID: 40, StatusGroup: "approval"},
			{OrderID: 6, EntityID: 50, StatusGroup: "delivery"},
			{OrderID: 7, EntityType: EntityLead, EntityID: 60, StatusGroup: "new"},
		})
	})
	if l, _, err := s.OrderLink(ctx, 2); err != nil || l.StatusGroup != "complete" {
		t.Errorf("link %+v %v", l, err)
	}
	final := []string{"complete", "cancel"}
	for _, tc := range []struct {
		et    EntityType
		after int64
		limit int
		want  []int64
	}{
		{EntityDeal, 0, 10, []int64{10, 40, 50}},
		{EntityDeal, 10, 1, []int64{40}},
		{EntityDeal, 50, 10, nil},
		{EntityLead, 0, 10, []int64{60}},
	} {
		got, err := s.SweepEntities(ctx, tc.et, tc.after, tc.limit, final)
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("SweepEntities(%s, %d, %d) = %v, %v; want %v", tc.et, tc.after, tc.limit, got, err, tc.want)
		}
	}
	if pos, err := s.CommentSweep(ctx, EntityDeal); err != nil || pos != 0 {
		t.Errorf("position before any sweep %d %v", pos, err)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityDeal, 40) })
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityDeal, 50) })
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityLead, 60) })
	if pos, err := s.CommentSweep(ctx, EntityDeal); err != nil || pos != 50 {
		t.Errorf("deal position %d %v, want 50", pos, err)
	}
	if pos, err := s.CommentSweep(ctx, EntityLead); err != nil || pos != 60 {
		t.Errorf("lead position %d %v, want 60", pos, err)
	}
}

// A database of schema 1 gains the sweep table and the links' status
// group; its links read as of unknown group (swept).
func TestUpgradeFromSchema1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openOldSchema(t, 1, `INSERT INTO order_links (order_id, entity_type, entity_id, synced_at) VALUES (1, 'deal', 10, 0)`)
	if v, _ := s.SchemaVersion(ctx); v != SupportedSchemaVersion() {
		t.Errorf("schema %d", v)
	}
	if got, err := s.SweepEntities(ctx, EntityDeal, 0, 10, []string{"complete"}); err != nil || !cmp.Equal(got, []int64{10}) {
		t.Errorf("SweepEntities = %v, %v", got, err)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityDeal, 10) })
}

// UnreadOwnWrites: linked deals with a crmsync write later than push's
// last read of their comments (less the slack), a deal's first write (its
// creation) not counting while push never read it; newest writes first.
func TestUnreadOwnWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := openTest(t, Options{Now: clock})
	at := func(min int) time.Time { return now.Add(time.Duration(min) * time.Minute) }
	write := func(entity string, deal int64, min int) {
		mustTx(t, s, func(tx *Tx) error {
			return tx.AddLedger(ctx, LedgerEntry{Side: SideBitrix, Entity: entity, EntityID: deal, Field: "F", Value: "v", WrittenAt: at(min)})
		})
	}
	mustTx(t, s, func(tx *Tx) error {
		for _, id := range []int64{10, 20, 30, 40, 50, 60} {
			if err := tx.PutOrderLink(ctx, OrderLink{OrderID: id, EntityID: id, StatusGroup: "complete"}); err != nil {
				return err
			}
		}
		return nil
	})
	write("deal", 10, -60) // created only: nothing before it to hide
	write("deal", 20, -60) // created, then commented on
	write("comment", 20, -50)
	write("deal", 30, -60) // read after its last write
	write("comment", 30, -40)
	write("deal", 40, -60) // written again after the read
	write("comment", 40, -20)
	write("deal", 50, -60) // written just before the read: within the slack
	write("comment", 50, -32)
	write("comment", 70, -10)        // not linked
	write("deal", 60, -60*24*8)      // beyond the horizon
	write("comment", 60, -60*24*8+1) //
	mustTx(t, s, func(tx *Tx) error {
		return tx.AddLedger(ctx, LedgerEntry{Side: SideRetailCRM, Entity: "comment", EntityID: 10, Field: "F", Value: "v", WrittenAt: at(-5)})
	})
	now = at(-30)
	mustTx(t, s, func(tx *Tx) error {
		for _, id := range []int64{30, 40, 50} {
			if err := tx.SetCommentCursor(ctx, EntityDeal, id, 1); err != nil {
				return err
			}
		}
		return nil
	})
	now = at(0)
	got, err := s.UnreadOwnWrites(ctx, EntityDeal, []string{"deal", "comment"}, at(-7*24*60), 5*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{40, 50, 20}, got); diff != "" {
		t.Errorf("unread own writes (-want +got):\n%s", diff)
	}
	if got, _ := s.UnreadOwnWrites(ctx, EntityDeal, []string{"deal", "comment"}, at(-7*24*60), 5*time.Minute, 1); !cmp.Equal(got, []int64{40}) {
		t.Errorf("limit 1: %v", got)
	}
}

// TestBitrixBudgetPerPortal: the level is kept per portal, the last write
// wins, and it survives a reopen; a portal never recorded has none.
func TestBitrixBudgetPerPortal(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.PutBitrixBudget(ctx, "a.bitrix24.ru", 5, at); err != nil {
			return err
		}
		if err := tx.PutBitrixBudget(ctx, "a.bitrix24.ru", 2.25, at.Add(time.Second)); err != nil {
			return err
		}
		if err := tx.PutBitrixBudget(ctx, "b.bitrix24.ru:8443", 1, at); err != nil {
			return err
		}
		if err := tx.PutBitrixBudget(ctx, "", 1, at); err == nil {
			t.Error("an unnamed portal was accepted")
		}
		return nil
	})
	s = reopen(t, s, Options{ReadOnly: true})
	for _, tc := range []struct {
		portal string
		level  float64
		at     time.Time
		ok     bool
	}{
		{"a.bitrix24.ru", 2.25, at.Add(time.Second), true},
		{"b.bitrix24.ru:8443", 1, at, true},
		{"c.bitrix24.ru", 0, time.Time{}, false},
	} {
		level, got, ok, err := s.BitrixBudget(ctx, tc.portal)
		if err != nil || level != tc.level || !got.Equal(tc.at) || ok != tc.ok {
			t.Errorf("%s: %v at %v ok %v err %v; want %v at %v ok %v", tc.portal, level, got, ok, err, tc.level, tc.at, tc.ok)
		}
	}
}

// TestReferencesReplaceAndKeepFetchTime: a dictionary is replaced whole (an
// entry gone from RetailCRM is gone here), an empty one is still recorded
// as read, and what was read when survives a reopen.
func TestReferencesReplaceAndKeepFetchTime(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.PutReference(ctx, "statuses", []ReferenceEntry{{Code: "new", Name: "Новый", StatusGroup: "new"},
			{Code: "gone", Name: "Старый", StatusGroup: "cancel"}}, at); err != nil {
			return err
		}
		if err := tx.PutReference(ctx, "statuses", []ReferenceEntry{{Code: "new", Name: "Новый", StatusGroup: "new"},
			{Code: "complete", Name: "Выполнен", StatusGroup: "complete"}}, at.Add(time.Hour)); err != nil {
			return err
		}
		if err := tx.PutReference(ctx, "product-statuses", []ReferenceEntry{{Code: "returned", Name: "Возвращен", CancelStatus: true}}, at); err != nil {
			return err
		}
		return tx.PutReference(ctx, "payment-types", nil, at)
	})
	s = reopen(t, s, Options{})
	got, err := s.References(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Reference{
		"statuses": {FetchedAt: at.Add(time.Hour), Entries: map[string]ReferenceEntry{
			"new":      {Code: "new", Name: "Новый", StatusGroup: "new"},
			"complete": {Code: "complete", Name: "Выполнен", StatusGroup: "complete"}}},
		"product-statuses": {FetchedAt: at, Entries: map[string]ReferenceEntry{
			"returned": {Code: "returned", Name: "Возвращен", CancelStatus: true}}},
		"payment-types": {FetchedAt: at, Entries: map[string]ReferenceEntry{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
}

// TestManagerMatches: a refresh replaces every row (a user gone from the
// lists loses its match); e-mails are stored normalised, unmatched users
// are kept with Bitrix24 user 0.
func TestManagerMatches(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	first := []ManagerMatch{{RetailCRMUserID: 14, BitrixUserID: 40, Email: " Anna@Shop.Example ", Name: "Anna", MatchedAt: at},
		{RetailCRMUserID: 15, Email: "boris@shop.example", Name: "Boris", MatchedAt: at}}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.ReplaceManagerMatches(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.ManagerMatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := got[14]; m.BitrixUserID != 40 || m.Email != "anna@shop.example" || m.Name != "Anna" || !m.MatchedAt.Equal(at) {
		t.Errorf("match of 14 = %+v", m)
	}
	if m, ok := got[15]; !ok || m.BitrixUserID != 0 {
		t.Errorf("unmatched 15 = %+v %v", m, ok)
	}
	if err := s.Tx(ctx, func(tx *Tx) error {
		return tx.ReplaceManagerMatches(ctx, []ManagerMatch{{RetailCRMUserID: 15, BitrixUserID: 41, MatchedAt: at.Add(time.Hour)}})
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ManagerMatches(ctx)
	if _, ok := got[14]; ok || len(got) != 1 || got[15].BitrixUserID != 41 {
		t.Errorf("after the refresh: %+v", got)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.ReplaceManagerMatches(ctx, []ManagerMatch{{}}) }); err == nil {
		t.Error("a match without a RetailCRM user was stored")
	}
}

func TestDuplicatesRecordedPerOrigin(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetDuplicates(ctx, EntityDeal, 1042, 7, []int64{7, 9, 8}); err != nil {
			return err
		}
		if err := tx.SetDuplicates(ctx, EntityContact, 311, 5, []int64{6}); err != nil {
			return err
		}
		return tx.SetDuplicates(ctx, EntityDeal, 1043, 20, nil) // a single deal: nothing to record
	})
	got, err := s.Duplicates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now()
	want := []Duplicate{
		{EntityType: EntityContact, OriginID: 311, KeptID: 5, Others: []int64{6}, SeenAt: at},
		{EntityType: EntityDeal, OriginID: 1042, KeptID: 7, Others: []int64{8, 9}, SeenAt: at},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("duplicates (-want +got):\n%s", d)
	}

	// A later lookup sees fewer copies, then one deal only: the group
	// shrinks, then goes.
	clk.Add(1)
	mustTx(t, s, func(tx *Tx) error { return tx.SetDuplicates(ctx, EntityDeal, 1042, 7, []int64{9}) })
	got, _ = s.Duplicates(ctx)
	if len(got) != 2 || fmt.Sprint(got[1].Others) != "[9]" {
		t.Fatalf("after a partial clean-up: %+v", got)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetDuplicates(ctx, EntityDeal, 1042, 7, nil) })
	got, _ = s.Duplicates(ctx)
	if len(got) != 1 || got[0].EntityType != EntityContact {
		t.Fatalf("after the clean-up: %+v", got)
	}

	err = s.Tx(ctx, func(tx *Tx) error { return tx.SetDuplicates(ctx, "company", 1, 2, []int64{3}) })
	if err == nil {
		t.Fatal("an unknown entity type was accepted")
	}
}

// A database of schema 1 gains the duplicates table and keeps its data.
func TestMigrationAddsDuplicatesToVersion1(t *testing.T) {
	t.Parallel()
	s, _ := openOldSchema(t, 1, "INSERT INTO cursors (name, value, updated_at) VALUES ('orders_history', '7137', 1)")
	ctx := context.Background()
	if v, _ := s.SchemaVersion(ctx); v != SupportedSchemaVersion() || v < 3 {
		t.Fatalf("schema %d", v)
	}
	if v, ok, err := s.Cursor(ctx, CursorOrdersHistory); err != nil || !ok || v != "7137" {
		t.Fatalf("cursor after migration: %q %v %v", v, ok, err)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetDuplicates(ctx, EntityLead, 1, 2, []int64{3}) })
	if got, err := s.Duplicates(ctx); err != nil || len(got) != 1 {
		t.Fatalf("duplicates after migration: %+v %v", got, err)
	}
}

// Companies sharing one ORIGIN_ID (text: a corporate customer id or an
// inn: key) are recorded per ORIGIN_ID like the other entities, and a
// database of schema 9 (the previous release) gains the table.
func TestCompanyDuplicatesRecordedPerOrigin(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s, path := openTest(t, Options{Now: clk.Now})
	ctx := context.Background()
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetCompanyDuplicates(ctx, "4211", 30, []int64{30, 34, 31}); err != nil {
			return err
		}
		if err := tx.SetCompanyDuplicates(ctx, "inn:7707083893:773601001", 40, []int64{41}); err != nil {
			return err
		}
		return tx.SetCompanyDuplicates(ctx, "4212", 50, nil)
	})
	got, err := s.CompanyDuplicates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now()
	want := []CompanyDuplicate{
		{OriginID: "4211", KeptID: 30, Others: []int64{31, 34}, SeenAt: at},
		{OriginID: "inn:7707083893:773601001", KeptID: 40, Others: []int64{41}, SeenAt: at},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("company duplicates (-want +got):\n%s", d)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetCompanyDuplicates(ctx, "4211", 30, nil) })
	if got, _ := s.CompanyDuplicates(ctx); len(got) != 1 || got[0].OriginID != "inn:7707083893:773601001" {
		t.Fatalf("after the clean-up: %+v", got)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.SetCompanyDuplicates(ctx, "", 1, []int64{2}) }); err == nil {
		t.Error("an empty ORIGIN_ID was accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Back to schema 9: the table goes; the next open brings it back empty
	// and keeps the rest.
	rawExec(t, path, "DROP TABLE company_duplicates", "PRAGMA user_version = 9",
		"INSERT INTO cursors (name, value, updated_at) VALUES ('corporate_history', '12', 1)")
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != SupportedSchemaVersion() || v < 10 {
		t.Fatalf("schema %d", v)
	}
	if got, err := s.CompanyDuplicates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("company duplicates after the migration: %+v %v", got, err)
	}
	if v, ok, _ := s.CursorInt(ctx, CursorCorporateHistory); !ok || v != 12 {
		t.Errorf("corporate cursor %d %v after the migration", v, ok)
	}
}
