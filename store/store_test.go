package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		lockHelper()
		return
	}
	goleak.VerifyTestMain(m)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openTest(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

// reopen closes s and opens its file again with opts, as a later run
// would; the new store is closed when the test ends.
func reopen(t *testing.T, s *Store, opts Options) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err := Open(context.Background(), s.Path(), opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// putCursorAndLink writes the orders history cursor and one order link: a
// store in use, in the fewest rows.
func putCursorAndLink(t *testing.T, s *Store, cursor string, link OrderLink) {
	t.Helper()
	ctx := context.Background()
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetCursor(ctx, CursorOrdersHistory, cursor); err != nil {
			return err
		}
		return tx.PutOrderLink(ctx, link)
	})
}

func mustTx(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

// newStoreTest starts a parallel test on a fresh store whose clock is a
// settable test clock (newClock): the context, the store and the clock.
func newStoreTest(t *testing.T) (context.Context, *Store, *clock) {
	t.Helper()
	t.Parallel()
	clk := newClock()
	s, _ := openTest(t, Options{Now: clk.Now})
	return context.Background(), s, clk
}

// putEach writes items one by one with put (a Tx method), stopping at the
// first error.
func putEach[T any](ctx context.Context, tx *Tx, put func(*Tx, context.Context, T) error, items []T) error {
	for _, it := range items {
		if err := put(tx, ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// openOldSchema opens a database written by an older crmsync: the first
// version migrations, then stmts (its rows), stamped with that version. The
// store is closed when the test ends.
func openOldSchema(t *testing.T, version int, stmts ...string) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	var script []string
	for _, m := range migrations[:version] {
		script = append(script, m.sql)
	}
	script = append(script, stmts...)
	rawExec(t, path, append(script, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", version, applicationID))...)
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func TestOpenMigratesFromEmpty(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != SupportedSchemaVersion() || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, SupportedSchemaVersion())
	}
	var mode string
	var appID, fk int
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT journal_mode FROM pragma_journal_mode),
		(SELECT application_id FROM pragma_application_id), (SELECT foreign_keys FROM pragma_foreign_keys)`).Scan(&mode, &appID, &fk); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || appID != applicationID || fk != 1 {
		t.Errorf("journal_mode=%s application_id=%#x foreign_keys=%d", mode, appID, fk)
	}
	for _, table := range []string{"cursors", "order_links", "customer_links", "events", "runs", "failures", "ledger", "rule_fires"} {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	for i := range 3 {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			mustTx(t, s, func(tx *Tx) error { return tx.SetCursor(ctx, CursorOrdersHistory, "42") })
		}
		v, _, err := s.Cursor(ctx, CursorOrdersHistory)
		if err != nil || v != "42" {
			t.Errorf("open %d: cursor = %q, %v", i, v, err)
		}
		if sv, _ := s.SchemaVersion(ctx); sv != SupportedSchemaVersion() {
			t.Errorf("open %d: version %d", i, sv)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentFirstOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(ctx, path, Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
		}
	}
}

// rawExec runs statements on the file bypassing Open's checks.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, ro := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "crmsync.db")
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		rawExec(t, path, "PRAGMA user_version = 99")
		_, err = Open(ctx, path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("readOnly=%v: err = %v, want ErrSchemaTooNew", ro, err)
		}
		for _, want := range []string{path, "99", "upgrade crmsync", "supports up to " + itoa(int64(SupportedSchemaVersion()))} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
}

func TestCorruptFile(t *testing.T) {
	t.Parallel()
	random := make([]byte, 8192)
	for i := range random {
		random[i] = byte(i*7919 + i>>3)
	}
	header := append([]byte("SQLite format 3\x00"), random[:4080]...)
	tests := []struct {
		name string
		data []byte
	}{
		{"random bytes", random},
		{"text", []byte(strings.Repeat("db: ./crmsync.db\nphone_region: RU\n", 20))},
		{"bad header", header},
	}
	for _, tc := range tests {
		for _, ro := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "crmsync.db")
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
				s, err := Open(context.Background(), path, Options{ReadOnly: ro})
				if err == nil {
					_ = s.Close()
					t.Fatal("Open succeeded on a corrupt file")
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("readOnly=%v: err = %v, want ErrCorrupt", ro, err)
				}
				for _, want := range []string{path, "backup", "move it aside"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if got, _ := os.ReadFile(path); string(got) != string(tc.data) {
					t.Error("Open modified the corrupt file")
				}
			})
		}
	}
}

func TestForeignDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "other.db")
	rawExec(t, path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
	_, err := Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrForeign naming the file", err)
	}
}

func TestReadOnlyMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "none.db")
	_, err := Open(context.Background(), path, Options{ReadOnly: true})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Error("read-only open created the file")
	}
}

func TestReadOnlyOldSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{ReadOnly: true})
	if !errors.Is(err, ErrSchemaTooOld) {
		t.Fatalf("err = %v, want ErrSchemaTooOld", err)
	}
}

func TestFileMode(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	path := s.Path()
	mustTx(t, s, func(tx *Tx) error { return tx.SetCursor(ctx, "x", "1") })
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), m)
		}
	}

	// An existing world-readable file loses its "other" bits.
	loose := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	s2, err := Open(ctx, loose, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o640 {
		t.Errorf("loose file mode = %o, want 640", fi.Mode().Perm())
	}
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ok := fstest.MapFS{
		"migrations/0001_init.sql": {Data: []byte("CREATE TABLE a (x)")},
		"migrations/0002_more.sql": {Data: []byte("CREATE TABLE b (x)")},
	}
	m, err := loadMigrations(ok)
	if err != nil || len(m) != 2 || m[1].name != "0002_more.sql" {
		t.Fatalf("loadMigrations = %v, %v", m, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"unnumber": {"migrations/init.sql": {}},
		"zero":     {"migrations/0000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if len(migrations) == 0 {
		t.Fatal("no embedded migrations")
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestReadOnlyLeavesFileUnchanged(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	path := s.Path()
	putCursorAndLink(t, s, "7", OrderLink{OrderID: 1, EntityID: 10})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, path)
	fiBefore, _ := os.Stat(path)

	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := ro.Cursor(ctx, CursorOrdersHistory); err != nil || !ok || v != "7" {
		t.Errorf("Cursor = %q %v %v", v, ok, err)
	}
	if _, ok, err := ro.OrderLink(ctx, 1); err != nil || !ok {
		t.Errorf("OrderLink = %v %v", ok, err)
	}
	if _, err := ro.Failures(ctx, FailureFilter{}); err != nil {
		t.Error(err)
	}
	if err := ro.Tx(ctx, func(tx *Tx) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Tx on read-only = %v, want ErrReadOnly", err)
	}
	if _, err := ro.StartRun(ctx, "pull", 1); !errors.Is(err, ErrReadOnly) {
		t.Errorf("StartRun on read-only = %v, want ErrReadOnly", err)
	}
	// Even bypassing the Go-level guard, SQLite refuses to write.
	if _, err := ro.db.ExecContext(ctx, `DELETE FROM cursors`); err == nil {
		t.Error("raw write succeeded on a read-only store")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if fileHash(t, path) != before {
		t.Error("read-only open changed the database file")
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(fiBefore.ModTime()) {
		t.Error("read-only open touched the database file's mtime")
	}
}

func TestReadOnlyBesideWriter(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	path := s.Path()
	mustTx(t, s, func(tx *Tx) error { return tx.SetCursor(ctx, "c", "1") })
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	mustTx(t, s, func(tx *Tx) error { return tx.SetCursor(ctx, "c", "2") })
	if v, _, err := ro.Cursor(ctx, "c"); err != nil || v != "2" {
		t.Errorf("reader sees %q, %v; want the committed 2", v, err)
	}
}

func TestTxRollsBackTogether(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	boom := errors.New("boom")
	writeAll := func(tx *Tx) error {
		steps := []func() error{
			func() error { return tx.SetCursor(ctx, CursorOrdersHistory, "100") },
			func() error { return tx.PutOrderLink(ctx, OrderLink{OrderID: 1, EntityID: 11, ContactID: 5}) },
			func() error { return tx.PutCustomerLink(ctx, CustomerLink{CustomerID: 3, ContactID: 5}) },
			func() error {
				_, err := tx.AddEvent(ctx, Event{Source: SourceRetailCRM, Action: "deal.add", Result: ResultOK})
				return err
			},
			func() error {
				_, _, err := tx.RecordFailure(ctx, FailureReport{Kind: "order", Key: "2", Error: "x", MaxAttempts: 3})
				return err
			},
			func() error {
				return tx.AddLedger(ctx, LedgerEntry{Side: SideBitrix, Entity: "deal", EntityID: 11, Field: "STAGE_ID", Value: "NEW"})
			},
			func() error {
				_, err := tx.MarkRuleFired(ctx, RuleFire{RuleKey: "r", EventKey: "e", Action: "a"})
				return err
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		// The transaction reads its own writes.
		if v, ok, err := tx.Cursor(ctx, CursorOrdersHistory); err != nil || !ok || v != "100" {
			t.Errorf("in-tx cursor = %q %v %v", v, ok, err)
		}
		return nil
	}

	tests := []struct {
		name string
		fn   func(tx *Tx) error
	}{
		{"error", func(tx *Tx) error {
			if err := writeAll(tx); err != nil {
				return err
			}
			return boom
		}},
		{"panic", func(tx *Tx) error {
			if err := writeAll(tx); err != nil {
				return err
			}
			panic(boom)
		}},
	}
	for _, tc := range tests {
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = p.(error)
				}
			}()
			return s.Tx(ctx, tc.fn)
		}()
		if !errors.Is(err, boom) {
			t.Fatalf("%s: Tx = %v, want boom", tc.name, err)
		}
		if got := snapshot(t, s); got != (counts{}) {
			t.Errorf("%s: after rollback %+v, want nothing", tc.name, got)
		}
	}
	mustTx(t, s, writeAll)
	want := counts{cursors: 1, orders: 1, customers: 1, events: 1, failures: 1, ledger: 1, fires: 1}
	if got := snapshot(t, s); got != want {
		t.Errorf("after commit %+v, want %+v", got, want)
	}
}

type counts struct{ cursors, orders, customers, events, failures, ledger, fires int }

func snapshot(t *testing.T, s *Store) counts {
	t.Helper()
	var c counts
	err := s.db.QueryRow(`SELECT (SELECT count(*) FROM cursors), (SELECT count(*) FROM order_links),
		(SELECT count(*) FROM customer_links), (SELECT count(*) FROM events), (SELECT count(*) FROM failures),
		(SELECT count(*) FROM ledger), (SELECT count(*) FROM rule_fires)`).
		Scan(&c.cursors, &c.orders, &c.customers, &c.events, &c.failures, &c.ledger, &c.fires)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Minute}, {1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute},
		{9, 256 * time.Minute}, {10, 6 * time.Hour}, {11, 6 * time.Hour}, {1000, 6 * time.Hour},
	}
	for _, tc := range tests {
		if got := Backoff(tc.attempts); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
}

func TestFailureBackoffAndParking(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	start := clk.Now()
	record := func(msg string) (Failure, bool) {
		t.Helper()
		var f Failure
		var parkedNow bool
		mustTx(t, s, func(tx *Tx) (err error) {
			f, parkedNow, err = tx.RecordFailure(ctx, FailureReport{Kind: "order", Key: "1042", Error: msg, MaxAttempts: 3})
			return err
		})
		return f, parkedNow
	}
	steps := []struct {
		advance   time.Duration
		attempts  int
		wait      time.Duration
		parked    bool
		parkedNow bool
	}{
		{0, 1, time.Minute, false, false},
		{time.Minute, 2, 2 * time.Minute, false, false},
		{2 * time.Minute, 3, 4 * time.Minute, true, true},
		{4 * time.Minute, 4, 8 * time.Minute, true, false}, // still parked, no second alert
	}
	for i, st := range steps {
		clk.Add(st.advance)
		f, parkedNow := record("unmapped status")
		if f.Attempts != st.attempts || f.Parked != st.parked || parkedNow != st.parkedNow {
			t.Errorf("step %d: attempts=%d parked=%v parkedNow=%v", i, f.Attempts, f.Parked, parkedNow)
		}
		if got := f.NextAttemptAt.Sub(clk.Now()); got != st.wait {
			t.Errorf("step %d: next attempt in %v, want %v", i, got, st.wait)
		}
		if !f.FirstFailedAt.Equal(start) || !f.LastFailedAt.Equal(clk.Now()) || f.LastError != "unmapped status" {
			t.Errorf("step %d: %+v", i, f)
		}
		if i == 0 {
			// Not due before its backoff ends, due after.
			if due, _ := s.Failures(ctx, FailureFilter{Due: clk.Now()}); len(due) != 0 {
				t.Errorf("due immediately: %+v", due)
			}
			if due, _ := s.Failures(ctx, FailureFilter{Due: clk.Now().Add(time.Minute)}); len(due) != 1 {
				t.Errorf("not due after backoff: %+v", due)
			}
		}
	}
	// Parked items are not due, whatever the time.
	if due, _ := s.Failures(ctx, FailureFilter{Due: clk.Now().Add(24 * time.Hour)}); len(due) != 0 {
		t.Errorf("parked failure is due: %+v", due)
	}
	if parked, _ := s.Failures(ctx, FailureFilter{ParkedOnly: true, Kind: "order"}); len(parked) != 1 {
		t.Errorf("parked = %+v", parked)
	}
	if other, _ := s.Failures(ctx, FailureFilter{Kind: "stage"}); len(other) != 0 {
		t.Errorf("kind filter: %+v", other)
	}
	// Success clears it.
	mustTx(t, s, func(tx *Tx) error { return tx.ClearFailure(ctx, "order", "1042") })
	if _, ok, _ := s.Failure(ctx, "order", "1042"); ok {
		t.Error("failure survived ClearFailure")
	}
}

func TestRetryAndSkip(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	var ids []int64
	mustTx(t, s, func(tx *Tx) error {
		for _, key := range []string{"1", "2", "3"} {
			for range 2 {
				f, _, err := tx.RecordFailure(ctx, FailureReport{Kind: "order", Key: key, Error: "bad", MaxAttempts: 2})
				if err != nil {
					return err
				}
				if !f.Parked {
					continue
				}
				ids = append(ids, f.ID)
			}
		}
		return nil
	})
	if len(ids) != 3 {
		t.Fatalf("parked ids = %v", ids)
	}

	skipped, err := s.SkipFailures(ctx, []int64{ids[0], 9999})
	if err != nil || !cmp.Equal(skipped, []int64{ids[0]}) {
		t.Fatalf("SkipFailures = %v, %v", skipped, err)
	}
	if parked, _ := s.Failures(ctx, FailureFilter{ParkedOnly: true}); len(parked) != 2 {
		t.Errorf("skipped one still listed as parked: %+v", parked)
	}
	if all, _ := s.Failures(ctx, FailureFilter{IncludeSkipped: true}); len(all) != 3 {
		t.Errorf("IncludeSkipped lists %d", len(all))
	}

	clk.Add(time.Hour)
	retried, err := s.RetryFailures(ctx, []int64{ids[1]})
	if err != nil || !cmp.Equal(retried, []int64{ids[1]}) {
		t.Fatalf("RetryFailures = %v, %v", retried, err)
	}
	due, _ := s.Failures(ctx, FailureFilter{Due: clk.Now()})
	if len(due) != 1 || due[0].ID != ids[1] || due[0].Parked || due[0].Attempts != 0 {
		t.Errorf("due after retry = %+v", due)
	}

	if c, err := s.CountFailures(ctx); err != nil || c != (FailureCounts{Retrying: 1, Parked: 1, Skipped: 1}) {
		t.Errorf("CountFailures = %+v, %v", c, err)
	}
	// No ids: every parked, unskipped one.
	retried, err = s.RetryFailures(ctx, nil)
	if err != nil || !cmp.Equal(retried, []int64{ids[2]}) {
		t.Errorf("RetryFailures(all) = %v, %v", retried, err)
	}
	// A skipped item that fails again starts over.
	mustTx(t, s, func(tx *Tx) error {
		f, parkedNow, err := tx.RecordFailure(ctx, FailureReport{Kind: "order", Key: "1", Error: "again", MaxAttempts: 2})
		if f.Attempts != 1 || f.Skipped || f.Parked || parkedNow {
			t.Errorf("refail after skip: %+v parkedNow=%v", f, parkedNow)
		}
		return err
	})
}

func TestCheckFindsDamagedPages(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	path := s.Path()
	mustTx(t, s, func(tx *Tx) error {
		for i := int64(1); i <= 2000; i++ {
			if err := tx.PutOrderLink(ctx, OrderLink{OrderID: i, EntityID: i, Number: strings.Repeat("n", 40)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check on a healthy file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Leave page 1 (header and schema) intact; scribble over the rest.
	for i := 4096 * 3; i < len(b); i++ {
		b[i] = byte(i * 31)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err == nil {
		defer s.Close()
		err = s.Check(ctx)
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrCorrupt naming the file", err)
	}
	if s != nil {
		// A write through Tx that trips over the damage says so too.
		err := s.Tx(ctx, func(tx *Tx) error {
			return tx.PutOrderLink(ctx, OrderLink{OrderID: 1500, EntityID: 1})
		})
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("Tx on damaged file = %v, want ErrCorrupt", err)
		}
	}
}

func TestCursorInt(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetCursorInt(ctx, CursorOrdersHistory, 1<<40); err != nil {
			return err
		}
		return tx.SetCursor(ctx, "bad", "x1")
	})
	if v, ok, err := s.CursorInt(ctx, CursorOrdersHistory); err != nil || !ok || v != 1<<40 {
		t.Errorf("CursorInt = %d %v %v", v, ok, err)
	}
	if _, ok, err := s.CursorInt(ctx, "missing"); err != nil || ok {
		t.Errorf("CursorInt(missing) = %v %v", ok, err)
	}
	if _, _, err := s.CursorInt(ctx, "bad"); err == nil {
		t.Error("CursorInt(bad) succeeded")
	}
}

// TestReadErrorsNameTheRead: a read that fails names what it read, and a
// lookup's missing row is no error, whichever query helper it goes through.
func TestReadErrorsNameTheRead(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	if _, ok, err := s.OrderLink(ctx, 1); ok || err != nil {
		t.Errorf("OrderLink(missing) = %v, %v", ok, err)
	}
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want string
		read func() error
	}{
		{`read cursor "c": `, func() error { _, _, err := s.Cursor(ctx, "c"); return err }},
		{"read cursors: ", func() error { _, err := s.Cursors(ctx); return err }},
		{"read order link 7: ", func() error { _, _, err := s.OrderLink(ctx, 7); return err }},
		{"read order links: ", func() error { _, err := s.OrderLinks(ctx, []int64{7}); return err }},
		{"read customer link 3: ", func() error { _, _, err := s.CustomerLink(ctx, 3); return err }},
		{"read comment sweep: ", func() error { _, err := s.CommentSweep(ctx, EntityDeal); return err }},
		{"read comment cursors: ", func() error { _, err := s.CommentCursors(ctx, EntityDeal, []int64{1}); return err }},
		{"count comment cursors: ", func() error { _, err := s.CountCommentCursors(ctx); return err }},
		{"read purchase profile of customer 5: ", func() error { _, err := s.ProfileContributions(ctx, 5); return err }},
		{"read run state of pull: ", func() error { _, err := s.RunState(ctx, "pull"); return err }},
		{"read sent alerts: ", func() error { _, err := s.AlertSent(ctx, "pull", "k", "2026-01-02"); return err }},
		{"read run 9: ", func() error { _, err := s.Run(ctx, 9); return err }},
		{"read runs: ", func() error { _, err := s.LastRuns(ctx); return err }},
		{"read failure order 1: ", func() error { _, _, err := s.Failure(ctx, "order", "1"); return err }},
		{"read events: ", func() error { _, err := s.Events(ctx, EventFilter{}); return err }},
		{"read ledger: ", func() error { _, _, err := s.LedgerLatest(ctx, SideBitrix, "deal", 1, "F"); return err }},
		{"read rule fire: ", func() error { _, _, err := s.RuleFired(ctx, "r", "e", "a"); return err }},
		{"read duplicates: ", func() error { _, err := s.Duplicates(ctx); return err }},
		{"read company links: ", func() error { _, err := s.CompanyLinks(ctx, []string{"1"}); return err }},
		{"count company links: ", func() error { _, err := s.CountCompanyLinks(ctx); return err }},
		{"read manager matches: ", func() error { _, err := s.ManagerMatches(ctx); return err }},
		{"read reference fetches: ", func() error { _, err := s.References(ctx); return err }},
		{"read bitrix budget: ", func() error { _, _, _, err := s.BitrixBudget(ctx, "p"); return err }},
	} {
		if err := tc.read(); err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), "closed") {
			t.Errorf("error %v, want %q and the closed database", err, tc.want)
		}
	}
}
