package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// plan is what one run measures, by size.
type plan struct {
	opsOrders    int
	opsChanges   int
	limits       []limit
	limitMin     int // orders in a rate-limited run, at least and at most
	limitMax     int
	overhead     []int
	allocsOrders int
	mixOrders    int
	quietOrders  int
	profOrders   int
}

func makePlan(o *options) plan {
	if o.quick {
		return plan{opsOrders: 200, opsChanges: 20, limits: []limit{{2, 50}, {5, 250}},
			limitMin: 200, limitMax: 200, overhead: []int{300, 1000}, allocsOrders: 150,
			mixOrders: 200, quietOrders: 50, profOrders: 300}
	}
	p := plan{opsOrders: 2000, opsChanges: 100, limits: []limit{{2, 50}, {5, 250}},
		limitMin: 200, limitMax: 50_000, allocsOrders: 1000, mixOrders: 2000, quietOrders: 200, profOrders: 10_000}
	for _, n := range []int{1000, 10_000, 100_000} {
		if n <= o.maxOrders {
			p.overhead = append(p.overhead, n)
		}
	}
	if len(p.overhead) == 0 {
		p.overhead = []int{o.maxOrders}
	}
	p.allocsOrders = min(p.allocsOrders, p.overhead[0])
	p.profOrders = min(p.profOrders, o.maxOrders)
	return p
}

// measure runs every part of the plan and returns the table.
func measure(ctx context.Context, o *options, log io.Writer) (*table, error) {
	dir, err := os.MkdirTemp("", "crmsync-bench-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	if o.keep {
		fmt.Fprintf(log, "crmsync-bench: keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{bin: o.crmsync, dir: dir, seed: o.seed, log: log, start: time.Now()}
	if b.bin == "" {
		b.logf("building crmsync")
		if b.bin, err = buildCrmsync(ctx, dir); err != nil {
			return nil, err
		}
	}
	p := makePlan(o)
	t := &table{when: time.Now().UTC(), quick: o.quick, machine: machine(), version: binVersion(ctx, b.bin)}
	t.load[0] = loadAverage()
	defer func() { t.load[1] = loadAverage() }()

	if o.parts[partOps] {
		if t.ops, err = measureOps(ctx, b, p.opsOrders, p.opsChanges); err != nil {
			return nil, fmt.Errorf("requests per operation: %w", err)
		}
	}
	if o.parts[partMixes] {
		for _, m := range mixes() {
			r, err := measureMix(ctx, b, m.name, m.detail, m.v, p.mixOrders)
			if err != nil {
				return nil, fmt.Errorf("write floor of the %s mix: %w", m.name, err)
			}
			t.mixes = append(t.mixes, r)
		}
	}
	if o.parts[partSchedule] {
		if t.schedule, err = measureSchedule(ctx, b, p.quietOrders); err != nil {
			return nil, fmt.Errorf("schedule costs: %w", err)
		}
	}
	for _, l := range p.limits {
		if !o.parts[partLimits] {
			break
		}
		n := ordersForLimit(l, t.ops.newOrder.per(), o.limitTime, p.limitMin, p.limitMax)
		r, err := measureThroughput(ctx, b, l, n)
		if err != nil {
			return nil, fmt.Errorf("throughput at %s: %w", l, err)
		}
		t.limits = append(t.limits, r)
	}
	if o.parts[partProfile] {
		if t.profile, err = measureProfile(ctx, b, p.profOrders); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
	}
	if !o.parts[partOverhead] {
		b.logf("done")
		return t, nil
	}
	if t.allocs, err = measureAllocs(ctx, b, p.allocsOrders); err != nil {
		return nil, fmt.Errorf("allocations: %w", err)
	}
	for _, n := range p.overhead {
		r, err := measureOverhead(ctx, b, n)
		if err != nil {
			return nil, fmt.Errorf("overhead at %d orders: %w", n, err)
		}
		t.overhead = append(t.overhead, r)
	}
	b.logf("done")
	return t, nil
}

func machine() string {
	return fmt.Sprintf("%s, %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// binVersion is `crmsync version`'s first line, naming the revision measured.
func binVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// loadAverage is the 1-minute load average, "n/a" without /proc: it tells
// the reader how much else the machine was doing.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "n/a"
	}
	return f[0]
}
