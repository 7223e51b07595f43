package retailcrm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/internal/clock"
)

// transportError is a failure to get any answer: connection refused, reset,
// attempt timeout. Retried for reads only.
type transportError struct {
	Endpoint string
	Err      error
}

func (e *transportError) Error() string        { return fmt.Sprintf("retailcrm: %s: %v", e.Endpoint, e.Err) }
func (e *transportError) Unwrap() error        { return e.Err }
func (e *transportError) Is(target error) bool { return target == ErrTransport }

// attemptError words an attempt's own timeout so it never reads as the
// caller's deadline (context.DeadlineExceeded ends a run; this is retried).
func (c *Client) attemptError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer within %s", ErrTimeout, c.timeout)
	}
	return err
}

func (c *Client) get(ctx context.Context, path string, query url.Values, out responder) error {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

func (c *Client) post(ctx context.Context, path string, form url.Values, out responder) error {
	return c.do(ctx, http.MethodPost, path, nil, form, out)
}

// do runs one API call: pace, send, classify, retry where safe. Every error
// it returns is redacted.
func (c *Client) do(ctx context.Context, method, path string, query, form url.Values, out responder) error {
	endpoint := method + " " + path
	b := c.retry.backoff()
	var err, answered error // answered: the last attempt the server answered
	attempts := 0
	for {
		if werr := c.limiter.Wait(ctx); werr != nil {
			if err == nil {
				err = fmt.Errorf("retailcrm: %s: %w", endpoint, werr)
			}
			break
		}
		attempts++
		err = c.attempt(ctx, method, path, query, form, out)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil {
			answered = err
		}
		if attempts >= c.retry.MaxAttempts || !retryable(ctx, method, err) {
			break
		}
		delay := b.NextBackOff()
		c.log.LogAttrs(ctx, slog.LevelWarn, "retailcrm: retrying",
			slog.String("endpoint", endpoint),
			slog.Int("attempt", attempts),
			slog.Duration("delay", delay),
			slog.String("error", c.red.String(err.Error())))
		if clock.Sleep(ctx, delay) != nil {
			break
		}
	}
	switch {
	case attempts > 1 && answered != nil && answered != err:
		// The caller's context ended inside an attempt or a wait: say so, and
		// keep the answer that made crmsync wait (errors.Is sees both).
		err = fmt.Errorf("%w (after %d attempts; the last answer: %w)", err, attempts, answered)
	case attempts > 1:
		err = fmt.Errorf("%w (after %d attempts)", err, attempts)
	}
	return c.red.Error(err)
}

// attempt sends one request under the per-attempt timeout and decodes it.
func (c *Client) attempt(ctx context.Context, method, path string, query, form url.Values, out responder) error {
	endpoint := method + " " + path
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	start := time.Now()
	resp, err := c.send(actx, method, &u, form)
	if err == nil && isRedirect(resp.StatusCode) {
		// Go's own redirect handling would turn a POST into a bodiless GET
		// and carry X-API-KEY to whatever host the answer names; follow
		// only a redirect within the same host, once, with the same body.
		status, loc := resp.StatusCode, resp.Header.Get("Location")
		drain(resp)
		next, rerr := c.redirectTarget(method, endpoint, status, &u, loc)
		if rerr != nil {
			return rerr
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "retailcrm: the API answered with a redirect; update retailcrm.url",
			slog.String("endpoint", endpoint), slog.Int("status", status),
			slog.String("to", c.red.String(safeURL(next))))
		resp, err = c.send(actx, method, next, form)
		if err == nil && isRedirect(resp.StatusCode) {
			status, loc := resp.StatusCode, resp.Header.Get("Location")
			drain(resp)
			return c.redirectError(endpoint, status, next, loc, "redirected a second time")
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("retailcrm: %s: %w", endpoint, ctx.Err())
		}
		return &transportError{Endpoint: endpoint, Err: c.attemptError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("retailcrm: %s: %w", endpoint, ctx.Err())
		}
		return &transportError{Endpoint: endpoint, Err: fmt.Errorf("reading body: %w", c.attemptError(err))}
	}
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "retailcrm: request",
			slog.String("endpoint", endpoint),
			slog.Int("status", resp.StatusCode),
			slog.Int("bytes", len(data)),
			slog.Duration("duration", time.Since(start)))
	}
	if len(data) > maxBodySize {
		return &DecodeError{Endpoint: endpoint, HTTPStatus: resp.StatusCode,
			Err: fmt.Errorf("body larger than %d bytes", maxBodySize)}
	}
	err = decodeResponse(endpoint, resp.StatusCode, resp.Header.Get("Content-Type"), data, out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.accessDenied() {
		// Only the client knows which call was refused: name its scope.
		apiErr.Scope = EndpointScope(method, path)
	}
	return err
}

// send performs one HTTP exchange without following redirects (the
// client's CheckRedirect returns the redirect itself).
func (c *Client) send(ctx context.Context, method string, u *url.URL, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-API-KEY", c.key)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.http.Do(req)
}

// isRedirect reports an answer that points elsewhere.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// redirectTarget accepts a redirect that stays on the same host (an
// explicit port must match too) and does not go from https to plain http,
// so the key never reaches another server or travels unencrypted; a
// non-GET call is re-sent only on 301, 302, 307 or 308: a 303 tells a POST
// it was done and to GET the result, so resending could apply it twice.
func (c *Client) redirectTarget(method, endpoint string, status int, from *url.URL, loc string) (*url.URL, error) {
	if loc == "" {
		return nil, c.redirectError(endpoint, status, from, "", "no Location given")
	}
	next, err := from.Parse(loc)
	if err != nil || next.Host == "" {
		return nil, c.redirectError(endpoint, status, from, "", "the Location cannot be parsed")
	}
	switch {
	case next.Scheme != "https" && next.Scheme != "http":
		return nil, c.redirectError(endpoint, status, from, loc, "not an http(s) address")
	case !strings.EqualFold(next.Hostname(), from.Hostname()) || next.Port() != from.Port():
		return nil, c.redirectError(endpoint, status, from, loc, "another host; the API key is not sent there")
	case from.Scheme == "https" && next.Scheme != "https":
		return nil, c.redirectError(endpoint, status, from, loc, "from https to plain http; the API key is not sent unencrypted")
	case status == http.StatusSeeOther && method != http.MethodGet:
		return nil, c.redirectError(endpoint, status, from, loc, "a 303 after "+method+"; whether the call applied is unknown")
	}
	next.User = nil
	next.Fragment = ""
	return next, nil
}

// RedirectError is a redirect the client did not follow. It matches
// ErrConfig: the fix is a retailcrm.url that points at the API directly.
type RedirectError struct {
	Endpoint string
	Status   int
	// Location is the address named, without credentials or query.
	Location string
	Reason   string
}

func (e *RedirectError) Error() string {
	to := e.Location
	if to == "" {
		to = "elsewhere"
	}
	return fmt.Sprintf("retailcrm: %s: HTTP %d redirects to %s (not followed: %s); set retailcrm.url to the account's address", e.Endpoint, e.Status, to, e.Reason)
}

// Is matches ErrConfig.
func (e *RedirectError) Is(target error) bool { return target == ErrConfig }

// redirectError describes a redirect from base to loc that is not followed.
func (c *Client) redirectError(endpoint string, status int, base *url.URL, loc, reason string) error {
	where := ""
	if loc != "" {
		if u, err := base.Parse(loc); err == nil {
			where = c.red.String(safeURL(u))
		}
	}
	return &RedirectError{Endpoint: endpoint, Status: status, Location: where, Reason: reason}
}

// safeURL renders u as scheme://host/path: a query or user info could carry
// a secret.
func safeURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
}
