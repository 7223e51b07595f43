package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/viper"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	pullsync "github.com/crmsync/crmsync/sync"
	"github.com/crmsync/crmsync/sync/config"
)

// overheadResult is one import of n orders against unlimited fakes, run as
// its own process.
type overheadResult struct {
	orders int
	mode   string
	wall   time.Duration
	cpu    time.Duration
	maxRSS int64
	seed   time.Duration // seeding the fakes, for the log only
	fakes  time.Duration // some request to a fake in flight
}

// own is the wall time crmsync did not spend waiting for the fakes.
func (o overheadResult) own() time.Duration { return o.wall - o.fakes }

func measureOverhead(ctx context.Context, b *bench, n int) (*overheadResult, error) {
	t0 := time.Now()
	e, err := newEnv(filepath.Join(b.dir, fmt.Sprintf("overhead-%d", n)), n, limit{}, b.seed)
	if err != nil {
		return nil, err
	}
	defer e.close()
	seeded := time.Since(t0)
	if err := e.timeFakes(); err != nil {
		return nil, err
	}
	r, mode, err := b.importOrders(ctx, e)
	if err != nil {
		return nil, err
	}
	res := &overheadResult{orders: n, mode: mode, wall: r.wall, cpu: r.cpu, maxRSS: r.maxRSS, seed: seeded, fakes: e.clock.total()}
	b.logf("overhead: %d orders by %s: wall %s (waiting for the fakes %s), cpu %s, peak RSS %.1f MB (seeding took %s)",
		n, mode, r.wall.Round(time.Millisecond), res.fakes.Round(time.Millisecond), r.cpu.Round(time.Millisecond), mb(r.maxRSS), seeded.Round(time.Millisecond))
	return res, nil
}

// allocsResult is the pull engine run in this process: heap allocations
// per order, the fakes' share (same process) taken out by stack.
type allocsResult struct {
	orders int
	engine allocCount // crmsync: engine, clients, store, HTTP client side
	fakes  allocCount // both fakes and the HTTP server side
}

func (a allocsResult) perOrder() float64 { return float64(a.engine.objects) / float64(a.orders) }

func (a allocsResult) bytesPerOrder() float64 { return float64(a.engine.bytes) / float64(a.orders) }

// measureAllocs runs a first pull of n orders in process through the same
// constructors cmd/crmsync uses, counting mallocs around Engine.Pull only.
func measureAllocs(ctx context.Context, b *bench, n int) (*allocsResult, error) {
	e, cfg, err := newInProcessEnv(b, fmt.Sprintf("allocs-%d", n), n)
	if err != nil {
		return nil, err
	}
	defer e.close()
	eng, st, err := e.engine(ctx, cfg, "")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	res, engine, fakes, err := profileAllocs(func() (*pullsync.Result, error) { return eng.Pull(ctx) })
	if err != nil {
		return nil, fmt.Errorf("in-process pull: %w", err)
	}
	if res.Report.Summary.OrdersSeen < n/2 {
		return nil, fmt.Errorf("in-process pull saw %d of %d orders", res.Report.Summary.OrdersSeen, n)
	}
	out := &allocsResult{orders: n, engine: engine, fakes: fakes}
	b.logf("allocs: %d orders in process: %.0f allocations, %.1f KB per order (the fakes' %.0f per order left out)",
		n, out.perOrder(), out.bytesPerOrder()/1024, float64(fakes.objects)/float64(n))
	return out, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// newInProcessEnv seeds a shop of n orders in b.dir/name for an engine run
// in this process, and loads its configuration as crmsync does.
func newInProcessEnv(b *bench, name string, n int) (*env, *config.Config, error) {
	e, err := newEnv(filepath.Join(b.dir, name), n, limit{}, b.seed)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(viper.New(), config.Options{File: e.cfg})
	if err != nil {
		e.close()
		return nil, nil, fmt.Errorf("loading %s: %w", e.cfg, err)
	}
	return e, cfg, nil
}

// engine wires an in-process engine on e's fakes and database through the
// same constructors cmd/crmsync uses, logging nowhere; the caller closes the
// store.
func (e *env) engine(ctx context.Context, cfg *config.Config, command string, rcOpts ...retailcrm.Option) (*pullsync.Engine, *store.Store, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rc, err := retailcrm.New(cfg.RetailCRM.URL, cfg.RetailCRM.APIKey,
		append([]retailcrm.Option{retailcrm.WithRate(cfg.RetailCRM.Rate), retailcrm.WithLogger(log)}, rcOpts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("RetailCRM client: %w", err)
	}
	bx, err := bitrix.New(cfg.Bitrix.WebhookURL, bitrix.WithRate(cfg.Bitrix.Rate, cfg.Bitrix.Burst), bitrix.WithLogger(log))
	if err != nil {
		return nil, nil, fmt.Errorf("Bitrix24 client: %w", err)
	}
	st, err := store.Open(ctx, e.db, store.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", e.db, err)
	}
	eng, err := pullsync.New(pullsync.Options{Config: cfg, RetailCRM: rc, Bitrix: bx, Store: st, Logger: log, RunCommand: command})
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("engine: %w", err)
	}
	return eng, st, nil
}
