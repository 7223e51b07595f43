package bitrix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// rawAnswer is one HTTP exchange's outcome before envelope decoding.
type rawAnswer struct {
	status int
	body   []byte
}

// send performs one POST of body to method, following at most one redirect
// of a renamed portal by re-POSTing. Errors never contain the secret.
func (c *Client) send(ctx context.Context, method string, body []byte) (*rawAnswer, error) {
	c.mu.Lock()
	target := c.base.JoinPath(method)
	c.mu.Unlock()
	ans, loc, err := c.post(ctx, method, target, body)
	if err != nil || loc == "" {
		return ans, err
	}
	next, err := c.checkRedirect(target, loc)
	if err != nil {
		return nil, err
	}
	c.stats.redirects.Add(1)
	c.warn("bitrix: portal answered with a redirect; update bitrix.webhook_url",
		"from", RedactWebhooks(target.String()), "to", c.red.String(RedactWebhooks(next.String())))
	ans, loc, err = c.post(ctx, method, next, body)
	if err != nil {
		return nil, err
	}
	if loc != "" {
		return nil, fmt.Errorf("%w: %s: redirected twice; check bitrix.webhook_url", ErrConfig, method)
	}
	// Keep using the new address for the rest of the run.
	nb := *next
	nb.Path = strings.TrimSuffix(nb.Path, method)
	nb.RawPath = ""
	c.mu.Lock()
	c.base = &nb
	c.mu.Unlock()
	return ans, nil
}

// checkRedirect validates a Location: https (or loopback http) and the same
// /rest/{user}/{code}/ path, since the portal address is all that may change.
func (c *Client) checkRedirect(from *url.URL, loc string) (*url.URL, error) {
	u, err := from.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%w: redirect with an unparsable Location", ErrConfig)
	}
	if err := checkScheme(u); err != nil {
		return nil, c.red.Error(fmt.Errorf("%w: redirect to %s refused: %w", ErrConfig, RedactWebhooks(u.String()), err))
	}
	if u.Path != from.Path || u.RawQuery != "" {
		return nil, c.red.Error(fmt.Errorf("%w: redirect to %s refused: path differs from the webhook's", ErrConfig, RedactWebhooks(u.String())))
	}
	return u, nil
}

// post sends one request without following redirects. A redirect status
// returns its Location.
func (c *Client) post(ctx context.Context, method string, target *url.URL, body []byte) (*rawAnswer, string, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, "", c.red.Error(fmt.Errorf("%w: %s: building request: %v", ErrConfig, method, errors.Unwrap(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	c.stats.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", c.transportError(ctx, method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, defaultMaxBodySize))
	if err != nil {
		// Headers arrived, the body did not: the portal did run the call.
		return nil, "", c.transportError(ctx, method, target, err)
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc := resp.Header.Get("Location")
		if loc == "" {
			return nil, "", fmt.Errorf("%w: %s: redirect without Location", ErrConfig, method)
		}
		return &rawAnswer{status: resp.StatusCode}, loc, nil
	}
	return &rawAnswer{status: resp.StatusCode, body: data}, "", nil
}

// transportError strips the URL that *url.Error embeds and marks failures
// that certainly happened before the request left (refused dial).
func (c *Client) transportError(ctx context.Context, method string, target *url.URL, err error) error {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	if ctx.Err() != nil {
		// The caller's context ended: report that, not a transport fault.
		return c.red.Error(fmt.Errorf("bitrix: %s: %w", method, ctx.Err()))
	}
	if errors.Is(inner, context.DeadlineExceeded) {
		// Only this attempt's own timeout is left: say so, and keep it from
		// reading as the run's deadline.
		inner = fmt.Errorf("%w: no answer within %s", ErrTimeout, c.timeout)
	}
	te := &TransportError{Method: method, URL: RedactWebhooks(target.String()), Err: c.red.Error(inner)}
	var op *net.OpError
	if errors.As(inner, &op) && op.Op == "dial" {
		te.NotSent = true
	}
	if errors.Is(inner, syscall.ECONNREFUSED) {
		te.NotSent = true
	}
	return te
}
