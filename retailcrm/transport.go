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
		if sleep(ctx, delay) != nil {
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
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(actx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("retailcrm: %s: %w", endpoint, err)
	}
	req.Header.Set("X-API-KEY", c.key)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
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
	return decodeResponse(endpoint, resp.StatusCode, resp.Header.Get("Content-Type"), data, out)
}
