package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// targetRow is one performance target beside what this run measured.
type targetRow struct {
	what, figure, target string
	// ratio is figure ÷ target (NaN when the target is 0 or the figure is
	// a count that must be 0).
	ratio    float64
	pass, ok bool // ok: measured in this run
}

func (r targetRow) verdict() string {
	switch {
	case !r.ok:
		return "not measured"
	case r.pass:
		return "PASS"
	}
	return "**MISS**"
}

func (r targetRow) ratioText() string {
	if !r.ok || math.IsNaN(r.ratio) {
		return "–"
	}
	return fmt.Sprintf("%.2f", r.ratio)
}

// targets lists every performance target with this run's figure.
func (t *table) targets() []targetRow {
	var rows []targetRow
	for _, m := range t.allMixes() {
		f, _ := m.floor()
		got := m.ratio()
		rows = append(rows, targetRow{what: fmt.Sprintf("Bitrix24 requests per new order ÷ write floor, %s mix", m.name),
			figure: fmt.Sprintf("%.2f× (%d / %.1f)", got, m.requests, f), target: fmt.Sprintf("≤ %.2f×", targetFloor),
			ratio: got / targetFloor, pass: f > 0 && got <= targetFloor, ok: f > 0})
	}
	if o := t.ops; o != nil {
		rows = append(rows,
			targetRow{what: "Bitrix24 requests for an unchanged order on a repeated run",
				figure: fmt.Sprintf("%d (over %d orders)", o.unchanged.requests, o.unchanged.ops), target: "0",
				ratio: math.NaN(), pass: o.unchanged.requests == 0, ok: true},
			targetRow{what: fmt.Sprintf("Bitrix24 requests per pushed stage change (push of %d changes)", o.pushed.ops),
				figure: fmt.Sprintf("%.3f (%d / %d)", o.pushed.per(), o.pushed.requests, o.pushed.ops), target: fmt.Sprintf("≤ %.1f", targetPushPerChange),
				ratio: o.pushed.per() / targetPushPerChange, pass: o.pushed.ops >= 50 && o.pushed.per() <= targetPushPerChange, ok: o.pushed.ops > 0},
			targetRow{what: "RetailCRM requests per history record (repeat pull)",
				figure: fmt.Sprintf("%.3f (%d / %d)", o.record.per(), o.record.requests, o.record.ops), target: fmt.Sprintf("≤ %.2f", targetPerRecord),
				ratio: o.record.per() / targetPerRecord, pass: o.record.per() <= targetPerRecord, ok: true})
	} else {
		rows = append(rows, targetRow{what: "requests per unchanged order, pushed change, history record"})
	}
	if s := t.schedule; s != nil {
		rows = append(rows,
			targetRow{what: "RetailCRM requests of a pull with nothing new (one per history stream: orders, customers, corporate customers)",
				figure: fmt.Sprint(s.idlePull.retailcrm), target: fmt.Sprintf("≤ %d", s.streams),
				ratio: float64(s.idlePull.retailcrm) / float64(s.streams), pass: s.idlePull.retailcrm <= s.streams, ok: true},
			targetRow{what: "Bitrix24 requests of a pull with nothing new", figure: fmt.Sprint(s.idlePull.bitrix), target: "0",
				ratio: math.NaN(), pass: s.idlePull.bitrix == 0, ok: true})
	} else {
		rows = append(rows, targetRow{what: "a pull with nothing new"})
	}
	var lim *throughputResult
	for _, l := range t.limits {
		if l.limit == (limit{2, 50}) {
			lim = l
		}
	}
	if lim != nil {
		rows = append(rows,
			targetRow{what: "QUERY_LIMIT_EXCEEDED answers under a 2 rps / 50 burst portal", figure: fmt.Sprint(lim.refused), target: "0",
				ratio: math.NaN(), pass: lim.refused == 0, ok: true},
			targetRow{what: "Throughput under 2 rps / 50 burst: share of what the limit allows", figure: fmt.Sprintf("%.0f%%", 100*lim.share()),
				target: fmt.Sprintf("≥ %.0f%%", 100*targetShare), ratio: lim.share() / targetShare, pass: lim.share() >= targetShare, ok: true})
	} else {
		rows = append(rows, targetRow{what: "under a 2 rps / 50 burst portal limit"})
	}
	rows = append(rows, t.engineTargets()...)
	return rows
}

// engineTargets are the 100,000-order import's wall time and memory and
// the flatness of CPU per order over the sizes measured.
func (t *table) engineTargets() []targetRow {
	if len(t.overhead) == 0 {
		return []targetRow{{what: "engine overhead (100,000 orders, unlimited fakes)"}}
	}
	big := t.overhead[len(t.overhead)-1]
	name := fmt.Sprintf("%d orders", big.orders)
	if big.orders != targetOrders {
		name += fmt.Sprintf(" (smaller than the target's %d: -max-orders)", targetOrders)
	}
	rows := []targetRow{
		{what: "Backfill of " + name + " against unlimited fakes, 2 cores: wall", figure: fmt.Sprintf("%.1f s", big.wall.Seconds()),
			target: fmt.Sprintf("< %.0f s", targetWall100k.Seconds()), ratio: big.wall.Seconds() / targetWall100k.Seconds(),
			pass: big.wall < targetWall100k, ok: big.orders >= targetOrders},
		{what: "Backfill of " + name + ": peak RSS", figure: rss(big.maxRSS), target: fmt.Sprintf("< %d MB", targetRSS>>20),
			ratio: float64(big.maxRSS) / targetRSS, pass: big.maxRSS > 0 && big.maxRSS < targetRSS, ok: big.maxRSS > 0},
	}
	if len(t.overhead) >= 2 {
		var parts []string
		perOrder := func(r *overheadResult) float64 { return float64(r.cpu.Microseconds()) / float64(r.orders) }
		for _, r := range t.overhead {
			parts = append(parts, fmt.Sprintf("%.0f µs at %d", perOrder(r), r.orders))
		}
		growth := perOrder(big) / perOrder(t.overhead[0])
		rows = append(rows, targetRow{what: fmt.Sprintf("CPU per order flat as the shop grows: at %d ÷ at %d orders (%s)", big.orders, t.overhead[0].orders, strings.Join(parts, ", ")),
			figure: fmt.Sprintf("%.2f×", growth), target: fmt.Sprintf("≤ %.2f×", targetFlat), ratio: growth / targetFlat, pass: growth <= targetFlat, ok: true})
	}
	return rows
}

func (t *table) targetSection(w func(string, ...any)) {
	w("## Targets\n\n")
	w("Each performance target beside this run's figure; *ratio* is figure ÷ target, so below 1 passes a ≤ or < target and\n")
	w("1 or more passes a ≥ one (a target of 0 has no ratio). The sections below say how each figure was measured.\n\n")
	w("| target | measured | target | ratio | verdict |\n|---|---:|---:|---:|---|\n")
	for _, r := range t.targets() {
		w("| %s | %s | %s | %s | %s |\n", r.what, orDash(r.figure), orDash(r.target), r.ratioText(), r.verdict())
	}
	w("\n")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// allMixes is the B2B mix of the requests section (deals, companies on)
// followed by the other configurations measured.
func (t *table) allMixes() []*mixResult {
	var out []*mixResult
	if o := t.ops; o != nil {
		out = append(out, &mixResult{name: "B2B", detail: fmt.Sprintf("deals, companies on (the default): %d corporate orders, %d with a legal buyer", o.b2b, o.legal),
			orders: o.orders, requests: o.newOrder.requests, mix: o.newMix})
	}
	return append(out, t.mixes...)
}

func (t *table) mixSection(w func(string, ...any)) {
	w("## Write floor of new orders, per mix\n\n")
	w("The write floor is the writes the new orders' content needs ÷ 50 (the commands one batch carries): per order its deal or\n")
	w("lead and its product rows, per new customer a contact, per new company the company, its requisite and its contact link.\n")
	w("Lookups and comments are not in it and must fit in the 25%% above it. Each mix is a fresh backfill of the same seeded shop\n")
	w("(%d orders, unlimited fakes) under its own configuration.\n\n", t.allMixes()[0].orders)
	w("| mix | configuration | orders | Bitrix24 requests | write floor | requests ÷ floor | target |\n|---|---|---:|---:|---|---:|---|\n")
	for _, m := range t.allMixes() {
		f, detail := m.floor()
		w("| %s | %s | %d | %d | %.2f (%s) | %.2f× | ≤ %.2f×: %s |\n", m.name, m.detail, m.orders, m.requests, f, detail,
			m.ratio(), targetFloor, verdict(f > 0 && m.ratio() <= targetFloor))
	}
	w("\nWhat each import asked the portal:\n\n")
	for _, m := range t.allMixes() {
		w("- %s — %s\n", m.name, m.mix)
	}
	w("\n")
}

func (t *table) scheduleSection(w func(string, ...any)) {
	s := t.schedule
	w("## What a timer costs a quiet shop\n\n")
	w("A shop of %d orders imported, whose last activity was %.0f hours ago (the fakes' clocks run that far behind crmsync's), then\n", s.orders, quietLag.Hours())
	w("`crmsync pull` and `crmsync push` run until they settle. Measured: a pull and a push with nothing to do, and the pull and\n")
	w("push of a run that carries one new order. One run of each with nothing to do costs RetailCRM %d + %d and Bitrix24 %d + %d\n",
		s.idlePull.retailcrm, s.idlePush.retailcrm, s.idlePull.bitrix, s.idlePush.bitrix)
	op, oh := s.orderPull.minus(s.idlePull), s.orderPush.minus(s.idlePush)
	w("requests (pull + push); a new order adds RetailCRM %d + %d and Bitrix24 %d + %d.\n", op.retailcrm, oh.retailcrm, op.bitrix, oh.bitrix)
	w("A day's requests are runs a day × the idle run, plus orders a day × what one order adds (each order in a run of its own,\n")
	w("an upper bound when several share one). Not counted: the once-a-day refresh of the reference dictionaries and users.\n\n")
	s.table(w)
	w("\nWhat the idle runs asked the portal: pull — %s; push — %s.\n", s.idlePullMix, s.idlePushMix)
	w("\n")
}

// table is the per-day table, shared by BENCHMARKS.md and the README.
func (s *scheduleResult) table(w func(string, ...any)) {
	w("| timer | runs a day | no orders: RetailCRM / Bitrix24 requests a day | %d orders an hour: RetailCRM / Bitrix24 requests a day |\n", quietOrdersHour)
	w("|---|---:|---:|---:|\n")
	for _, i := range scheduleIntervals {
		idle, busy := s.perDay(i, 0), s.perDay(i, quietOrdersHour)
		w("| every %s | %d | %d / %d | %d / %d |\n", shortDur(i), int(24*time.Hour/i), idle.retailcrm, idle.bitrix, busy.retailcrm, busy.bitrix)
	}
}

func shortDur(d time.Duration) string {
	if d%time.Minute == 0 {
		n := int(d / time.Minute)
		if n == 1 {
			return "minute"
		}
		return fmt.Sprintf("%d minutes", n)
	}
	return d.String()
}

// The in-process profile before this work (revision 764de9c, the same
// 10,000-order shop; crmsync-bench -profile then -breakdown), and the
// child's figures then (BENCHMARKS.md of revision 0e1c4569d4f1).
var costBefore = []costShare{
	{"the fakes (both servers and their HTTP side)", 2100 * time.Millisecond},
	{"garbage collection (background marking and sweeping)", 2080 * time.Millisecond},
	{"SQLite (store, database/sql, the driver: statements and transactions)", 1100 * time.Millisecond},
	{"RetailCRM client (JSON decoding of order and history pages)", 1250 * time.Millisecond},
	{"Bitrix24 client (batch queries built, answers decoded)", 1170 * time.Millisecond},
	{"hashing (content hashes)", 180 * time.Millisecond},
	{"phone and e-mail normalisation", 480 * time.Millisecond},
	{"the rest of the engine (planning, desired state, lookups)", 300 * time.Millisecond},
	{"other (HTTP client, runtime, scheduler)", 130 * time.Millisecond},
}

const costBeforeTotal = 8790 * time.Millisecond

func (t *table) costSection(w func(string, ...any)) {
	w("\n## Where the time goes\n\n")
	w("Before this work (revision 764de9c) a 100,000-order backfill took 108.2 s wall, 75.1 s of it crmsync's own, 77.8 s CPU\n")
	w("(778 µs an order; 819 at 10,000) and 62 MB peak RSS.\n")
	for _, r := range t.overhead {
		if r.orders == targetOrders {
			w("In this run: %.1f s wall, %.1f s of it crmsync's own, %.1f s CPU (%.0f µs an order, %.2f× before) and %s peak RSS.\n",
				r.wall.Seconds(), r.own().Seconds(), r.cpu.Seconds(), float64(r.cpu.Microseconds())/float64(r.orders),
				float64(r.cpu.Microseconds())/float64(r.orders)/778, rss(r.maxRSS))
		}
	}
	w("CPU time is the figure to compare: wall time also counts the fakes (on the same two cores) and whatever else the machine\n")
	w("runs (see the load average above). A backfill of 10,000 orders run in one process, engine and fakes\n")
	w("together (`go run ./cmd/crmsync-bench -profile DIR`), its CPU profile split by the first matching frame of each sample\n")
	w("(the before column was measured at a load average near 10; on a loaded machine compare shares more than seconds):\n\n")
	p := t.profile
	if p != nil {
		w("| where | before: CPU s | share | now: CPU s | share |\n|---|---:|---:|---:|---:|\n")
	} else {
		w("| where | before: CPU s | share |\n|---|---:|---:|\n")
	}
	for i, b := range costBefore {
		if p != nil && i < len(p.rows) {
			n := p.rows[i]
			w("| %s | %.2f | %.0f%% | %.2f | %.0f%% |\n", b.what, b.cpu.Seconds(), 100*b.cpu.Seconds()/costBeforeTotal.Seconds(),
				n.cpu.Seconds(), 100*n.cpu.Seconds()/p.total.Seconds())
			continue
		}
		w("| %s | %.2f | %.0f%% |\n", b.what, b.cpu.Seconds(), 100*b.cpu.Seconds()/costBeforeTotal.Seconds())
	}
	if p != nil {
		w("| **total** (%d orders; now %.1f s wall) | %.2f | | %.2f | |\n\n", p.orders, p.wall.Seconds(), costBeforeTotal.Seconds(), p.total.Seconds())
	} else {
		w("| **total** | %.2f | |\n\n", costBeforeTotal.Seconds())
	}
	w("What changed, largest first:\n\n")
	w("- **SQLite statements**: every write of a backfill group (order and customer links, events, ledger, failures cleared) was\n")
	w("  parsed and planned by SQLite each time; a write transaction now prepares each statement once (`store/stmt.go`).\n")
	w("  Transactions were already one per group of 5 pages (500 orders).\n")
	w("- **History head**: the walk to the order and customer history heads (up to 400 pages) decoded every record's order or\n")
	w("  customer snapshot; it now decodes only the ids (`RetailCRM.HistoryHead`), same requests.\n")
	w("- **Phone normalisation**: libphonenumber's regular expressions ran several times per order for the same numbers; a run\n")
	w("  remembers its answers.\n")
	w("- **Batch queries**: sorting a command's field names called `strconv.Atoi` in every comparison, allocating an error each\n")
	w("  time (5%% of the bytes allocated); each key is parsed once. A command's query is built in one builder, the maps it is\n")
	w("  made of are normalised without reflection, and the search for `$result` references no longer normalises a second copy\n")
	w("  (allocations per order 1957 → 1073).\n")
	w("- **Wall time**: the next group's order pages are read and decoded on another goroutine while a group is written, so\n")
	w("  RetailCRM's answers overlap the Bitrix24 writes (same requests: only pages the walk is known to reach); the customers\n")
	w("  history is walked to its head beside the orders history.\n")
	w("- **The fakes**: the fake RetailCRM built every order of an `/orders` page as nested maps for encoding/json, which\n")
	w("  sorts each map's keys on every request; it now encodes them through structs whose fields are in that sorted order\n")
	w("  (same bytes, `retailcrmtest/encode_list.go`). The fake portal decoded each JSON batch body twice more to learn the\n")
	w("  order of its commands; it now scans it once. The fakes' allocations per order 1099 → 616; crmsync sends the same.\n")
	w("- **The measurement**: the fakes were timed through reverse proxies, an extra HTTP hop per request on the same two cores;\n")
	w("  they are now timed in their own handlers.\n\n")
	w("Left: garbage collection (the largest allocators are the Bitrix24 batches built and their answers decoded, then the\n")
	w("order pages decoded; keeping each order's raw JSON is under 3%% of crmsync's bytes); the fake portal (parsing every\n")
	w("batch command's query, its store); and the walk to the history heads, which reads every page since 10 minutes before\n")
	w("the start — here the whole seeded history, up to 200 pages a stream, where a live shop has a page or two. Hashing was\n")
	w("never a real cost.\n\n")
}

// figures is the README's Figures section from this run.
func (t *table) figures(benchFile string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Figures\n\n")
	benchFile = filepath.Base(benchFile)
	w("From `make bench` against the fake servers, as ratios in one run ([%s](%s) has how each was measured):\n\n", benchFile, benchFile)
	w("| target | measured | target | ratio | verdict |\n|---|---:|---:|---:|---|\n")
	for _, r := range t.targets() {
		w("| %s | %s | %s | %s | %s |\n", r.what, orDash(r.figure), orDash(r.target), r.ratioText(), r.verdict())
	}
	if s := t.schedule; s != nil {
		w("\nWhat a timer costs a quiet shop (pull and push each run; choose the interval from this):\n\n")
		s.table(w)
	}
	w("\n")
	return b.String()
}

// rewriteFigures replaces the README's "## Figures" section (up to the next
// "## " heading or the end) with text.
func rewriteFigures(path, text string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	start := bytes.Index(data, []byte("\n## Figures\n"))
	if start < 0 {
		return fmt.Errorf("%s has no \"## Figures\" section", path)
	}
	start++
	end := len(data)
	if i := bytes.Index(data[start+1:], []byte("\n## ")); i >= 0 {
		end = start + 1 + i + 1
	}
	out := append(append(append([]byte{}, data[:start]...), text...), data[end:]...)
	return os.WriteFile(path, out, 0o644)
}
