package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/shop"
)

// limit is a fake portal's leaky bucket; the zero value is an unlimited
// portal (overhead runs must measure crmsync, not the bucket).
type limit struct {
	rate  float64
	burst int
}

func (l limit) unlimited() bool { return l.rate <= 0 }

func (l limit) String() string {
	if l.unlimited() {
		return "unlimited"
	}
	return fmt.Sprintf("%g rps / %d burst", l.rate, l.burst)
}

// env is one seeded shop in both fakes, a configuration pointing crmsync at
// them and a fresh database, all in its own directory.
type env struct {
	rc    *retailcrmtest.Server
	bx    *bitrixtest.Server
	shop  *shop.Shop
	size  shop.Size
	mix   shop.Summary // what the seeded shop holds (B2B orders, legal buyers)
	now   time.Time
	seed  uint64
	dir   string
	cfg   string
	db    string
	limit limit
	// rcURL and webhook are what crmsync is pointed at: the fakes.
	rcURL, webhook string
	clock          *busyClock // set by timeFakes
	busy           *busyClock // the fakes' handlers' clock
	// bitrixExtra is added to the configuration's bitrix: section (entity:
	// lead, companies: false), mapping replaces shop.MappingYAML.
	bitrixExtra, mapping string
}

// variant is a configuration other than the shop's default one, and the
// fakes' clock.
type variant struct {
	bitrixExtra string
	mapping     string
	// lag puts the fakes' clock this far behind: what they hold looks that
	// old to crmsync (a quiet shop whose last activity was a while ago).
	lag time.Duration
}

// customersFor keeps the shop's shape (repeat buyers) at every size.
func customersFor(orders int) int { return max(1, orders*2/5) }

// newEnv seeds a shop of the given size. The fakes run in this process, so
// the crmsync child's resource figures are its own.
func newEnv(dir string, orders int, l limit, seed uint64) (*env, error) {
	return newVariantEnv(dir, orders, l, seed, variant{})
}

func newVariantEnv(dir string, orders int, l limit, seed uint64, v variant) (*env, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench directory: %w", err)
	}
	var clock func() time.Time
	if v.lag > 0 {
		clock = func() time.Time { return time.Now().Add(-v.lag) }
	}
	now := time.Now().Add(-v.lag).Truncate(time.Second)
	// Requests in flight are timed in the fakes' handlers (timeFakes).
	busy := &busyClock{}
	e := &env{
		rc:          retailcrmtest.NewServer(retailcrmtest.Options{Seed: seed, Now: clock, Middleware: busy.timed}),
		bx:          newPortal(l, seed, clock, busy.timed),
		busy:        busy,
		bitrixExtra: v.bitrixExtra,
		mapping:     v.mapping,
		size:        shop.Size{Orders: orders, Customers: customersFor(orders)},
		now:         now,
		seed:        seed,
		dir:         dir,
		cfg:         filepath.Join(dir, "crmsync.yaml"),
		db:          filepath.Join(dir, "crmsync.db"),
		limit:       l,
	}
	e.rcURL, e.webhook = e.rc.URL(), e.bx.WebhookURL()
	e.shop = shop.New(seed, now, retailcrmtest.DefaultSite)
	e.mix = e.shop.Seed(e.rc, e.bx, e.size)
	if err := e.writeConfig(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) writeConfig() error {
	if err := os.WriteFile(e.cfg, []byte(e.config()), 0o600); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	return nil
}

// timeFakes starts timing the requests to the fakes from now on, so that
// the time crmsync waits for them can be taken out of its wall time. The
// fakes' handlers are timed where they run: a proxy in front of them would
// add an HTTP hop of its own to every request, on the same cores.
func (e *env) timeFakes() error {
	e.clock = e.busy
	e.busy.reset()
	return nil
}

func newPortal(l limit, seed uint64, clock func() time.Time, mw func(http.Handler) http.Handler) *bitrixtest.Server {
	if l.unlimited() {
		return bitrixtest.NewServer(bitrixtest.Options{Unlimited: true, Seed: seed, Now: clock, Middleware: mw})
	}
	return bitrixtest.NewServer(bitrixtest.Options{Rate: l.rate, Burst: l.burst, Seed: seed, Now: clock, Middleware: mw})
}

func (e *env) close() {
	e.rc.Close()
	e.bx.Close()
}

// config points crmsync at the fakes. Against an unlimited portal the
// client's own limits are set as high as validation allows, so that the
// figures are the engine's and not a pacing delay.
func (e *env) config() string {
	rate, burst := 1000.0, 1000
	if !e.limit.unlimited() {
		rate, burst = e.limit.rate, e.limit.burst
	}
	mapping := shop.MappingYAML
	if e.mapping != "" {
		mapping = e.mapping
	}
	return fmt.Sprintf(`db: %s
log_level: error
retailcrm:
  url: %s
  api_key: %s
  rate: 100
bitrix:
  webhook_url: %s
  rate: %g
  burst: %d
%s%s`, e.db, e.rcURL, e.rc.APIKey(), e.webhook, rate, burst, e.bitrixExtra, mapping)
}

// resetHistoryCursor makes the next pull replay the whole order history,
// as a restored backup or a hand-moved cursor would.
func (e *env) resetHistoryCursor(ctx context.Context) error {
	st, err := store.Open(ctx, e.db, store.Options{})
	if err != nil {
		return fmt.Errorf("opening %s: %w", e.db, err)
	}
	err = st.Tx(ctx, func(tx *store.Tx) error {
		return tx.SetCursorInt(ctx, store.CursorOrdersHistory, 0)
	})
	if cerr := st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("resetting the history cursor: %w", err)
	}
	return nil
}
