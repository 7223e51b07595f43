package main

import (
	"fmt"
	"strings"
	"time"
)

// table is everything one run measured.
type table struct {
	when     time.Time
	quick    bool
	machine  string
	version  string
	load     [2]string // the machine's load average at the start and the end
	ops      *opsResult
	limits   []*throughputResult
	overhead []*overheadResult
	allocs   *allocsResult
	mixes    []*mixResult
	schedule *scheduleResult
	profile  *profiledRun
}

// The performance targets (docs/development.md, Figures).
const (
	targetFloor         = 1.25 // requests per new order over the write floor
	targetPushPerChange = 0.1
	targetPerRecord     = 0.03
	targetShare         = 0.9 // within 10% of what the limit allows
	targetWall100k      = time.Minute
	targetOrders        = 100_000
	targetRSS           = 100 << 20
	targetFlat          = 1.25 // CPU per order, largest over smallest of the sizes
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// ratio is plain / crmsync; a crmsync figure of zero makes it unbounded.
func ratio(plain, ours count) string {
	switch {
	case ours.requests == 0 && plain.requests == 0:
		return "–"
	case ours.requests == 0:
		return "∞ (crmsync sends none)"
	}
	return fmt.Sprintf("%.0f×", plain.per()/ours.per())
}

func per(c count) string {
	return fmt.Sprintf("%.3f (%d / %d)", c.per(), c.requests, c.ops)
}

func (t *table) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# crmsync benchmarks\n\n")
	if t.quick {
		w("> **Quick (smoke) run: sizes too small for the figures to mean much.** Run `make bench` for real ones.\n\n")
	}
	w("Written by `make bench` (`go run ./cmd/crmsync-bench`; see README.md, *Figures*, and docs/development.md) on %s: %s; crmsync `%s`.\n",
		t.when.Format("2006-01-02 15:04 MST"), t.machine, t.version)
	w("crmsync runs as a child process (`GOMAXPROCS=%d`, the targets' two cores) against the strict fake servers, which run in the\n", childProcs)
	w("driver's process; every figure below comes from this one run, so compare ratios, not absolute times, across machines.\n")
	w("Load average (1 min) at the start %s, at the end %s.\n\n", t.load[0], t.load[1])
	t.targetSection(w)
	if t.ops != nil {
		t.opsSection(w)
	}
	if t.ops != nil || len(t.mixes) > 0 {
		t.mixSection(w)
	}
	if t.schedule != nil {
		t.scheduleSection(w)
	}
	if len(t.limits) > 0 {
		t.limitSection(w)
	}
	if t.allocs != nil {
		t.overheadSection(w)
	}
	t.costSection(w)
	return b.String()
}

func (t *table) opsSection(w func(string, ...any)) {
	o := t.ops
	w("## Requests per operation\n\n")
	w("A seeded shop of %d orders (%d customers, some already typed into Bitrix24, repeat buyers, cancellations, a return,\n", o.orders, customersFor(o.orders))
	w("orders in an unmapped status that crmsync parks), unlimited fakes. The *plain client* is what a hand-written integration does, one\n")
	w("call per operation: per order in the history it reads the order, finds the buyer by e-mail, then by phone, adds the contact\n")
	w("when neither matches, adds the deal and its comment; a known order's deal is written again; a stage move is read from the\n")
	w("stage history, its deal fetched, the order written. It runs against its own portal, seeded alike, over the same RetailCRM history.\n")
	if o.newMode == modeFirstPull {
		w("New orders are measured through **`pull` over fresh history**: this build's `crmsync backfill` answers that its engine is not built.\n")
	}
	w("\n| figure | crmsync | plain client | plain / crmsync | target |\n|---|---:|---:|---:|---|\n")
	w("| Bitrix24 requests per new order (%s; write floor below) | %s | %s | %s | |\n", o.newMode, per(o.newOrder), per(o.plainNewOrder),
		ratio(o.plainNewOrder, o.newOrder))
	w("| Bitrix24 requests per changed order (pull after managers moved %d orders on) | %s | %s | %s | |\n", o.changed.ops,
		per(o.changed), per(o.plainChanged), ratio(o.plainChanged, o.changed))
	w("| Bitrix24 requests per unchanged order (pull again over the same history, cursor reset) | %s | %s | %s | 0: %s |\n",
		per(o.unchanged), per(o.plainUnchanged), ratio(o.plainUnchanged, o.unchanged), verdict(o.unchanged.requests == 0))
	w("| Bitrix24 requests per pushed stage change (push after managers moved %d deals) | %s | %s | %s | ≤ %.1f: %s |\n", o.pushed.ops,
		per(o.pushed), per(o.plainPushed), ratio(o.plainPushed, o.pushed), targetPushPerChange, verdict(o.pushed.per() <= targetPushPerChange))
	w("| RetailCRM requests per history record (the repeat pull, whole history) | %s | %s | %s | ≤ %.2f: %s |\n",
		per(o.record), per(o.plainRecord), ratio(o.plainRecord, o.record), targetPerRecord, verdict(o.record.per() <= targetPerRecord))
	w("\nWhat crmsync asked the portal:\n\n")
	w("- new orders (%s) — %s\n", o.newMode, o.newMix)
	w("- changed orders — %s\n", o.changedMix)
	w("- pushed stage changes — %s\n", o.pushMix)
	w("- the push before the moves, with nothing to push (the first push: it reads the whole stage history once): %d requests — %s\n\n", o.idlePush, o.idlePushMix)
	w("push reads the comments of the deals people moved and of those whose last activity since the previous push is someone\n")
	w("else's (crmsync's own writes are left out); up to 49 more ride in the batch that lists them: deals crmsync wrote to since push\n")
	w("last read them, then the sweep of open deals. The measured push read %d deals' comments for %d moves.\n\n",
		o.pushMix.commands["crm.timeline.comment.list"], o.pushed.ops)
}

func (t *table) limitSection(w func(string, ...any)) {
	w("## Throughput under the portal's request limit\n\n")
	w("A fresh shop imported (%s) through a fake portal with a leaky bucket, crmsync configured for the same limit\n", t.limits[0].mode)
	w("(`bitrix.rate`, `bitrix.burst`); the order count is sized from the requests per new order above to take about 40 s.\n")
	w("*Share of the limit* is requests sent / (burst + rate × seconds): 100%% means no second of the allowance was left unused.\n\n")
	w("| portal limit | orders | seconds | orders / min | Bitrix24 requests | 503 QUERY_LIMIT_EXCEEDED | share of the limit | limit's shortest time | target |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, l := range t.limits {
		target := ""
		if l.limit == (limit{2, 50}) {
			target = fmt.Sprintf("0 × 503: %s; ≥ %.0f%%: %s", verdict(l.refused == 0), targetShare*100, verdict(l.share() >= targetShare))
		}
		w("| %s | %d | %.1f | %.0f | %d | %d | %.0f%% | %.1f s | %s |\n", l.limit, l.orders, l.wall.Seconds(), l.perMinute(),
			l.requests, l.refused, 100*l.share(), l.ideal().Seconds(), target)
	}
	w("\n")
}

func (t *table) overheadSection(w func(string, ...any)) {
	w("## Engine overhead\n\n")
	w("A fresh shop imported (%s) against unlimited fakes. CPU is the child's user + system time; peak RSS its VmHWM, sampled\n", t.overhead[0].mode)
	w("every 5 ms (Linux's `ru_maxrss` would carry over the driver's own memory, fakes and all). The fakes are test servers on the same\n")
	w("cores (indexed by id, ORIGIN_ID and phone/e-mail, but not tuned like the real services): *waiting* is the time some request to a fake was\n")
	w("in flight (timed in each fake's handler), and *crmsync's own* is wall minus waiting — the time a portal answering at once\n")
	w("would leave. Allocations come from an in-process first pull of %d orders with every allocation profiled, the fakes' share\n", t.allocs.orders)
	w("(stacks through the fake servers and the HTTP server) taken out.\n\n")
	w("| orders | wall | waiting for the fakes | crmsync's own | CPU | peak RSS | orders / s (own) | µs CPU / order | target |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range t.overhead {
		target := fmt.Sprintf("RSS < 100 MB: %s", verdict(r.maxRSS > 0 && r.maxRSS < targetRSS))
		if r.orders == targetOrders {
			target = fmt.Sprintf("wall < 60 s: %s; %s", verdict(r.wall < targetWall100k), target)
		}
		w("| %d | %.1f s | %.1f s | %.1f s | %.1f s | %s | %.0f | %.0f | %s |\n", r.orders, r.wall.Seconds(), r.fakes.Seconds(),
			r.own().Seconds(), r.cpu.Seconds(), rss(r.maxRSS), float64(r.orders)/r.own().Seconds(),
			float64(r.cpu.Microseconds())/float64(r.orders), target)
	}
	a := t.allocs
	w("\nAllocations per order (in process, %d orders): **%.0f** objects, %.1f KB (the fakes' own %.0f objects per order left out).\n",
		a.orders, a.perOrder(), a.bytesPerOrder()/1024, float64(a.fakes.objects)/float64(a.orders))
	if n := len(t.overhead); n >= 2 {
		lo, hi := t.overhead[n-2], t.overhead[n-1]
		x := float64(hi.orders) / float64(lo.orders)
		own := hi.own().Seconds() / lo.own().Seconds() / x
		cpu := hi.cpu.Seconds() / lo.cpu.Seconds() / x
		mem := float64(hi.maxRSS) / float64(lo.maxRSS)
		w("\nGrowth from %d to %d orders (×%.0f): crmsync's own time per order ×%.2f, CPU per order ×%.2f (linear: 1.00);\n", lo.orders, hi.orders, x, own, cpu)
		w("peak RSS ×%.2f (flat: 1.00); wall time per order ×%.2f, the fakes' time included.\n", mem, hi.wall.Seconds()/lo.wall.Seconds()/x)
		// CPU time, not wall time, decides: the fakes and anything else on
		// the machine share its cores with crmsync.
		if cpu > targetFlat || mem > 1.5 {
			w("\n**Not linear in CPU time or not flat in memory**: see the figures above.\n")
		}
	}
}

func rss(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB", mb(b))
}
