package retailcrm

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// RetryPolicy bounds retries. Which answers are retried:
//
//   - 503 and 429 for every method: RetailCRM refuses an over-limit
//     request before running it, so even the edit call is safe to resend.
//   - other 5xx, network errors and attempt timeouts for GET only. A POST
//     edit that failed this way may have been applied; resending a
//     comment would duplicate it, so the caller re-reads the order and
//     decides (docs/architecture.md, Failure model).
//   - never 4xx or undecodable bodies: repeating them gives the same answer.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 5.
	MaxAttempts int
	// InitialDelay is the first backoff delay (default 250 ms); each next
	// one grows ×2 with ±50 % jitter up to MaxDelay (default 10 s).
	InitialDelay time.Duration
	MaxDelay     time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialDelay <= 0 {
		p.InitialDelay = 250 * time.Millisecond
	}
	if p.MaxDelay < p.InitialDelay {
		p.MaxDelay = max(10*time.Second, p.InitialDelay)
	}
	return p
}

func (p RetryPolicy) backoff() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialDelay,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         p.MaxDelay,
	}
	b.Reset()
	return b
}

// retryable decides whether an attempt's error may be retried for method.
// ctx is the caller's context: once it is done nothing is retried.
func retryable(ctx context.Context, method string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, ErrRateLimited) {
		return true
	}
	if method != http.MethodGet {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatus >= 500
	}
	var transport *transportError
	return errors.As(err, &transport)
}
