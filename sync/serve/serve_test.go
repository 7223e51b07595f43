package serve

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	rcToken = "rc-token-0123456789abcdef"
	bxToken = "bx-app-token-42"
)

// counter is a job that counts its runs and the most that ran at once.
type counter struct {
	runs, active, most atomic.Int32
	hold               time.Duration
	err                func(n int32) error
}

func (c *counter) job(ctx context.Context, _ <-chan struct{}) error {
	n := c.runs.Add(1)
	a := c.active.Add(1)
	defer c.active.Add(-1)
	for {
		m := c.most.Load()
		if a <= m || c.most.CompareAndSwap(m, a) {
			break
		}
	}
	if c.hold > 0 {
		select {
		case <-time.After(c.hold):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if c.err != nil {
		return c.err(n)
	}
	return nil
}

// both counts runs of pull and push together, to see they never overlap.
type both struct {
	pull, push counter
	active     atomic.Int32
	most       atomic.Int32
}

func (b *both) wrap(c *counter) Job {
	return func(ctx context.Context, stop <-chan struct{}) error {
		if a := b.active.Add(1); a > b.most.Load() {
			b.most.Store(a)
		}
		defer b.active.Add(-1)
		return c.job(ctx, stop)
	}
}

func fast() Timing {
	return Timing{Every: time.Hour, Debounce: 40 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MinGap: time.Millisecond, BusyRetry: 30 * time.Millisecond}
}

// start runs s's scheduler until the test ends.
func start(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartRunsBothThenABurstMakesOneRun(t *testing.T) {
	var b both
	tm := fast()
	tm.Debounce, tm.MaxDelay = 250*time.Millisecond, 2*time.Second
	s := New(Options{Pull: b.wrap(&b.pull), Push: b.wrap(&b.push), Timing: tm})
	start(t, s)
	waitFor(t, "the start's runs", func() bool { return b.pull.runs.Load() == 1 && b.push.runs.Load() == 1 })
	for range 30 { // a burst, each wake-up well within the debounce of the one before
		s.Wake(Pull)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "the woken pull", func() bool { return b.pull.runs.Load() >= 2 })
	time.Sleep(400 * time.Millisecond)
	if p, q := b.pull.runs.Load(), b.push.runs.Load(); p != 2 || q != 1 {
		t.Errorf("after a burst of 30 pull wake-ups: %d pulls, %d pushes; want 2 and 1", p, q)
	}
	s.Wake(Push)
	waitFor(t, "the woken push", func() bool { return b.push.runs.Load() == 2 })
	if p := b.pull.runs.Load(); p != 2 {
		t.Errorf("a push wake-up ran pull (%d pulls)", p)
	}
}

func TestWakeDuringARunMakesOneMoreRun(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	pull := func(context.Context, <-chan struct{}) error {
		if started.Add(1) == 2 {
			<-release
		}
		return nil
	}
	s := New(Options{Pull: pull, Timing: fast()})
	start(t, s)
	waitFor(t, "the start's run", func() bool { return started.Load() == 1 })
	s.Wake(Pull)
	waitFor(t, "the second run", func() bool { return started.Load() == 2 })
	for range 50 {
		s.Wake(Pull) // during the run
	}
	close(release)
	waitFor(t, "the run after it", func() bool { return started.Load() == 3 })
	time.Sleep(150 * time.Millisecond)
	if n := started.Load(); n != 3 {
		t.Errorf("%d runs, want 3: the wake-ups during a run make exactly one more", n)
	}
}

func TestScheduleAloneRuns(t *testing.T) {
	var c counter
	tm := fast()
	tm.Every = 30 * time.Millisecond
	s := New(Options{Pull: c.job, Push: c.job, Timing: tm})
	start(t, s)
	waitFor(t, "scheduled runs", func() bool { return c.runs.Load() >= 6 })
}

func TestMinGapBoundsRunsUnderEvents(t *testing.T) {
	var c counter
	tm := fast()
	tm.Debounce, tm.MaxDelay, tm.MinGap = 5*time.Millisecond, 10*time.Millisecond, 100*time.Millisecond
	s := New(Options{Pull: c.job, Timing: tm})
	start(t, s)
	stop := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(stop) {
		s.Wake(Pull)
		time.Sleep(time.Millisecond)
	}
	// 500 ms of constant events at one run per 100 ms gap: the start's run
	// plus at most 5 (one more for timing slack).
	if n := c.runs.Load(); n > 7 || n < 2 {
		t.Errorf("%d runs in 500 ms of constant wake-ups with a 100 ms gap", n)
	}
}

func TestBusyLockIsRetriedAndNotAFailure(t *testing.T) {
	c := counter{err: func(n int32) error {
		if n <= 2 {
			return errors.Join(ErrBusy, errors.New("pid 42 holds the lock"))
		}
		return nil
	}}
	s := New(Options{Pull: c.job, Timing: fast()})
	start(t, s)
	waitFor(t, "the retried run", func() bool { return c.runs.Load() == 3 })
	waitFor(t, "its result", func() bool { return len(s.sched.runs()) == 1 })
	if r := s.sched.runs()[0]; r.Result != ResultOK {
		t.Errorf("last run %+v", r)
	}
}

func TestHealthz(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	push := func(context.Context, <-chan struct{}) error {
		if fail.Load() {
			return errors.New("bitrix: https://p.example/rest/1/SECRETCODE/ answered 500")
		}
		return nil
	}
	partial := func(context.Context, <-chan struct{}) error { return ErrPartial }
	s := New(Options{Pull: partial, Push: push, Timing: fast(),
		Redact: func(v string) string { return strings.ReplaceAll(v, "SECRETCODE", "***") }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	code, body := get(t, srv.URL+"/healthz")
	if code != http.StatusOK || !strings.Contains(body, `"starting"`) {
		t.Errorf("before any run: %d %s", code, body)
	}
	start(t, s)
	waitFor(t, "both runs", func() bool { return len(s.sched.runs()) == 2 })
	code, body = get(t, srv.URL+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"failing"`) || !strings.Contains(body, `"partial"`) {
		t.Errorf("after a failed push: %d %s", code, body)
	}
	if strings.Contains(body, "SECRETCODE") || !strings.Contains(body, "/rest/1/***/") {
		t.Errorf("healthz shows the run's error unredacted: %s", body)
	}
	fail.Store(false)
	s.Wake(Push)
	waitFor(t, "a good push", func() bool {
		c, _ := get(t, srv.URL+"/healthz")
		return c == http.StatusOK
	})
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, u, contentType, body string) int {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func bitrixForm(event, token string) string {
	v := url.Values{"event": {event}, "event_handler_id": {"7"}, "data[FIELDS][ID]": {"759"}, "ts": {"1736405807"},
		"auth[domain]": {"p.bitrix24.ru"}, "auth[member_id]": {"a223c6b3710f85df22e9377d6c4f7553"}}
	if token != "" {
		v.Set("auth[application_token]", token)
	}
	return v.Encode()
}

const form = "application/x-www-form-urlencoded"

// TestHooks: what each request to the hooks answers and what it wakes;
// nothing runs here (no scheduler), the pending kinds tell.
func TestHooks(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxBody+1)
	tests := []struct {
		name, path, ctype, body string
		method                  string
		want                    int
		wakes                   Kind
	}{
		{"retailcrm trigger", "/hooks/retailcrm/" + rcToken, form, "order_id=42", "", 200, Pull},
		{"retailcrm trigger, empty body", "/hooks/retailcrm/" + rcToken, "", "", "", 200, Pull},
		{"retailcrm wrong token", "/hooks/retailcrm/" + rcToken + "x", form, "", "", 401, 0},
		{"retailcrm another token", "/hooks/retailcrm/" + bxToken, form, "", "", 401, 0},
		{"retailcrm oversized", "/hooks/retailcrm/" + rcToken, form, big, "", 413, 0},
		{"retailcrm GET", "/hooks/retailcrm/" + rcToken, "", "", http.MethodGet, 405, 0},
		{"bitrix deal update", "/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", bxToken), "", 200, Push},
		{"bitrix comment add", "/hooks/bitrix", form, bitrixForm("ONCRMTIMELINECOMMENTADD", bxToken), "", 200, Push},
		{"bitrix lead update", "/hooks/bitrix", form, bitrixForm("ONCRMLEADUPDATE", bxToken), "", 200, Push},
		{"bitrix JSON body", "/hooks/bitrix", "application/json", `{"event":"ONCRMDEALUPDATE","data":{"FIELDS":{"ID":"759"}},"auth":{"application_token":"` + bxToken + `"}}`, "", 200, Push},
		{"bitrix other event", "/hooks/bitrix", form, bitrixForm("ONCRMCONTACTUPDATE", bxToken), "", 200, 0},
		{"bitrix wrong token", "/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", bxToken+"0"), "", 401, 0},
		{"bitrix no token", "/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", ""), "", 401, 0},
		{"bitrix retailcrm's token", "/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", rcToken), "", 401, 0},
		{"bitrix oversized", "/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", bxToken) + "&pad=" + big, "", 413, 0},
		{"bitrix no event", "/hooks/bitrix", form, "auth[application_token]=" + bxToken, "", 400, 0},
		{"bitrix broken JSON", "/hooks/bitrix", "application/json", `{"event":`, "", 401, 0},
		{"bitrix broken JSON with the token", "/hooks/bitrix", "application/json", `{"auth":{"application_token":"` + bxToken + `"},"event":`, "", 401, 0},
		{"bitrix JSON without event", "/hooks/bitrix", "application/json", `{"auth":{"application_token":"` + bxToken + `"}}`, "", 400, 0},
		// A wrong token is 401 whatever else the request lacks.
		{"bitrix wrong token, no event", "/hooks/bitrix", form, "auth[application_token]=" + bxToken + "0", "", 401, 0},
		{"bitrix empty body", "/hooks/bitrix", form, "", "", 401, 0},
		{"bitrix bad form encoding", "/hooks/bitrix", form, "event=%zz&auth[application_token]=" + bxToken, "", 400, 0},
		{"unknown path", "/hooks/other", form, "", "", 404, 0},
		{"no page yet", "/", "", "", http.MethodGet, 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{RetailCRMToken: rcToken, BitrixToken: bxToken, Timing: fast()})
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			s.sched.mu.Lock()
			got := s.sched.pending
			s.sched.mu.Unlock()
			if got != tt.wakes {
				t.Errorf("woke %b, want %b", got, tt.wakes)
			}
		})
	}
}

func TestHooksOffWithoutTokens(t *testing.T) {
	s := New(Options{Timing: fast()})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if c := post(t, srv.URL+"/hooks/retailcrm/anything-at-all-0123", form, ""); c != 404 {
		t.Errorf("retailcrm hook without a token configured: %d", c)
	}
	if c := post(t, srv.URL+"/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", "")); c != 404 {
		t.Errorf("bitrix hook without a token configured: %d", c)
	}
}

// TestFloodOfEvents: 1,000 events at once are all answered 200 (no 503),
// runs never overlap, and they make a handful of runs, not a thousand.
func TestFloodOfEvents(t *testing.T) {
	var b both
	b.pull.hold, b.push.hold = 20*time.Millisecond, 20*time.Millisecond
	s := New(Options{Pull: b.wrap(&b.pull), Push: b.wrap(&b.push), Timing: fast(), RetailCRMToken: rcToken, BitrixToken: bxToken})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	start(t, s)

	var wg stdsync.WaitGroup
	var bad atomic.Int32
	sem := make(chan struct{}, 50)
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var code int
			if i%2 == 0 {
				code = post(t, srv.URL+"/hooks/retailcrm/"+rcToken, form, "order_id=1")
			} else {
				code = post(t, srv.URL+"/hooks/bitrix", form, bitrixForm("ONCRMDEALUPDATE", bxToken))
			}
			if code != http.StatusOK {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d of 1000 events were not answered 200", n)
	}
	waitFor(t, "the runs after the flood", func() bool {
		s.sched.mu.Lock()
		defer s.sched.mu.Unlock()
		return s.sched.pending == 0 && !s.sched.running
	})
	if m := b.most.Load(); m != 1 {
		t.Errorf("%d runs at once", m)
	}
	if p, q := b.pull.runs.Load(), b.push.runs.Load(); p > 20 || q > 20 || p < 2 || q < 2 {
		t.Errorf("1000 events made %d pulls and %d pushes", p, q)
	}
	code, body := get(t, srv.URL+"/metrics")
	if code != 200 || !strings.Contains(body, `crmsync_serve_hook_requests_total{outcome="woke",source="bitrix"} 500`) ||
		!strings.Contains(body, `crmsync_serve_hook_requests_total{outcome="woke",source="retailcrm"} 500`) {
		t.Errorf("metrics after the flood:\n%s", body)
	}
}

func TestMetricsServesTheRunMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmsync_last_run_exit_code", Help: "x", ConstLabels: prometheus.Labels{"command": "pull"}})
	g.Set(3)
	reg.MustRegister(g)
	s := New(Options{Metrics: reg, RetailCRMToken: rcToken, Timing: fast()})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post(t, srv.URL+"/hooks/retailcrm/wrong-token-000000000", form, "")
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{`crmsync_last_run_exit_code{command="pull"} 3`, `crmsync_serve_hook_requests_total{outcome="bad_token",source="retailcrm"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

// TestMetricsStartAtZero: a fresh server shows every series its enabled
// endpoints and jobs can move, at 0, so an alert's increase() sees the
// first refused hook; a disabled endpoint shows none.
func TestMetricsStartAtZero(t *testing.T) {
	nop := func(context.Context, <-chan struct{}) error { return nil }
	tests := []struct {
		name         string
		opts         Options
		want, absent []string
	}{
		{"both hooks and jobs", Options{Pull: nop, Push: nop, RetailCRMToken: rcToken, BitrixToken: bxToken},
			[]string{`crmsync_serve_hook_requests_total{outcome="bad_token",source="retailcrm"} 0`,
				`crmsync_serve_hook_requests_total{outcome="bad_token",source="bitrix"} 0`,
				`crmsync_serve_hook_requests_total{outcome="woke",source="bitrix"} 0`,
				`crmsync_serve_hook_requests_total{outcome="ignored",source="bitrix"} 0`,
				`crmsync_serve_runs_total{command="pull",result="failed"} 0`,
				`crmsync_serve_runs_total{command="push",result="ok"} 0`,
				`crmsync_serve_runs_total{command="push",result="busy"} 0`},
			[]string{`outcome="ignored",source="retailcrm"`}},
		{"retailcrm hook, pull only", Options{Pull: nop, RetailCRMToken: rcToken},
			[]string{`crmsync_serve_hook_requests_total{outcome="woke",source="retailcrm"} 0`,
				`crmsync_serve_runs_total{command="pull",result="ok"} 0`},
			[]string{`source="bitrix"`, `command="push"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New(tt.opts).Handler())
			defer srv.Close()
			_, body := get(t, srv.URL+"/metrics")
			for _, w := range tt.want {
				if !strings.Contains(body, w+"\n") {
					t.Errorf("/metrics lacks %s:\n%s", w, body)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(body, a) {
					t.Errorf("/metrics shows %s:\n%s", a, body)
				}
			}
		})
	}
}

func TestPageMountedAtRoot(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "status page") })
	s := New(Options{Page: page, Timing: fast()})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if code, body := get(t, srv.URL+"/"); code != 200 || body != "status page" {
		t.Errorf("GET /: %d %q", code, body)
	}
	if code, _ := get(t, srv.URL+"/nothing"); code != 404 {
		t.Errorf("GET /nothing: %d", code)
	}
}

// TestServeStopsAfterTheRun: ending the context stops accepting and asks
// the run in progress to stop; it finishes its page (its own context still
// live) and returns, and only then does Serve return nil.
func TestServeStopsAfterTheRun(t *testing.T) {
	inRun := make(chan struct{})
	var finished atomic.Bool
	pull := func(ctx context.Context, stop <-chan struct{}) error {
		close(inRun)
		<-stop
		time.Sleep(50 * time.Millisecond) // finishing the page
		if ctx.Err() != nil {
			return ctx.Err() // the page could not finish
		}
		finished.Store(true)
		return nil
	}
	var pushes atomic.Int32
	push := func(context.Context, <-chan struct{}) error { pushes.Add(1); return nil }
	s := New(Options{Pull: pull, Push: push, Timing: fast()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	<-inRun
	if code, _ := get(t, "http://"+ln.Addr().String()+"/healthz"); code != 200 {
		t.Errorf("healthz during the first run: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if !finished.Load() {
		t.Error("the run could not finish its page (its context was cancelled at once), or Serve returned first")
	}
	if n := pushes.Load(); n != 0 {
		t.Errorf("push started after the stop (%d)", n)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting after stopping")
	}
	if r := s.sched.runs(); len(r) != 1 || r[0].Result != ResultOK {
		t.Errorf("runs %+v", r)
	}
}

// TestStopGraceCancelsAStuckRun: a run that ignores the stop has its
// context cancelled after the grace period.
func TestStopGraceCancelsAStuckRun(t *testing.T) {
	inRun := make(chan struct{})
	pull := func(ctx context.Context, _ <-chan struct{}) error {
		close(inRun)
		<-ctx.Done()
		return ctx.Err()
	}
	tm := fast()
	tm.Grace = 100 * time.Millisecond
	s := New(Options{Pull: pull, Timing: tm})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	<-inRun
	stopped := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck run was never cancelled")
	}
	if took := time.Since(stopped); took < 100*time.Millisecond {
		t.Errorf("cancelled after %v, before the grace period", took)
	}
	if r := s.sched.runs(); len(r) != 1 || r[0].Result != ResultInterrupted {
		t.Errorf("runs %+v", r)
	}
}

func TestPanickingJobIsAFailedRun(t *testing.T) {
	s := New(Options{Pull: func(context.Context, <-chan struct{}) error { panic("boom") }, Timing: fast()})
	start(t, s)
	waitFor(t, "the run", func() bool { return len(s.sched.runs()) == 1 })
	if r := s.sched.runs()[0]; r.Result != ResultFailed || !strings.Contains(r.Error, "boom") {
		t.Errorf("%+v", r)
	}
}
