package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

// unlimitedConfig lets crmsync go as fast as the unlimited fakes answer.
func (f fakes) unlimitedConfig() string {
	return fmt.Sprintf("retailcrm:\n  url: %s\n  api_key: %s\n  rate: 100\nbitrix:\n  webhook_url: %s\n  rate: 1000\n  burst: 1000\n",
		f.rc.URL(), f.rc.APIKey(), f.bx.WebhookURL()) + fullMapping
}

// dealOrigins maps ORIGIN_ID to how many deals carry it.
func dealOrigins(bx *bitrixtest.Server) map[string]int {
	out := map[string]int{}
	for _, d := range bx.Deals() {
		out[bitrixtest.Str(d.Fields["ORIGIN_ID"])]++
	}
	return out
}

// TestBackfillThenPull imports a shop of thousands of orders against
// unlimited fakes, then lets managers work and checks pull reads only the
// history after the backfill.
func TestBackfillThenPull(t *testing.T) {
	t.Parallel()
	size := shop.Size{Orders: 2000, Customers: 600}
	if testing.Short() {
		size = shop.Size{Orders: 300, Customers: 100}
	}
	f := defaultFakes(t)
	sum := shop.New(5, time.Now(), retailcrmtest.DefaultSite).Seed(f.rc, f.bx, size)
	_, cfg, db := workFiles(t, f.unlimitedConfig())

	start := time.Now()
	r := runInProcess(t, "--config", cfg, "--db", db, "backfill")
	took := time.Since(start)
	r.mustCode(t, exitParked) // the shop's orders in an unmapped status
	origins := dealOrigins(f.bx)
	want := size.Orders - sum.Unmapped
	if len(origins) != want {
		t.Errorf("%d deals, want %d", len(origins), want)
	}
	for o, n := range origins {
		if n != 1 {
			t.Errorf("order %s has %d deals", o, n)
		}
	}
	reqs := f.bx.Stats().Requests
	perOrder := float64(reqs) / float64(want)
	t.Logf("backfill of %d orders: %v, %.0f orders/s; Bitrix24: %d requests, %.3f per new order; RetailCRM: %d requests",
		size.Orders, took.Round(time.Millisecond), float64(size.Orders)/took.Seconds(), reqs, perOrder, f.rc.TotalRequests())
	if perOrder > 0.1 {
		t.Errorf("%.3f Bitrix24 requests per new order, target 0.1", perOrder)
	}
	// Not a terminal: log lines, no bar.
	if !strings.Contains(r.stderr, "backfill progress") || strings.Contains(r.stderr, "\r") {
		t.Errorf("stderr without a terminal:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("crmsync: backfill: %d of %d orders", size.Orders, size.Orders)) {
		t.Errorf("summary line missing:\n%s", r.stderr)
	}
	if b := statusOf(t, cfg, db).LastRuns["backfill"]; b.Result != "partial" || b.Counters["deals_created"] != int64(want) || b.Counters["waiting_for_retry"] != int64(sum.Unmapped) || b.Counters["parked"] != int64(sum.Unmapped) {
		t.Errorf("recorded backfill run %+v", b)
	}

	// Managers work after the backfill: pull reads only what they did.
	head := f.rc.LastHistoryID()
	done := shop.New(6, time.Now(), retailcrmtest.DefaultSite).Activity(f.rc, size)
	f.rc.ResetCounters()
	r = runInProcess(t, "--config", cfg, "--db", db, "pull")
	if r.code != exitOK && r.code != exitParked {
		r.mustCode(t, exitOK)
	}
	newRecords := f.rc.LastHistoryID() - head
	if hr := f.rc.Requests("/api/v5/orders/history"); hr > 2 {
		t.Errorf("pull after backfill sent %d history requests for %d new records", hr, newRecords)
	}
	pr := statusOf(t, cfg, db).LastRuns["pull"]
	if got := pr.Counters["history_records"]; got != newRecords {
		t.Errorf("pull read %d history records, want the %d after the backfill", got, newRecords)
	}
	if got := len(dealOrigins(f.bx)); got != want+1 {
		t.Errorf("after pull %d deals, want %d (the new order of %v)", got, want+1, done)
	}
	stages := map[string]int{}
	for _, d := range f.bx.Deals() {
		stages[bitrixtest.Str(d.Fields["STAGE_ID"])]++
	}
	t.Logf("activity %v; stages %v", done, stages)
}

func TestBackfillWindowDryRunAndRules(t *testing.T) {
	t.Parallel()
	f := newFakes(t, retailcrmtest.Options{Timezone: "Asia/Vladivostok"}, bitrixtest.Options{})
	loc := f.rc.Location()
	at := map[string]time.Time{
		"before": time.Date(2025, 2, 28, 23, 59, 59, 0, loc),
		"first":  time.Date(2025, 3, 1, 0, 0, 0, 0, loc),
		"inside": time.Date(2025, 3, 15, 12, 0, 0, 0, loc),
		"last":   time.Date(2025, 3, 31, 23, 59, 59, 0, loc),
		"after":  time.Date(2025, 4, 1, 0, 0, 0, 0, loc),
	}
	numbers := map[string]string{}
	for name, t0 := range at {
		o := f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: name, Email: name + "@example.com"},
			CreatedAt: retailcrm.NewDateTime(t0)})
		numbers[name] = o.Number
	}
	_, cfg, db := workFiles(t, f.config(fullMapping+`rules:
  - on: created
    do:
      comment: "Imported order {{.Number}}"
`))
	window := []string{"--config", cfg, "--db", db, "backfill", "--since", "2025-03-01", "--until", "2025-04-01"}

	r := runInProcess(t, append(window, "--dry-run", "--detailed-exitcode")...)
	r.mustCode(t, exitUsage)
	for name, num := range numbers {
		in := name == "first" || name == "inside" || name == "last"
		if got := strings.Contains(r.stdout, "+ deal    order "+num+" "); got != in {
			t.Errorf("dry-run report shows order %s (%s): %v, want %v\n%s", num, name, got, in, r.stdout)
		}
	}
	if len(f.bx.Deals()) != 0 || f.bx.Stats().PerMethod["batch"] != f.bx.Stats().Requests {
		t.Error("dry run wrote to the portal")
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("dry run created the database")
	}
	r = runInProcess(t, append(window, "--dry-run", "--sample", "1")...)
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "more changes not shown") {
		t.Errorf("a sample of 1 does not say more changes exist:\n%s", r.stdout)
	}
	r = runInProcess(t, append(window, "--dry-run", "--json")...)
	r.mustCode(t, exitOK)
	var doc struct {
		DryRun  bool           `json:"dry_run"`
		Summary map[string]any `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || !doc.DryRun || doc.Summary["deals_created"] != 3.0 {
		t.Errorf("--json report %v: %s", err, r.stdout)
	}

	r = runInProcess(t, window...)
	r.mustCode(t, exitOK)
	origins := dealOrigins(f.bx)
	if len(origins) != 3 {
		t.Errorf("deals for orders %v, want the 3 in the window", origins)
	}
	if n := len(f.bx.Comments()); n != 0 {
		t.Errorf("%d comments: rules fired without --with-rules", n)
	}
	// The rest, with rules: the two orders outside the first window.
	r = runInProcess(t, "--config", cfg, "--db", db, "backfill", "--with-rules")
	r.mustCode(t, exitOK)
	if n := len(f.bx.Comments()); n != 2 || len(dealOrigins(f.bx)) != 5 {
		t.Errorf("with rules: %d comments, %d deals; want 2 and 5", n, len(dealOrigins(f.bx)))
	}
}

// TestBackfillProgressBarOnATerminal runs the real binary on a
// pseudo-terminal: stderr shows the progress bar (orders done of total,
// rate, time left), redrawn in place, and no progress log lines. Without a
// terminal TestBackfillThenPull sees log lines and no bar.
func TestBackfillProgressBarOnATerminal(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	shop.New(5, time.Now(), retailcrmtest.DefaultSite).Seed(f.rc, f.bx, shop.Size{Orders: 400, Customers: 130})
	dir, cfg, db := workFiles(t, f.unlimitedConfig())

	cmd := binaryCommand(dir, "--config", cfg, "--db", db, "backfill")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		// Reading the pty fails with EIO once the process has gone.
		_, _ = io.Copy(&out, tty)
		close(copied)
	}()
	waitExit(t, cmd, 60*time.Second, "backfill on a terminal did not finish")
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if code := cmd.ProcessState.ExitCode(); code != exitParked {
		t.Errorf("exit code %d, want 3 (the shop's unmapped orders)\n%s", code, out.String())
	}
	s := out.String()
	for _, want := range []string{"backfill", "/400", "orders/s", "\r"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "backfill progress") {
		t.Errorf("log lines on a terminal too:\n%q", s)
	}
	if !strings.Contains(s, "crmsync: backfill: 400 of 400 orders") {
		t.Errorf("no summary line:\n%q", s)
	}
}
