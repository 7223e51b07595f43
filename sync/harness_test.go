package sync

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
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
	var err error
	e.rcc, err = retailcrm.New(e.rc.URL(), e.rc.APIKey(), retailcrm.WithRate(0),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
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
	var err error
	e.rcc, err = retailcrm.New(e.rc.URL(), e.rc.APIKey(), retailcrm.WithRate(0), retailcrm.WithTimeout(d),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	if err != nil {
		e.t.Fatal(err)
	}
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
	eng, st := e.engine(dryRun, mod...)
	res, err := eng.Pull(context.Background())
	if err != nil {
		e.t.Fatalf("pull: %v", err)
	}
	st.Close()
	return res
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

// dealsByOrigin maps ORIGIN_ID to the deals carrying it.
func (e *env) dealsByOrigin() map[string][]bitrixtest.Row {
	out := map[string][]bitrixtest.Row{}
	for _, d := range e.bx.Deals() {
		out[d.Str("ORIGIN_ID")] = append(out[d.Str("ORIGIN_ID")], d)
	}
	return out
}

func openStore(e *env) (*store.Store, error) {
	return store.Open(context.Background(), e.dbPath, store.Options{})
}

// cursor reads the history cursor name from the env's database (0 when
// there is none).
func (e *env) cursor(name string) int64 {
	e.t.Helper()
	st, err := openStore(e)
	if err != nil {
		e.t.Fatal(err)
	}
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
	st, err := openStore(e)
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	if err := st.Tx(context.Background(), func(tx *store.Tx) error {
		return tx.SetCursorInt(context.Background(), name, v)
	}); err != nil {
		e.t.Fatal(err)
	}
}

func storeFailureFilter() store.FailureFilter { return store.FailureFilter{} }
