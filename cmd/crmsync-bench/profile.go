package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	pullsync "github.com/crmsync/crmsync/sync"
)

// inProcess is a backfill of a seeded shop run in this process, through the
// constructors cmd/crmsync uses, so that one CPU profile holds both the
// engine and the fakes (told apart by stack, see fakeStack).
type inProcess struct {
	orders int
	wall   time.Duration
	cpu    string // the CPU profile's path, "" when not profiled
	heap   string // the allocation profile's path
}

// backfillInProcess seeds a shop of n orders and backfills it in this
// process. With dir set it writes dir/cpu-N.prof and dir/allocs-N.prof.
func backfillInProcess(ctx context.Context, b *bench, n int, dir string) (*inProcess, error) {
	e, cfg, err := newInProcessEnv(b, fmt.Sprintf("inprocess-%d", n), n)
	if err != nil {
		return nil, err
	}
	defer e.close()
	probe, err := retailcrm.New(cfg.RetailCRM.URL, cfg.RetailCRM.APIKey)
	if err != nil {
		return nil, fmt.Errorf("RetailCRM client: %w", err)
	}
	settings, err := probe.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("RetailCRM settings: %w", err)
	}
	loc, err := settings.Location()
	if err != nil {
		return nil, err
	}
	eng, st, err := e.engine(ctx, cfg, "backfill", retailcrm.WithLocation(loc))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := &inProcess{orders: n}
	var stop func() error
	if dir != "" {
		out.cpu = filepath.Join(dir, fmt.Sprintf("cpu-%d.prof", n))
		out.heap = filepath.Join(dir, fmt.Sprintf("allocs-%d.prof", n))
		f, err := os.Create(out.cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		stop = func() error {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				return err
			}
			h, err := os.Create(out.heap)
			if err != nil {
				return err
			}
			runtime.GC()
			if err := pprof.Lookup("allocs").WriteTo(h, 0); err != nil {
				h.Close()
				return err
			}
			return h.Close()
		}
	}
	start := time.Now()
	res, err := eng.Backfill(ctx, pullsync.BackfillOptions{Location: loc})
	out.wall = time.Since(start)
	if stop != nil {
		if perr := stop(); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("in-process backfill: %w", err)
	}
	if res.Report.Summary.OrdersSeen < n/2 {
		return nil, fmt.Errorf("in-process backfill saw %d of %d orders", res.Report.Summary.OrdersSeen, n)
	}
	b.logf("in process: backfill of %d orders in %s", n, out.wall.Round(time.Millisecond))
	return out, nil
}

// profileOnly is -profile: one profiled in-process backfill.
func profileOnly(ctx context.Context, o *options, log io.Writer) error {
	dir, err := os.MkdirTemp("", "crmsync-bench-")
	if err != nil {
		return fmt.Errorf("scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return err
	}
	b := &bench{dir: dir, seed: o.seed, log: log, start: time.Now()}
	r, err := backfillInProcess(ctx, b, o.profileOrders, o.profileDir)
	if err != nil {
		return err
	}
	b.logf("profiles: %s, %s", r.cpu, r.heap)
	total, rows, err := breakdown(ctx, r.cpu)
	if err != nil {
		return err
	}
	for _, c := range rows {
		b.logf("%6.2f s %5.1f%%  %s", c.cpu.Seconds(), 100*c.cpu.Seconds()/total.Seconds(), c.what)
	}
	b.logf("%6.2f s total CPU in %.2f s wall", total.Seconds(), r.wall.Seconds())
	return nil
}

// costShare is one row of where a profiled backfill's CPU went.
type costShare struct {
	what string
	cpu  time.Duration
}

// costCategories split a CPU profile of an in-process backfill, each
// sample going to the first category one of its frames matches (so none
// is counted twice); what matches none is "other".
var costCategories = []struct{ what, re string }{
	{"the fakes (both servers and their HTTP side)", `retailcrmtest\.|bitrixtest\.|net/http\.\(\*conn\)\.serve`},
	{"garbage collection (background marking and sweeping)", `runtime\.gcBgMarkWorker|runtime\.bgsweep|runtime\.bgscavenge`},
	{"SQLite (store, database/sql, the driver: statements and transactions)", `crmsync/store\.|modernc\.org/sqlite|database/sql`},
	{"RetailCRM client (JSON decoding of order and history pages)", `crmsync/retailcrm\.`},
	{"Bitrix24 client (batch queries built, answers decoded)", `crmsync/bitrix\.`},
	{"hashing (content hashes)", `crypto/|hash/|sync\.hash|sync\.contentHash`},
	{"phone and e-mail normalisation", `phonenumbers|sync\.normalizer|net/mail`},
	{"the rest of the engine (planning, desired state, lookups)", `crmsync/sync`},
}

var showingRE = regexp.MustCompile(`Showing nodes accounting for ([0-9.]+)(ms|s|us|µs|min|h)?,`)

// breakdown splits a CPU profile by costCategories with `go tool pprof`.
func breakdown(ctx context.Context, prof string) (total time.Duration, rows []costShare, err error) {
	sum := func(args ...string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0"}, args...), prof)...)
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("go tool pprof %s: %w", strings.Join(args, " "), err)
		}
		m := showingRE.FindSubmatch(out)
		if m == nil {
			return 0, nil // no sample matched
		}
		unit := string(m[2])
		if unit == "" {
			unit = "s"
		}
		return time.ParseDuration(string(m[1]) + strings.Replace(unit, "min", "m", 1))
	}
	if total, err = sum(); err != nil {
		return 0, nil, err
	}
	var seen []string
	var counted time.Duration
	for _, c := range costCategories {
		args := []string{"-focus=" + c.re}
		if len(seen) > 0 {
			args = append(args, "-ignore="+strings.Join(seen, "|"))
		}
		d, err := sum(args...)
		if err != nil {
			return 0, nil, err
		}
		rows = append(rows, costShare{c.what, d})
		counted += d
		seen = append(seen, c.re)
	}
	rows = append(rows, costShare{"other (HTTP client, runtime, scheduler)", max(total-counted, 0)})
	return total, rows, nil
}

// profiledRun is the in-process backfill profiled by make bench, split by cost.
type profiledRun struct {
	orders int
	wall   time.Duration
	total  time.Duration
	rows   []costShare
}

func measureProfile(ctx context.Context, b *bench, n int) (*profiledRun, error) {
	dir := filepath.Join(b.dir, "profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := backfillInProcess(ctx, b, n, dir)
	if err != nil {
		return nil, err
	}
	total, rows, err := breakdown(ctx, r.cpu)
	if err != nil {
		return nil, err
	}
	return &profiledRun{orders: n, wall: r.wall, total: total, rows: rows}, nil
}
