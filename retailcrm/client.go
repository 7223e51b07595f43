package retailcrm

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmsync/crmsync/internal/redaction"
)

// Defaults of a Client.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultRate        = 8 // requests per second, below the documented 10 per key
	DefaultMaxAttempts = 5
	DefaultVersion     = "dev"
	// maxBodySize bounds what one answer may occupy in memory; a history
	// page of 100 full snapshots is well under 1 MiB.
	maxBodySize = 32 << 20
)

// Client talks to one RetailCRM account with one API key. It is safe for
// concurrent use; all calls share its rate limiter.
type Client struct {
	base *url.URL
	key  string
	// red masks the API key, as sent and as escaped in a URL, in each text
	// the client lets out: errors and log records. The client knows no
	// other secret, so it masks no other.
	red       redaction.Secrets
	http      *http.Client
	limiter   *rate.Limiter
	timeout   time.Duration
	retry     RetryPolicy
	userAgent string
	log       *slog.Logger
	loc       *time.Location
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the http.Client (transport, proxies, TLS).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithTimeout sets the timeout of each HTTP attempt (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithRate sets the client-side limit in requests per second; rps <= 0
// disables it (for fakes without limits).
func WithRate(rps float64) Option {
	return func(c *Client) {
		if rps <= 0 {
			c.limiter = rate.NewLimiter(rate.Inf, 1)
			return
		}
		// Burst 1 spaces requests evenly instead of bursting at start.
		c.limiter = rate.NewLimiter(rate.Limit(rps), 1)
	}
}

// WithRetry replaces the retry policy (attempts and backoff delays).
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p.withDefaults() }
}

// WithVersion sets the version in the User-Agent "crmsync/<version>".
func WithVersion(v string) Option {
	return func(c *Client) {
		if v != "" {
			c.userAgent = "crmsync/" + v
		}
	}
}

// WithLogger sets the logger for retries (default: discard). Logged texts
// are redacted.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// WithLocation sets the account's time zone, used to format date filters.
// Without it, a call with a date filter fails with ErrNoLocation.
func WithLocation(loc *time.Location) Option {
	return func(c *Client) { c.loc = loc }
}

// New returns a client for the account at baseURL (e.g.
// https://shop.retailcrm.ru; a trailing /api or /api/v5 is dropped).
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("retailcrm: empty API key")
	}
	red := redaction.New(apiKey)
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, red.Error(fmt.Errorf("retailcrm: base URL: %w", err))
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, errors.New("retailcrm: base URL must be http(s)://host")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v5"), "/api")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	c := &Client{
		base:      u,
		key:       apiKey,
		red:       red,
		http:      &http.Client{},
		limiter:   rate.NewLimiter(DefaultRate, 1),
		timeout:   DefaultTimeout,
		retry:     RetryPolicy{}.withDefaults(),
		userAgent: "crmsync/" + DefaultVersion,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(c)
	}
	// Redirects are handled by attempt; a copy keeps the caller's client
	// as it was.
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	return c, nil
}

// Location returns the zone set with WithLocation, or nil.
func (c *Client) Location() *time.Location { return c.loc }
