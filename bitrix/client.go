package bitrix

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a cloud portal on a non-Enterprise plan (b24restdocs:limits.md).
const (
	DefaultRate        = 2.0
	DefaultBurst       = 50
	DefaultTimeout     = 75 * time.Second
	MaxBatchCommands   = 50
	defaultMaxBodySize = 64 << 20
)

// Client calls one Bitrix24 portal through an inbound webhook. It is safe
// for concurrent use; all calls share one limiter.
type Client struct {
	mu   sync.Mutex
	base *url.URL // https://portal/rest/1/secret/ ; replaced after a redirect

	userPath string // /rest/1/secret/
	red      redactor
	hc       *http.Client
	log      *slog.Logger
	clock    Clock
	lim      *limiter
	ops      *opTimes
	timeout  time.Duration
	ua       string
	retry    RetryPolicy
	maxBatch int

	stats struct {
		requests, retries, queryLimit, opLimit, redirects atomic.Int64
	}
}

// RetryPolicy bounds retries and waits.
type RetryPolicy struct {
	// MaxAttempts is the number of tries of one request for retryable
	// failures (query limit, and 5xx/network errors of reads). Default 6.
	MaxAttempts int
	// InitialDelay and MaxDelay shape the exponential backoff with jitter.
	// Defaults 1 s and 30 s.
	InitialDelay time.Duration
	MaxDelay     time.Duration
	// OperationTimeRetries is how many OPERATION_TIME_LIMIT answers of one
	// call are waited out before giving up. Default 2.
	OperationTimeRetries int
	// MaxOperationWait caps one operating-time pause. Default 11 min (the
	// window is 10 min).
	MaxOperationWait time.Duration
	// OperationFallback is the pause when no operating_reset_at was seen.
	// Default 60 s (one bucket).
	OperationFallback time.Duration
	// SlowdownCooldown is how long the lowered rate holds after a
	// QUERY_LIMIT_EXCEEDED before it doubles back. Default 60 s.
	SlowdownCooldown time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.InitialDelay <= 0 {
		p.InitialDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.OperationTimeRetries <= 0 {
		p.OperationTimeRetries = 2
	}
	if p.MaxOperationWait <= 0 {
		p.MaxOperationWait = 11 * time.Minute
	}
	if p.OperationFallback <= 0 {
		p.OperationFallback = time.Minute
	}
	if p.SlowdownCooldown <= 0 {
		p.SlowdownCooldown = time.Minute
	}
	return p
}

// Option configures a Client.
type Option func(*config)

type config struct {
	hc        *http.Client
	timeout   time.Duration
	rate      float64
	burst     int
	log       *slog.Logger
	clock     Clock
	retry     RetryPolicy
	version   string
	operating float64
	maxBatch  int
	level     float64
	levelAt   time.Time
}

// WithHTTPClient sets the HTTP client (e.g. with a private CA). Its
// CheckRedirect is replaced in a copy: redirects are handled by the client.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.hc = hc } }

// WithTimeout sets the per-request timeout (default 75 s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRate sets the portal's leaky bucket: drain in requests per second and
// block threshold (burst). The client paces at that drain and keeps 10% of
// the burst (at least 2) unused so network jitter never tips the portal's
// counter over. A rate <= 0 disables client-side pacing.
func WithRate(perSecond float64, burst int) Option {
	return func(c *config) { c.rate, c.burst = perSecond, burst }
}

// WithLogger sets the logger; the client masks its secret in what it logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock injects the time source of the limiter and the waits.
func WithClock(clk Clock) Option { return func(c *config) { c.clock = clk } }

// WithRetry sets the retry policy; zero fields keep their defaults.
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithVersion sets the version in the User-Agent crmsync/<version>.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithOperatingLimit sets a per-method operating-time budget in seconds per
// 10 minutes that the operator knows (the portal never sends it); a method
// is paused 5 s before it. Default 0, unknown: a method is paused when the
// portal answers 429 OPERATION_TIME_LIMIT, and afterwards at the operating
// level the portal refused it at.
func WithOperatingLimit(seconds float64) Option { return func(c *config) { c.operating = seconds } }

// WithBucketLevel starts the limiter from the portal's request counter as
// a previous run left it (BucketLevel): level requests not yet drained at
// at. The client drains it by the time since, so a run that follows
// another closely does not open with a burst the portal has already spent.
func WithBucketLevel(level float64, at time.Time) Option {
	return func(c *config) { c.level, c.levelAt = level, at }
}

// WithMaxBatchCommands lowers the commands per batch request (1..50).
func WithMaxBatchCommands(n int) Option { return func(c *config) { c.maxBatch = n } }

// New returns a client for the inbound-webhook URL
// https://PORTAL/rest/USER_ID/SECRET/. Plain http is accepted only for
// loopback hosts (test fakes).
func New(webhookURL string, opts ...Option) (*Client, error) {
	cfg := config{timeout: DefaultTimeout, rate: DefaultRate, burst: DefaultBurst, version: "dev",
		maxBatch: MaxBatchCommands}
	for _, o := range opts {
		o(&cfg)
	}
	hook, u, err := parseWebhook(strings.TrimSpace(webhookURL))
	if err != nil {
		return nil, err
	}
	red := newRedactor(hook.Secret)
	if cfg.burst < 1 && cfg.rate > 0 {
		return nil, fmt.Errorf("%w: burst %d must be at least 1", ErrConfig, cfg.burst)
	}
	if cfg.maxBatch < 1 || cfg.maxBatch > MaxBatchCommands {
		return nil, fmt.Errorf("%w: batch size %d outside 1..%d", ErrConfig, cfg.maxBatch, MaxBatchCommands)
	}
	if cfg.clock == nil {
		cfg.clock = realClock{}
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hc := &http.Client{}
	if cfg.hc != nil {
		cp := *cfg.hc
		hc = &cp
	}
	// Go turns a redirected POST into a bodiless GET; handle 3xx ourselves.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	retry := cfg.retry.withDefaults()
	c := &Client{
		base:     u,
		userPath: u.Path,
		red:      red,
		hc:       hc,
		log:      cfg.log,
		clock:    cfg.clock,
		lim:      newLimiter(cfg.clock, cfg.rate, cfg.burst, retry.SlowdownCooldown),
		ops:      newOpTimes(cfg.clock, cfg.operating, retry.OperationFallback),
		timeout:  cfg.timeout,
		ua:       "crmsync/" + cfg.version,
		retry:    retry,
		maxBatch: cfg.maxBatch,
	}
	c.lim.restore(cfg.level, cfg.levelAt, cfg.clock.Now())
	return c, nil
}

// checkScheme allows https, and http only towards loopback hosts.
func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("plain http is allowed only for loopback hosts")
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PortalURL returns the webhook URL with its secret masked, for display.
func (c *Client) PortalURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return RedactWebhooks(c.base.String())
}

// warn logs with the message and every string and error value redacted,
// whatever handler the caller gave WithLogger.
func (c *Client) warn(msg string, args ...any) {
	c.log.Warn(c.red.String(msg), c.red.args(args)...)
}

// Stats are counters of one client's traffic.
type Stats struct {
	Requests           int64 // HTTP requests sent (a batch is one)
	Retries            int64
	QueryLimitHits     int64 // 503 QUERY_LIMIT_EXCEEDED answers
	OperationLimitHits int64 // 429 OPERATION_TIME_LIMIT answers or batch entries
	Redirects          int64
	EffectiveRate      float64 // current drain rate of the limiter
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:           c.stats.requests.Load(),
		Retries:            c.stats.retries.Load(),
		QueryLimitHits:     c.stats.queryLimit.Load(),
		OperationLimitHits: c.stats.opLimit.Load(),
		Redirects:          c.stats.redirects.Load(),
		EffectiveRate:      c.lim.rate(),
	}
}

// BucketLevel estimates the portal's request counter now (0 to the burst):
// what WithBucketLevel takes to carry the budget over to the next run. A
// QUERY_LIMIT_EXCEEDED answer counts as a full bucket at its time.
func (c *Client) BucketLevel() (level float64, at time.Time) {
	now := c.clock.Now()
	return c.lim.level(now), now
}

// OperatingTime reports the last operating seconds and operating_reset_at
// seen for method, and until when the method is paused (zero if not).
func (c *Client) OperatingTime(method string) (operating float64, resetAt, pausedUntil time.Time) {
	operating, resetAt, pausedUntil, _ = c.ops.snapshot(method)
	return operating, resetAt, pausedUntil
}

// OperatingBudget reports the operating seconds at which method is paused
// before the portal would refuse it: the budget given with
// WithOperatingLimit, or the level the portal refused the method at, the
// lower of the two; 0 while neither is known.
func (c *Client) OperatingBudget(method string) float64 {
	_, _, _, budget := c.ops.snapshot(method)
	return budget
}
