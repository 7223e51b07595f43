package bitrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// readSuffixes name methods that change nothing and may be replayed after an
// ambiguous failure. Everything else counts as a write.
var readSuffixes = []string{".list", ".get", ".fields", ".findbycomm", ".getlist", ".count"}

// IsReadMethod reports whether method only reads, so that a failure with an
// unknown outcome can be retried without a lookup.
func IsReadMethod(method string) bool {
	m := strings.ToLower(strings.TrimSuffix(method, ".json"))
	if m == "scope" || m == "methods" || m == "method.get" || m == "server.time" || m == "profile" || m == "app.info" {
		return true
	}
	for _, s := range readSuffixes {
		if strings.HasSuffix(m, s) {
			return true
		}
	}
	return false
}

// Call invokes method with params encoded as the JSON body and decodes the
// result into out when out is not nil. Keys of params should be lowercase at
// the top level (fields, filter, select, order, start, params, id).
func (c *Client) Call(ctx context.Context, method string, params any, out any) (*Response, error) {
	if strings.EqualFold(method, "batch") {
		return nil, fmt.Errorf("%w: use Client.Batch for batch", ErrInvalidBatch)
	}
	if params == nil {
		params = map[string]any{}
	}
	body, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: encoding params: %w", ErrBadRequest, method, err)
	}
	resp, err := c.do(ctx, method, body, IsReadMethod(method), []string{method})
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := resp.Decode(out); err != nil {
			return resp, fmt.Errorf("bitrix: %s: %w", method, err)
		}
	}
	return resp, nil
}

// do sends body to method with the limiter and the retry rules. paused lists
// the methods whose operating-time pause applies (the batch's commands).
func (c *Client) do(ctx context.Context, method string, body []byte, read bool, paused []string) (*Response, error) {
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     c.retry.InitialDelay,
		RandomizationFactor: 0.3,
		Multiplier:          2,
		MaxInterval:         c.retry.MaxDelay,
	}
	bo.Reset()
	attempts, opRetries := 0, 0
	// The method itself may be paused too: a portal that charges a batch's
	// operating time to "batch" answers the whole batch 429.
	waitFor := append([]string{method}, paused...)
	for {
		for _, m := range waitFor {
			if err := c.ops.wait(ctx, m, c.retry.MaxOperationWait); err != nil {
				return nil, fmt.Errorf("bitrix: %s: %w", method, err)
			}
		}
		if err := c.lim.wait(ctx); err != nil {
			return nil, fmt.Errorf("bitrix: %s: %w", method, err)
		}
		attempts++
		resp, err := c.once(ctx, method, body)
		if err == nil {
			c.ops.observe(method, resp.Time)
			return resp, nil
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Time != nil {
			c.ops.observe(method, ae.Time)
		}
		if ctx.Err() != nil {
			// Cancelled while the request was in flight: a write may have run.
			if !read && !errors.Is(err, ErrQueryLimit) {
				return nil, &OutcomeUnknownError{Method: method, Err: err}
			}
			return nil, err
		}
		var wait time.Duration
		switch {
		case errors.Is(err, ErrOverload):
			return nil, err
		case errors.Is(err, ErrQueryLimit):
			c.stats.queryLimit.Add(1)
			// Refused before running: safe to retry even a write.
			wait = max(bo.NextBackOff(), c.lim.penalize())
			c.warn("bitrix: QUERY_LIMIT_EXCEEDED, slowing down", "method", method,
				"attempt", attempts, "wait", wait, "rate", c.lim.rate())
		case errors.Is(err, ErrOperationTimeLimit):
			c.stats.opLimit.Add(1)
			pause := c.ops.block(method)
			opRetries++
			if opRetries > c.retry.OperationTimeRetries || pause > c.retry.MaxOperationWait {
				return nil, err
			}
			c.warn("bitrix: OPERATION_TIME_LIMIT, pausing method", "method", method, "pause", pause)
			attempts-- // the operating-time pause has its own bound
			c.stats.retries.Add(1)
			continue
		case retryableFailure(err):
			var te *TransportError
			notSent := errors.As(err, &te) && te.NotSent
			if !read && !notSent {
				return nil, &OutcomeUnknownError{Method: method, Err: err}
			}
			wait = bo.NextBackOff()
			c.warn("bitrix: retrying after failure", "method", method, "attempt", attempts, "wait", wait, "error", err)
		default:
			return nil, err
		}
		if attempts >= c.retry.MaxAttempts {
			if !read && !errors.Is(err, ErrQueryLimit) {
				return nil, &OutcomeUnknownError{Method: method, Err: err}
			}
			return nil, fmt.Errorf("bitrix: %s: giving up after %d attempts: %w", method, attempts, err)
		}
		c.stats.retries.Add(1)
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("bitrix: %s: %w", method, err)
		}
	}
}

// once is one HTTP exchange plus envelope decoding.
func (c *Client) once(ctx context.Context, method string, body []byte) (*Response, error) {
	ans, err := c.send(ctx, method, body)
	if err != nil {
		return nil, err
	}
	resp, err := DecodeEnvelope(method, ans.status, ans.body)
	if err != nil {
		var re *ResponseError
		if errors.As(err, &re) {
			re.Snippet = c.red.String(re.Snippet)
		}
		return nil, err
	}
	return resp, nil
}

// retryableFailure: server errors, malformed bodies and transport failures
// (including a per-request timeout); the caller decides by read/write.
func retryableFailure(err error) bool {
	var re *ResponseError
	if errors.As(err, &re) && re.HTTPStatus >= 300 && re.HTTPStatus < 500 {
		return false // an HTML 404/403 page: wrong address, not a passing fault
	}
	return errors.Is(err, ErrServer) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrTransport)
}
