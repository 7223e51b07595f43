package sync

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/store/storetest"
	"github.com/crmsync/crmsync/sync/config"
)

// env is a test's pair of fakes, clients and database.
type env struct {
	t      testing.TB
	rc     *retailcrmtest.Server
	bx     *bitrixtest.Server
	rcc    *retailcrm.Client
	bxc    *bitrix.Client
	cfg    *config.Config
	dbPath string
	clock  *bitrixtest.Clock
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	clock := bitrixtest.NewClock(time.Time{})
	e := &env{t: t, clock: clock}
	e.rc = retailcrmtest.New(t, retailcrmtest.Options{})
	e.bx = bitrixtest.New(t, bitrixtest.Options{Unlimited: true, Now: clock.Now})
	e.rcc = e.newRetailCRMClient()
	e.bxc = e.newBitrixClient()
	// The texts of most tests are asserted in English; the default locale
	// (ru) has tests of its own (locale_test.go).
	e.cfg = &config.Config{
		PhoneRegion: "RU",
		Locale:      "en",
		Bitrix:      config.Bitrix{Entity: config.EntityDeal, OriginatorID: "retailcrm"},
		Mapping: config.Mapping{Statuses: map[string]string{
			"new": "NEW", "group:approval": "PREPARATION", "group:assembling": "EXECUTING", "group:delivery": "EXECUTING",
			"group:complete": "WON", "group:cancel": "LOSE",
		}},
	}
	e.dbPath = filepath.Join(t.TempDir(), "crmsync.db")
	return e
}

func (e *env) newRetailCRMClient(opts ...retailcrm.Option) *retailcrm.Client {
	opts = append([]retailcrm.Option{retailcrm.WithRate(0),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}, opts...)
	c, err := retailcrm.New(e.rc.URL(), e.rc.APIKey(), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// useRetailCRM replaces the RetailCRM fake with one made with o, and the
// client with one of it.
func (e *env) useRetailCRM(o retailcrmtest.Options) {
	e.t.Helper()
	e.rc = retailcrmtest.New(e.t, o)
	e.rcc = e.newRetailCRMClient()
}

// useBitrix replaces the portal with one made with o (unlimited, on the
// env's clock), and the client with one of it.
func (e *env) useBitrix(o bitrixtest.Options) {
	e.t.Helper()
	o.Unlimited, o.Now = true, e.clock.Now
	e.bx = bitrixtest.New(e.t, o)
	e.bxc = e.newBitrixClient()
}

func (e *env) newBitrixClient(opts ...bitrix.Option) *bitrix.Client {
	opts = append([]bitrix.Option{bitrix.WithRate(0, 0), bitrix.WithClock(e.clock),
		bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 6, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}, opts...)
	c, err := bitrix.New(e.bx.WebhookURL(), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// withTimeouts rebuilds both clients with a short per-request timeout.
func (e *env) withTimeouts(d time.Duration) {
	e.t.Helper()
	e.rcc = e.newRetailCRMClient(retailcrm.WithTimeout(d))
	e.bxc = e.newBitrixClient(bitrix.WithTimeout(d))
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// engine opens the database and builds an engine; the store closes with t.
func (e *env) engine(dry bool, mod ...func(*Options)) (*Engine, *store.Store) {
	e.t.Helper()
	st, err := store.Open(context.Background(), e.dbPath, store.Options{Scratch: dry})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	opts := Options{Config: e.cfg, RetailCRM: e.rcc, Bitrix: e.bxc, Store: st, DryRun: dry, Sleep: noSleep,
		RetryDelay: time.Millisecond}
	for _, m := range mod {
		m(&opts)
	}
	eng, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return eng, st
}

// pull runs a real pull and fails the test on error.
func (e *env) pull(mod ...func(*Options)) *Result {
	e.t.Helper()
	return e.pullOnce(false, mod...)
}

// dryPull runs a dry pull: it plans and reports, and writes nothing.
func (e *env) dryPull(mod ...func(*Options)) *Result {
	e.t.Helper()
	return e.pullOnce(true, mod...)
}

func (e *env) pullOnce(dryRun bool, mod ...func(*Options)) *Result {
	e.t.Helper()
	res, err := e.tryPull(dryRun, mod...)
	if err != nil {
		e.t.Fatalf("pull: %v", err)
	}
	return res
}

// tryPull runs a pull that may fail and returns what it returned.
func (e *env) tryPull(dryRun bool, mod ...func(*Options)) (*Result, error) {
	e.t.Helper()
	eng, st := e.engine(dryRun, mod...)
	defer st.Close()
	return eng.Pull(context.Background())
}

// pullWrites pulls once and returns the result and how many write
// commands the run sent to Bitrix24 (0 for a run with nothing to do).
func (e *env) pullWrites(mod ...func(*Options)) (*Result, int) {
	e.t.Helper()
	before := e.writes()
	res := e.pull(mod...)
	return res, e.writes() - before
}

func keepChanges(o *Options) { o.KeepChanges = true }

// logsTo sends the run's log, debug lines included, to w as text.
func logsTo(w io.Writer) func(*Options) {
	return func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// updateOrder changes an order in the RetailCRM fake (recorded in its
// history, as a person's edit) and fails the test if it cannot.
func (e *env) updateOrder(id int64, change func(*retailcrm.Order)) {
	e.t.Helper()
	if err := e.rc.UpdateOrder(id, change); err != nil {
		e.t.Fatal(err)
	}
}

// writes counts the write commands the portal ran (in batches or alone).
func (e *env) writes() int {
	s := e.bx.Stats()
	n := 0
	for m, c := range s.CommandsPerMethod {
		if isWrite(m) {
			n += c
		}
	}
	for m, c := range s.PerMethod {
		if isWrite(m) {
			n += c
		}
	}
	return n
}

func isWrite(m string) bool {
	return !bitrix.IsReadMethod(m) && m != "batch"
}

func money(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// order is a typical order of a customer.
func order(c *retailcrm.Customer, total string) retailcrm.Order {
	return retailcrm.Order{
		Customer: c, FirstName: c.FirstName, LastName: c.LastName, TotalSumm: money(total), Summ: money(total),
		OrderMethod: "shopping-cart", Delivery: &retailcrm.Delivery{Code: "courier"},
	}
}

// dealRow is the one deal of the order; the test fails if there is none
// or more.
func dealRow(t *testing.T, e *env, orderID int64) bitrixtest.Row {
	t.Helper()
	ds := e.dealsByOrigin()[strconv.FormatInt(orderID, 10)]
	if len(ds) != 1 {
		t.Fatalf("order %d has %d deals", orderID, len(ds))
	}
	return ds[0]
}

// dealsByOrigin maps ORIGIN_ID to the deals carrying it.
func (e *env) dealsByOrigin() map[string][]bitrixtest.Row {
	out := map[string][]bitrixtest.Row{}
	for _, d := range e.bx.Deals() {
		out[d.Str("ORIGIN_ID")] = append(out[d.Str("ORIGIN_ID")], d)
	}
	return out
}

// openDB opens the env's database and fails the test if it cannot; the
// caller closes it.
func (e *env) openDB() *store.Store {
	e.t.Helper()
	return e.openDBWith(store.Options{})
}

// readDB opens the env's database read-only, as openDB does.
func (e *env) readDB() *store.Store {
	e.t.Helper()
	return e.openDBWith(store.Options{ReadOnly: true})
}

func (e *env) openDBWith(o store.Options) *store.Store {
	e.t.Helper()
	st, err := store.Open(context.Background(), e.dbPath, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// alert sends the alert about the failed run a describes through the env's
// portal and database, with the env's configuration unless a names one,
// and returns how many notifications it sent.
func (e *env) alert(a RunAlert) int {
	e.t.Helper()
	st := e.openDB()
	defer st.Close()
	if a.Config == nil {
		a.Config = e.cfg
	}
	a.Bitrix, a.Store = e.bxc, st
	return AlertRunFailure(context.Background(), a)
}

// cursor reads the history cursor name from the env's database (0 when
// there is none).
func (e *env) cursor(name string) int64 {
	e.t.Helper()
	st := e.openDB()
	defer st.Close()
	v, _, err := st.CursorInt(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// setCursor sets the history cursor name in the env's database, as a lost
// cursor or a crash before the commit leaves it: the next run reads the
// history from there again.
func (e *env) setCursor(name string, v int64) {
	e.t.Helper()
	st := e.openDB()
	defer st.Close()
	if err := st.Tx(context.Background(), func(tx *store.Tx) error {
		return tx.SetCursorInt(context.Background(), name, v)
	}); err != nil {
		e.t.Fatal(err)
	}
}

func storeFailureFilter() store.FailureFilter { return store.FailureFilter{} }

// toSchema3 turns the env's database back into what the release of schema
// 3 kept: purchase profile entries as "profile:<customer>:<order>" cursor
// rows holding JSON, sent run alerts as fires of the rule
// "builtin:run-alert", pull's backlog only in its runs' counters, no state
// tables. The next open migrates it again.
func (e *env) toSchema3() {
	e.t.Helper()
	storetest.ToSchema3(e.t, e.dbPath,
		`INSERT INTO cursors (name, value, updated_at)
			SELECT 'profile:' || customer_id || ':' || order_id,
				json_object('o', order_id, 'c', json(CASE WHEN counted THEN 'true' ELSE 'false' END), 'a', amount, 't', created_at, 'n', number),
				updated_at
			FROM profile_contributions`,
		`INSERT INTO rule_fires (rule_key, event_key, action, result_id, fired_at)
			SELECT 'builtin:run-alert', command || ':' || kind || ':' || day, 'notify', '', sent_at FROM alert_marks`)
}

// addCommentToLedger records in the ledger that crmsync wrote the comment
// text on the deal (as the comment remoteID), as a run that wrote it does.
func (e *env) addCommentToLedger(st *store.Store, dealID int64, text string, remoteID int64) {
	e.t.Helper()
	if err := st.Tx(context.Background(), func(tx *store.Tx) error {
		return tx.AddLedger(context.Background(), store.LedgerEntry{Side: store.SideBitrix, Entity: ledgerComment,
			EntityID: dealID, Field: ledgerCommentField, Value: text, RemoteID: remoteID})
	}); err != nil {
		e.t.Fatal(err)
	}
}

// ledgerHasComment reports whether the ledger holds the comment text as
// one crmsync wrote on the deal (push never carries those back).
func ledgerHasComment(st *store.Store, dealID int64, text string) (bool, error) {
	return st.LedgerHas(context.Background(), store.SideBitrix, "comment", dealID, "COMMENT", text)
}
