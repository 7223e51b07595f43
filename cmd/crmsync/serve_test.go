package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
)

const (
	serveRCToken = "rc-serve-token-0123456789abcdef"
	serveBXToken = "bx-serve-app-token-4242"
)

// freeAddr is a local address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// served is a crmsync serve process; its stderr goes to a file, read once
// it has exited.
type served struct {
	cmd    *exec.Cmd
	addr   string
	stderr string // the file
}

func startServe(t *testing.T, dir, cfg, db string, args ...string) *served {
	t.Helper()
	return startServeAt(t, freeAddr(t), dir, cfg, db, args...)
}

// startServeAt starts serve on addr: an address known before the start, for
// a handler URL registered in a fake before serve runs.
func startServeAt(t *testing.T, addr, dir, cfg, db string, args ...string) *served {
	t.Helper()
	s := &served{addr: addr, stderr: filepath.Join(dir, fmt.Sprintf("serve-%d.log", time.Now().UnixNano()))}
	f, err := os.Create(s.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s.cmd = binaryCommand(dir, append([]string{"--config", cfg, "--db", db, "serve", "--listen", s.addr}, args...)...)
	s.cmd.Stderr, s.cmd.Stdout = f, f
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	eventually(t, 30*time.Second, "serve answering /healthz", func() bool {
		resp, err := http.Get(s.url("/healthz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return s
}

func (s *served) url(path string) string { return "http://" + s.addr + path }

// get fetches path from serve: the response, its body read and closed, and
// the body.
func (s *served) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(s.url(path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// stop sends SIGTERM and returns the exit code and the log.
func (s *served) stop(t *testing.T) (int, string) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, s.cmd, time.Minute, "serve did not stop on SIGTERM")
	log, _ := os.ReadFile(s.stderr)
	return s.cmd.ProcessState.ExitCode(), string(log)
}

// stopCleanly stops serve with SIGTERM and wants exit 0 and none of
// secrets in its log.
func (s *served) stopCleanly(t *testing.T, secrets ...string) {
	t.Helper()
	code, log := s.stop(t)
	if code != exitOK {
		t.Errorf("SIGTERM: exit %d, want 0\n%s", code, log)
	}
	for _, secret := range secrets {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows a secret:\n%s", log)
		}
	}
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f fakes) serveConfig(tokens bool) string {
	c := f.pullConfig()
	if tokens {
		c += "serve:\n  retailcrm_token: " + serveRCToken + "\n  bitrix_token: " + serveBXToken + "\n"
	}
	return c
}

// dealOf is the deal of order id, if there is one.
func dealOf(bx *bitrixtest.Server, id int64) (bitrixtest.Row, bool) {
	for _, d := range bx.Deals() {
		if bitrixtest.Str(d.Fields["ORIGIN_ID"]) == itoa(id) {
			return d, true
		}
	}
	return bitrixtest.Row{}, false
}

func dealSum(bx *bitrixtest.Server, id int64) decimal.Decimal {
	d, ok := dealOf(bx, id)
	if !ok {
		return decimal.Zero
	}
	v, _ := decimal.NewFromString(bitrixtest.Str(d.Fields["OPPORTUNITY"]))
	return v
}

// TestServeLatency measures, with serve running against the fakes and the
// fake RetailCRM calling serve like a trigger, the time from an order
// change to the deal's update. The figures go to BENCHMARKS.md (serve
// latency). The schedule is 10 minutes, so only the wake-ups can explain a
// sync within seconds.
func TestServeLatency(t *testing.T) {
	skipShort(t, "measures for a minute or more")
	f := defaultFakes(t)
	rc, bx := f.rc, f.bx
	dir, cfg, db := workFiles(t, f.serveConfig(true))
	var ids []int64
	for i := range 5 {
		ids = append(ids, f.order(fmt.Sprintf("Buyer%d", i), "", 1000).ID)
	}
	s := startServe(t, dir, cfg, db, "--every", "10m")
	rc.SetTrigger(&retailcrmtest.Trigger{URL: s.url("/hooks/retailcrm/" + serveRCToken)})
	eventually(t, 30*time.Second, "the first run's deals", func() bool { return len(bx.Deals()) == len(ids) })

	samples := measureLatency(t, 24, 19, "order change -> deal update", func(i int) (string, func() bool) {
		id, total := ids[i%len(ids)], int64(2000+i)
		sum := decimal.NewFromInt(total)
		f.setTotal(t, id, total)
		return fmt.Sprintf("deal of order %d at %s", id, sum), func() bool { return dealSum(bx, id).Equal(sum) }
	})
	if ok, failed, dropped := rc.TriggerCalls(); failed != 0 || dropped != 0 || ok < samples {
		t.Errorf("trigger calls: %d ok, %d failed, %d dropped", ok, failed, dropped)
	}

	s.stopCleanly(t, serveRCToken, serveBXToken, rc.APIKey())
}

// measureLatency makes samples changes (def of them, or
// CRMSYNC_SERVE_SAMPLES), each at a random moment from a generator seeded
// with seed: change(i) makes the i-th and returns what to wait for and when
// it has arrived. It logs the latencies' spread under what, wants a p50
// within 5 s and returns how many samples it took.
func measureLatency(t *testing.T, def int, seed uint64, what string, change func(i int) (string, func() bool)) int {
	t.Helper()
	samples := def
	if v, err := strconv.Atoi(os.Getenv("CRMSYNC_SERVE_SAMPLES")); err == nil && v > 0 {
		samples = v
	}
	rng := rand.New(rand.NewPCG(19, seed))
	var lat []time.Duration
	for i := range samples {
		time.Sleep(time.Duration(1000+rng.IntN(3000)) * time.Millisecond) // a random moment
		changed := time.Now()
		waitFor, arrived := change(i)
		eventually(t, 60*time.Second, waitFor, arrived)
		lat = append(lat, time.Since(changed))
	}
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[(len(lat)*95+99)/100-1]
	t.Logf("serve latency, %s, %d samples: p50 %v, p95 %v, min %v, max %v",
		what, len(lat), p50.Round(10*time.Millisecond), p95.Round(10*time.Millisecond), lat[0].Round(10*time.Millisecond), lat[len(lat)-1].Round(10*time.Millisecond))
	if p50 > 5*time.Second {
		t.Errorf("p50 %v, target 5 s", p50)
	}
	return samples
}

// serveRunCounts reads crmsync_serve_runs_total from /metrics, summed by
// command over the results.
func serveRunCounts(t *testing.T, s *served) map[string]int {
	t.Helper()
	_, body := s.get(t, "/metrics")
	out := map[string]int{}
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, `crmsync_serve_runs_total{command="`)
		if !ok {
			continue
		}
		command, _, _ := strings.Cut(rest, `"`)
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[command] += int(v)
	}
	return out
}

// rcWrites counts the requests that change something in RetailCRM.
func rcWrites(rc *retailcrmtest.Server) int {
	n := 0
	for _, r := range rc.RequestLog() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

// TestServePushLatency is the push direction of TestServeLatency: the fake
// portal calls serve's /hooks/bitrix from an outbound webhook (deal updates
// and timeline comments) whose token the administrator copied into
// serve.bitrix_token; a manager moves a deal and writes a comment, and the
// test measures the time until the order's status and manager comment
// change. The schedule is 10 minutes, so only the events can explain a sync
// within seconds. Then the loop stays bounded: an order change makes one
// pull, whose deal update wakes one push that writes nothing, and then
// nothing runs.
func TestServePushLatency(t *testing.T) {
	skipShort(t, "measures for a minute or more")
	f := defaultFakes(t)
	rc, bx := f.rc, f.bx
	addr := freeAddr(t)
	bxToken := bx.AddOutboundWebhook("http://"+addr+"/hooks/bitrix", "ONCRMDEALUPDATE", "ONCRMTIMELINECOMMENTADD")
	dir, cfg, db := workFiles(t, `retailcrm:
  url: `+rc.URL()+`
  api_key: `+rc.APIKey()+`
  rate: 50
bitrix:
  webhook_url: `+bx.WebhookURL()+`
  rate: 50
mapping:
  statuses:
    new: NEW
    client-confirmed: PREPARATION
    complete: WON
serve:
  retailcrm_token: `+serveRCToken+`
  bitrix_token: `+bxToken+`
`)
	var ids []int64
	for i := range 5 {
		ids = append(ids, f.order(fmt.Sprintf("Buyer%d", i), "", 1000).ID) // in status new, the fake's default
	}
	s := startServeAt(t, addr, dir, cfg, db, "--every", "10m")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(s.stderr)
			t.Logf("serve log:\n%s", b)
		}
	})
	rc.SetTrigger(&retailcrmtest.Trigger{URL: s.url("/hooks/retailcrm/" + serveRCToken)})
	eventually(t, 30*time.Second, "the first run's deals", func() bool { return len(bx.Deals()) == len(ids) })
	deals := make([]int64, len(ids))
	for i, id := range ids {
		d, _ := dealOf(bx, id)
		deals[i] = d.ID
	}
	time.Sleep(8 * time.Second) // the start's runs and what their writes woke

	samples := measureLatency(t, 18, 20, "deal moved and commented in Bitrix24 -> order status and manager comment", func(i int) (string, func() bool) {
		k := i % len(ids)
		stage, status := "PREPARATION", "client-confirmed"
		if (i/len(ids))%2 == 1 {
			stage, status = "NEW", "new"
		}
		text := fmt.Sprintf("Call the client back, note %d", i)
		if err := bx.MoveDeal(deals[k], stage, 7); err != nil {
			t.Fatal(err)
		}
		bx.AddComment("deal", deals[k], 7, text)
		return fmt.Sprintf("order %d in %s with note %d", ids[k], status, i), func() bool {
			o, ok := rc.Order(ids[k])
			return ok && o.Status == status && strings.Contains(o.ManagerComment, text)
		}
	})

	// The loop serve could feed: a change in RetailCRM wakes pull (the
	// trigger), pull's deal update fires ONCRMDEALUPDATE, which wakes push;
	// push finds nothing a person did and writes nothing, so no trigger
	// fires and the chain ends. First let the last sample's echoes (the
	// trigger on push's own edit wakes a pull that drops it) die out.
	time.Sleep(8 * time.Second)
	runs0, writes0 := serveRunCounts(t, s), rcWrites(rc)
	sum := decimal.NewFromInt(1234)
	f.setTotal(t, ids[0], 1234)
	eventually(t, 30*time.Second, "the deal's new sum", func() bool { return dealSum(bx, ids[0]).Equal(sum) })
	time.Sleep(10 * time.Second)
	runs1 := serveRunCounts(t, s)
	time.Sleep(6 * time.Second) // longer than the debounce and the gap: a run woken by the last one would start here
	runs2, writes2 := serveRunCounts(t, s), rcWrites(rc)
	pulls, pushes := runs2["pull"]-runs0["pull"], runs2["push"]-runs0["push"]
	t.Logf("one order change, then quiet: %d pull, %d push; %d writes to RetailCRM", pulls, pushes, writes2-writes0)
	if pulls != 1 || pushes != 1 {
		t.Errorf("%d pulls and %d pushes after one order change, want 1 and 1 (pull, then the push its deal update woke)", pulls, pushes)
	}
	if runs2["pull"] != runs1["pull"] || runs2["push"] != runs1["push"] {
		t.Errorf("runs still going after 10 quiet seconds: %v, then %v", runs1, runs2)
	}
	if writes2 != writes0 {
		t.Errorf("%d writes to RetailCRM after an order change in RetailCRM", writes2-writes0)
	}

	// Every event reached serve with the right token and was answered 200.
	if err := bx.WaitDeliveries(t.Context()); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, d := range bx.Deliveries() {
		counts[d.Event]++
		if d.Status != http.StatusOK {
			t.Errorf("%s delivered to serve: %d %v", d.Event, d.Status, d.Err)
		}
	}
	if counts["ONCRMDEALUPDATE"] < samples || counts["ONCRMTIMELINECOMMENTADD"] < samples {
		t.Errorf("deliveries %v, want at least %d of each", counts, samples)
	}
	s.stopCleanly(t, serveRCToken, bxToken, rc.APIKey(), bx.Secret())
}

// TestServeScheduleAloneSyncs: without tokens (events off) the endpoints
// are off and the schedule alone syncs every change.
func TestServeScheduleAloneSyncs(t *testing.T) {
	f := defaultFakes(t)
	bx := f.bx
	dir, cfg, db := workFiles(t, f.serveConfig(false))
	first := f.order("Anna", "", 100)
	s := startServe(t, dir, cfg, db, "--every", "10s")
	eventually(t, 30*time.Second, "the first runs", func() bool { return healthRuns(t, s) == 2 })
	if len(bx.Deals()) != 1 {
		t.Fatalf("%d deals after the first run", len(bx.Deals()))
	}
	if c := postForm(t, s.url("/hooks/retailcrm/"+serveRCToken), ""); c != http.StatusNotFound {
		t.Errorf("retailcrm hook without a token: %d, want 404", c)
	}
	// The status page is mounted at / and shows the runs serve made.
	resp, page := s.get(t, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page, "pull") || !strings.Contains(page, "<svg") {
		t.Errorf("GET /: %d %s\n%.400s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	started := time.Now()
	second := f.order("Boris", "", 200)
	f.setTotal(t, first.ID, 150)
	eventually(t, 40*time.Second, "the schedule's sync", func() bool {
		return dealSum(bx, first.ID).Equal(decimal.NewFromInt(150)) && dealSum(bx, second.ID).Equal(decimal.NewFromInt(200))
	})
	took := time.Since(started)
	t.Logf("synced by the schedule alone after %v", took.Round(100*time.Millisecond))
	if took < 5*time.Second {
		t.Errorf("synced after %v: something other than the 10 s schedule ran", took)
	}
	if code, log := s.stop(t); code != exitOK {
		t.Errorf("exit %d\n%s", code, log)
	}
}

func postForm(t *testing.T, u, body string) int {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestServeRefusesWrongTokens: wrong tokens are 401, start no run, and the
// log names neither the right nor the wrong token.
func TestServeRefusesWrongTokens(t *testing.T) {
	f := defaultFakes(t)
	rc, bx := f.rc, f.bx
	dir, cfg, db := workFiles(t, f.serveConfig(true))
	s := startServe(t, dir, cfg, db, "--every", "10m")
	eventually(t, 30*time.Second, "the first runs", func() bool { return healthRuns(t, s) == 2 })
	before := rc.Requests("/api/v5/orders/history")

	wrong := "wrong-token-0123456789abcdefgh"
	f.order("Anna", "", 0)
	for range 20 {
		if c := postForm(t, s.url("/hooks/retailcrm/"+wrong), "order_id=1"); c != http.StatusUnauthorized {
			t.Fatalf("wrong retailcrm token: %d", c)
		}
		form := url.Values{"event": {"ONCRMDEALUPDATE"}, "data[FIELDS][ID]": {"1"}, "auth[application_token]": {wrong}}
		if c := postForm(t, s.url("/hooks/bitrix"), form.Encode()); c != http.StatusUnauthorized {
			t.Fatalf("wrong bitrix token: %d", c)
		}
	}
	if c := postForm(t, s.url("/hooks/retailcrm/"+serveRCToken), strings.Repeat("x", 1<<20)); c != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", c)
	}
	time.Sleep(4 * time.Second) // longer than the debounce and the gap
	if n := rc.Requests("/api/v5/orders/history"); n != before {
		t.Errorf("refused hooks started a pull (%d history requests, %d before)", n, before)
	}
	if len(bx.Deals()) != 0 {
		t.Error("a refused hook synced the order")
	}
	_, metricsText := s.get(t, "/metrics")
	for _, want := range []string{`crmsync_serve_hook_requests_total{outcome="bad_token",source="retailcrm"} 20`,
		`crmsync_serve_hook_requests_total{outcome="bad_token",source="bitrix"} 20`,
		`crmsync_last_run_result{command="pull",result="ok"} 1`, `crmsync_last_run_api_requests{api="retailcrm",command="pull"}`} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, log := s.stop(t)
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	for _, secret := range []string{serveRCToken, serveBXToken, wrong} {
		if strings.Contains(log, secret) || strings.Contains(metricsText, secret) {
			t.Errorf("a token is in the log or the metrics:\n%s", log)
		}
	}
}

func healthRuns(t *testing.T, s *served) int {
	t.Helper()
	resp, err := http.Get(s.url("/healthz"))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var h struct {
		Runs []struct{ Command, Result string }
	}
	if json.NewDecoder(resp.Body).Decode(&h) != nil {
		return 0
	}
	return len(h.Runs)
}

// TestServeWaitsForACronRunsLock: with the lock held by another process,
// serve retries instead of failing, and syncs once the lock is free.
func TestServeWaitsForACronRunsLock(t *testing.T) {
	f := defaultFakes(t)
	bx := f.bx
	dir, cfg, db := workFiles(t, f.serveConfig(true))
	f.order("Anna", "", 0)
	holder := startLockHolder(t, db)
	s := startServe(t, dir, cfg, db, "--every", "10m")
	time.Sleep(2 * time.Second)
	if len(bx.Deals()) != 0 {
		t.Fatal("serve ran while another process held the lock")
	}
	if resp, _ := s.get(t, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz %d while waiting for the lock (a held lock is not a failure)", resp.StatusCode)
	}
	_ = holder.Process.Kill()
	_ = holder.Wait()
	eventually(t, 40*time.Second, "the sync after the lock was freed", func() bool { return len(bx.Deals()) == 1 })
	code, log := s.stop(t)
	if code != exitOK || !strings.Contains(log, "lock is held") {
		t.Errorf("exit %d; log:\n%s", code, log)
	}
}

// TestServeSIGTERMDuringARun: SIGTERM while the first pull is busy lets
// it finish its page and stops serve with 0; the next start continues and
// no order gets two deals. A cron run meanwhile exits 5.
func TestServeSIGTERMDuringARun(t *testing.T) {
	f := defaultFakes(t)
	bx := f.bx
	const orders = 300
	f.buyers(0, orders)
	// Each portal answer takes 200 ms: the first pull takes seconds.
	bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultSlow, Delay: 200 * time.Millisecond, Probability: 1})
	dir, cfg, db := workFiles(t, f.serveConfig(true))
	s := startServe(t, dir, cfg, db, "--every", "10m")
	eventually(t, 60*time.Second, "the first deals", func() bool { return len(bx.Deals()) > 0 })
	// A cron run while serve's run holds the lock exits 5 and names serve.
	if cron := runBinary(t, dir, nil, "--config", cfg, "--db", db, "pull"); cron.code != exitLocked ||
		!strings.Contains(cron.stderr, "in use by crmsync serve (pull)") {
		t.Errorf("cron pull during serve's run: exit %d, want 5\n%s", cron.code, cron.stderr)
	}
	code, log := s.stop(t)
	if code != exitOK {
		t.Fatalf("SIGTERM during a run: exit %d, want 0\n%s", code, log)
	}
	// The page in progress was finished, not abandoned: its deals are
	// counted and the run says why it stopped.
	if !strings.Contains(log, "deals created 100,") || !strings.Contains(log, "stopped early: stop") ||
		!strings.Contains(log, "stopped at a page boundary") {
		t.Errorf("the run did not finish its page on SIGTERM:\n%s", log)
	}
	if n := len(bx.Deals()); n >= orders {
		t.Logf("the run finished before the signal (%d deals); the test proves less", n)
	}
	bx.ClearFaults()
	s = startServe(t, dir, cfg, db, "--every", "10m")
	eventually(t, 60*time.Second, "every order's deal", func() bool { return len(bx.Deals()) >= orders })
	if code, log := s.stop(t); code != exitOK {
		t.Errorf("second serve: exit %d\n%s", code, log)
	}
	for origin, n := range dealOrigins(bx) {
		if n != 1 {
			t.Errorf("order %s has %d deals", origin, n)
		}
	}
	if n := len(bx.Deals()); n != orders {
		t.Errorf("%d deals for %d orders", n, orders)
	}
}

// TestServeFloodOfEvents: 1,000 events in a few seconds against serve with
// both services at their real limits (RetailCRM 10 rps, the portal 2 rps,
// burst 50), half of them forged (a wrong token, from either source):
// every good event is answered 200 and every forged one 401, /healthz never
// turns 503, runs never overlap and stay few, neither service answers 503,
// and every change arrives.
func TestServeFloodOfEvents(t *testing.T) {
	f := fakes{rc: retailcrmtest.New(t, retailcrmtest.Options{RPS: 10}), bx: bitrixtest.New(t, bitrixtest.Options{Rate: 2, Burst: 50})}
	rc, bx := f.rc, f.bx
	dir, cfg, db := workFiles(t, `retailcrm:
  url: `+rc.URL()+`
  api_key: `+rc.APIKey()+`
bitrix:
  webhook_url: `+bx.WebhookURL()+`
  rate: 2
  burst: 50
mapping:
  statuses:
    new: NEW
    group:complete: WON
serve:
  retailcrm_token: `+serveRCToken+`
  bitrix_token: `+serveBXToken+`
`)
	var ids []int64
	for i := range 10 {
		ids = append(ids, f.order(fmt.Sprintf("Buyer%d", i), "", 100).ID)
	}
	s := startServe(t, dir, cfg, db, "--every", "10m")
	eventually(t, 60*time.Second, "the first runs", func() bool { return healthRuns(t, s) == 2 })

	const events = 1000
	const forged = "forged-token-0123456789abcdef"
	jobs := make(chan int)
	bad := make(chan string, events)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sem := make(chan struct{}, 25)
		for i := range jobs {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				// i%4: 0 retailcrm, 1 bitrix, 2 retailcrm forged, 3 bitrix forged.
				rcToken, bxToken, want := serveRCToken, serveBXToken, http.StatusOK
				if i%4 >= 2 {
					rcToken, bxToken, want = forged, forged, http.StatusUnauthorized
				}
				var u, body string
				if i%2 == 0 {
					u, body = s.url("/hooks/retailcrm/"+rcToken), "order_id=1"
				} else {
					u, body = s.url("/hooks/bitrix"), url.Values{"event": {"ONCRMDEALUPDATE"}, "data[FIELDS][ID]": {"1"},
						"auth[application_token]": {bxToken}}.Encode()
				}
				resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
				if err != nil {
					bad <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					bad <- fmt.Sprintf("event %d: %s, want %d", i, resp.Status, want)
				}
			}()
		}
		for range cap(sem) {
			sem <- struct{}{}
		}
	}()
	started := time.Now()
	unhealthy := 0
	for i := range events {
		jobs <- i
		if i%100 == 0 {
			id := ids[(i/100)%len(ids)]
			f.setTotal(t, id, int64(500+i))
			if resp, err := http.Get(s.url("/healthz")); err == nil {
				if resp.StatusCode != http.StatusOK {
					unhealthy++
				}
				resp.Body.Close()
			}
		}
		time.Sleep(3 * time.Millisecond)
	}
	close(jobs)
	<-done
	flood := time.Since(started)
	close(bad)
	for b := range bad {
		t.Errorf("%s", b)
	}
	if unhealthy > 0 {
		t.Errorf("/healthz was not 200 %d times during the flood", unhealthy)
	}
	for i := 0; i < events; i += 100 {
		id, want := ids[(i/100)%len(ids)], decimal.NewFromInt(int64(500+i))
		if i+len(ids)*100 < events { // a later change of the same order wins
			continue
		}
		eventually(t, 60*time.Second, fmt.Sprintf("order %d's last change", id), func() bool { return dealSum(bx, id).Equal(want) })
	}
	time.Sleep(5 * time.Second) // let the runs the flood asked for end
	if n := bx.Stats().QueryLimit503; n != 0 {
		t.Errorf("the portal answered QUERY_LIMIT_EXCEEDED %d times", n)
	}
	if n := rc.FaultsServed(retailcrmtest.FaultRateLimit); n != 0 {
		t.Errorf("RetailCRM answered 503 (over its limit) %d times", n)
	}
	_, metricsText := s.get(t, "/metrics")
	for _, want := range []string{
		`crmsync_serve_hook_requests_total{outcome="woke",source="retailcrm"} 250`,
		`crmsync_serve_hook_requests_total{outcome="woke",source="bitrix"} 250`,
		`crmsync_serve_hook_requests_total{outcome="bad_token",source="retailcrm"} 250`,
		`crmsync_serve_hook_requests_total{outcome="bad_token",source="bitrix"} 250`,
	} {
		if !strings.Contains(metricsText, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, log := s.stop(t)
	if strings.Contains(log, forged) {
		t.Error("the log shows a forged token")
	}
	if code != exitOK {
		t.Errorf("exit %d\n%s", code, log)
	}

	st, err := store.Open(t.Context(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var all []store.Run
	for _, c := range []string{"pull", "push"} {
		r, err := st.Runs(t.Context(), c, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r...)
	}
	slices.SortFunc(all, func(a, b store.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	for i := 1; i < len(all); i++ {
		if all[i].StartedAt.Before(all[i-1].EndedAt) {
			t.Errorf("runs overlap: %s %v–%v and %s from %v", all[i-1].Command, all[i-1].StartedAt, all[i-1].EndedAt, all[i].Command, all[i].StartedAt)
		}
	}
	// The start's pull and push, then at most one pair per debounce-and-gap
	// (5 s) of the flood, plus the one after it.
	if limit := 2 + 2*(int(flood/(5*time.Second))+2); len(all) > limit {
		t.Errorf("%d runs for %d events in %v (at most %d)", len(all), events, flood.Round(time.Second), limit)
	}
	t.Logf("%d events in %v made %d runs; neither service answered 503", events, flood.Round(100*time.Millisecond), len(all))
}

// TestServeFlagsAndConfig: --every and --listen go through the
// configuration's checks (exit 4 naming the key), usage errors exit 2.
func TestServeFlagsAndConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--every", "1s"}, exitConfig, "serve.every: must be between 10s and 24h0m0s"},
		{[]string{"serve", "--listen", "nowhere"}, exitConfig, "serve.listen: must be HOST:PORT"},
		{[]string{"serve", "extra"}, exitUsage, "takes no arguments"},
		{[]string{"serve", "--every", "soon"}, exitUsage, "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			t.Parallel()
			wantRefused(t, "https://127.0.0.1:1", tt.args, tt.code, tt.want)
		})
	}
}

// TestServeSecondSignalExitsAtOnce: the first SIGTERM lets the run in
// progress finish its page; a second one does not wait for it: serve exits
// at once with 130. A later start continues without duplicates.
func TestServeSecondSignalExitsAtOnce(t *testing.T) {
	f := defaultFakes(t)
	bx := f.bx
	const orders = 200
	f.buyers(0, orders)
	// Each portal answer takes a second: finishing the page takes far
	// longer than the test allows the second signal.
	bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultSlow, Delay: time.Second, Probability: 1})
	dir, cfg, db := workFiles(t, f.serveConfig(true))
	s := startServe(t, dir, cfg, db, "--every", "10m")
	eventually(t, 60*time.Second, "the first run busy on the portal", func() bool { return bx.Stats().Requests > 2 })
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, s.cmd, time.Minute, "serve did not stop on the second SIGTERM")
	took := time.Since(start)
	log, _ := os.ReadFile(s.stderr)
	if code := s.cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("second SIGTERM: exit %d, want 130\n%s", code, log)
	}
	if bound := promptBound(t, dir); took > bound {
		t.Errorf("the second signal took %v to stop serve (prompt is under %v on this machine now)", took, bound)
	}
	if !strings.Contains(string(log), "second signal") {
		t.Errorf("the log does not say why it stopped:\n%s", log)
	}
	bx.ClearFaults()
	s = startServe(t, dir, cfg, db, "--every", "10m")
	eventually(t, 90*time.Second, "every order's deal", func() bool { return len(bx.Deals()) >= orders })
	s.stopCleanly(t)
	for origin, n := range dealOrigins(bx) {
		if n != 1 {
			t.Errorf("order %s has %d deals", origin, n)
		}
	}
}
