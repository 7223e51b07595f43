package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMaxBody caps a hook's body: the events crmsync reads are a few
// hundred bytes; anything far larger is not one of them.
const DefaultMaxBody = 64 << 10

// shutdownTimeout is how long stopping waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// Options configure a Server.
type Options struct {
	// Pull and Push run one pull or push, taking the database's run lock
	// (ErrBusy when another process holds it, ErrPartial when items were
	// parked). Either may be nil.
	Pull, Push Job
	Timing     Timing
	// RetailCRMToken is the secret path segment of /hooks/retailcrm/<token>;
	// BitrixToken the outbound webhook's application token. An empty token
	// turns its endpoint off (404).
	RetailCRMToken, BitrixToken string
	// MaxBody caps a hook's body (413 beyond it); default DefaultMaxBody.
	MaxBody int64
	// Metrics are the run metrics (the --metrics-file ones, live), served
	// at /metrics with serve's own.
	Metrics prometheus.Gatherer
	// Page is mounted at GET / when set (the status page); else / is 404.
	Page   http.Handler
	Logger *slog.Logger
	// Redact hides secrets in the run errors /healthz shows.
	Redact func(string) string
}

// Server is crmsync serve: the scheduler and its HTTP endpoints.
type Server struct {
	opts  Options
	sched *scheduler
	log   *slog.Logger

	reg     *prometheus.Registry
	hooks   *prometheus.CounterVec
	runsCtr *prometheus.CounterVec
}

// Hook outcomes, the outcome label of crmsync_serve_hook_requests_total.
const (
	hookWoke     = "woke"
	hookIgnored  = "ignored"
	hookBadToken = "bad_token"
	hookTooLarge = "too_large"
	hookBad      = "bad_request"
)

// New builds a Server.
func New(opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Redact == nil {
		opts.Redact = func(s string) string { return s }
	}
	s := &Server{opts: opts, log: opts.Logger, reg: prometheus.NewRegistry()}
	s.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_serve_hook_requests_total",
		Help: "Requests to serve's wake-up endpoints, by source (retailcrm, bitrix) and outcome (woke, ignored, bad_token, too_large, bad_request)."},
		[]string{"source", "outcome"})
	s.runsCtr = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmsync_serve_runs_total",
		Help: "Runs serve started, by command and result (ok, partial, failed, interrupted, busy: the lock was held)."},
		[]string{"command", "result"})
	s.reg.MustRegister(s.hooks, s.runsCtr)
	// Every series an endpoint or a job can move exists from the start at
	// 0: increase() counts a series' first step only from a sample before
	// it, so the first refused hooks would go unseen by an alert
	// (deploy/prometheus/crmsync.rules.yml), and a panel would draw nothing
	// instead of 0.
	for _, h := range []struct {
		source, token string
		outcomes      []string
	}{
		{"retailcrm", opts.RetailCRMToken, []string{hookWoke, hookBadToken, hookTooLarge, hookBad}},
		{"bitrix", opts.BitrixToken, []string{hookWoke, hookIgnored, hookBadToken, hookTooLarge, hookBad}},
	} {
		if h.token == "" {
			continue // the endpoint is off (404) and counts nothing
		}
		for _, o := range h.outcomes {
			s.hooks.WithLabelValues(h.source, o)
		}
	}
	for command, job := range map[string]Job{"pull": opts.Pull, "push": opts.Push} {
		if job == nil {
			continue
		}
		for _, r := range []string{ResultOK, ResultPartial, ResultFailed, ResultInterrupted, ResultBusy} {
			s.runsCtr.WithLabelValues(command, r)
		}
	}
	s.sched = newScheduler(opts.Pull, opts.Push, opts.Timing, opts.Logger, opts.Redact,
		func(cmd, result string) { s.runsCtr.WithLabelValues(cmd, result).Inc() })
	return s
}

// Wake asks for a run of kinds after the debounce, as an event does.
func (s *Server) Wake(kinds Kind) { s.sched.wake(kinds) }

// Handler is serve's HTTP interface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/retailcrm/{token}", s.retailcrmHook)
	mux.HandleFunc("POST /hooks/bitrix", s.bitrixHook)
	mux.HandleFunc("GET /healthz", s.healthz)
	var g prometheus.Gatherer = s.reg
	if s.opts.Metrics != nil {
		g = prometheus.Gatherers{s.opts.Metrics, s.reg}
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.log}}))
	if s.opts.Page != nil {
		mux.Handle("GET /{$}", s.opts.Page)
	}
	return mux
}

// Serve runs the scheduler and answers on ln until ctx ends: then it stops
// accepting, lets the run in progress stop at its next safe point, and
// returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	loopDone := make(chan struct{})
	go func() { defer close(loopDone); s.sched.loop(ctx) }()

	var err error
	select {
	case err = <-served:
		// The listener failed before ctx ended: stop the scheduler too.
		cancel()
	case <-ctx.Done():
		err = <-served
	}
	<-loopDone
	<-stopped
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Run runs only the scheduler (no HTTP) until ctx ends.
func (s *Server) Run(ctx context.Context) { s.sched.loop(ctx) }

// tokenEqual compares in constant time (the hashes make the lengths equal).
func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// retailcrmHook is a RetailCRM trigger's HTTP action: the token is in the
// path; the body is read (bounded) and ignored, since the trigger's
// parameters are whatever the administrator typed.
func (s *Server) retailcrmHook(w http.ResponseWriter, r *http.Request) {
	const source = "retailcrm"
	if s.opts.RetailCRMToken == "" {
		http.NotFound(w, r)
		return
	}
	if !tokenEqual(r.PathValue("token"), s.opts.RetailCRMToken) {
		s.reject(w, source, hookBadToken, http.StatusUnauthorized)
		return
	}
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, s.opts.MaxBody)); err != nil {
		s.rejectBody(w, source, err)
		return
	}
	s.hooks.WithLabelValues(source, hookWoke).Inc()
	s.sched.wake(Pull)
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

// bitrixEvent is what an outbound event carries that serve reads.
type bitrixEvent struct {
	Event string `json:"event"`
	Auth  struct {
		ApplicationToken string `json:"application_token"`
	} `json:"auth"`
}

// bitrixHook is a Bitrix24 outbound event (docs/api-notes.md, outbound
// events): form-encoded event=...&data[FIELDS][ID]=...&auth[application_token]=...
func (s *Server) bitrixHook(w http.ResponseWriter, r *http.Request) {
	const source = "bitrix"
	if s.opts.BitrixToken == "" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		s.rejectBody(w, source, err)
		return
	}
	// The token first: a request without the right one is 401 whatever
	// else is wrong with it, and tells the sender nothing more.
	ev, ok := parseBitrixEvent(r.Header.Get("Content-Type"), body)
	if !tokenEqual(ev.Auth.ApplicationToken, s.opts.BitrixToken) {
		s.reject(w, source, hookBadToken, http.StatusUnauthorized)
		return
	}
	if !ok {
		s.reject(w, source, hookBad, http.StatusBadRequest)
		return
	}
	if !wakesPush(ev.Event) {
		s.hooks.WithLabelValues(source, hookIgnored).Inc()
		writeJSON(w, http.StatusOK, map[string]string{"result": "ignored"})
		return
	}
	s.hooks.WithLabelValues(source, hookWoke).Inc()
	s.sched.wake(Push)
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

// parseBitrixEvent reads the form encoding the queue server sends, and JSON
// (the shape the documentation prints) in case a portal sends that. ok is
// false for a body that is malformed or names no event; the token is
// returned whenever it could be read.
func parseBitrixEvent(contentType string, body []byte) (ev bitrixEvent, ok bool) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		if err := json.Unmarshal(body, &ev); err != nil {
			return bitrixEvent{}, false
		}
		return ev, ev.Event != ""
	}
	// ParseQuery keeps the pairs it could decode beside its error.
	q, err := url.ParseQuery(string(body))
	ev.Event, ev.Auth.ApplicationToken = q.Get("event"), q.Get("auth[application_token]")
	return ev, err == nil && ev.Event != ""
}

// wakesPush: the events of what push carries back (deal or lead stages,
// timeline comments). Others are answered and ignored.
func wakesPush(event string) bool {
	e := strings.ToUpper(event)
	for _, p := range []string{"ONCRMDEAL", "ONCRMLEAD", "ONCRMTIMELINECOMMENT"} {
		if strings.HasPrefix(e, p) {
			return true
		}
	}
	return false
}

func (s *Server) rejectBody(w http.ResponseWriter, source string, err error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		s.reject(w, source, hookTooLarge, http.StatusRequestEntityTooLarge)
		return
	}
	s.reject(w, source, hookBad, http.StatusBadRequest)
}

// reject answers a refused hook; the log names the source and the reason,
// never what was sent.
func (s *Server) reject(w http.ResponseWriter, source, outcome string, code int) {
	s.hooks.WithLabelValues(source, outcome).Inc()
	s.log.Warn("serve: hook refused", "source", source, "reason", outcome, "status", code)
	writeJSON(w, code, map[string]string{"error": outcome})
}

// health is the /healthz answer.
type health struct {
	Status  string    `json:"status"` // ok, starting, failing
	Running bool      `json:"running"`
	Runs    []RunInfo `json:"runs"`
}

// healthz is 503 when the last run of pull or push failed.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	runs := s.sched.runs()
	s.sched.mu.Lock()
	running := s.sched.running
	s.sched.mu.Unlock()
	h := health{Status: "ok", Running: running, Runs: runs}
	code := http.StatusOK
	if len(runs) == 0 {
		h.Status = "starting"
	}
	for _, r := range runs {
		if r.Result == ResultFailed {
			h.Status, code = "failing", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, h)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// slogPrinter is promhttp's error log on the service's logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("serve: metrics", "err", v) }
