// Package redaction is what the two clients and sync/redact share to hide a
// secret in a text: the mask, the spellings a secret takes in a URL, and an
// error whose text is masked while its chain stays whole. Each of them
// still decides which secrets it knows and what else it masks.
package redaction

import (
	"net/url"
	"slices"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// MinLen keeps a trivially short secret (an empty key, "1") from turning
// every occurrence of a common substring into a mask.
const MinLen = 4

// Secrets is a set of secrets to mask, each as sent and as escaped in a
// URL. The zero value masks nothing.
type Secrets struct {
	spellings []string // longest first, so a spelling containing another is masked whole
}

// New returns the set of the given secrets (Add).
func New(secrets ...string) Secrets {
	var s Secrets
	for _, v := range secrets {
		s.Add(v)
	}
	return s
}

// Add adds secret, trimmed; a value shorter than MinLen is ignored.
func (s *Secrets) Add(secret string) {
	secret = strings.TrimSpace(secret)
	if len(secret) < MinLen {
		return
	}
	for _, v := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if !slices.Contains(s.spellings, v) {
			s.spellings = append(s.spellings, v)
		}
	}
	slices.SortStableFunc(s.spellings, func(a, b string) int { return len(b) - len(a) })
}

// String returns text with every spelling of every secret masked.
func (s Secrets) String(text string) string {
	for _, v := range s.spellings {
		text = strings.ReplaceAll(text, v, Mask)
	}
	return text
}

// Error wraps err so that its text has every secret masked (String) while
// errors.Is and errors.As still see the original chain. A nil error stays
// nil.
func (s Secrets) Error(err error) error { return Error(err, s.String) }

// Error wraps err so that its text is what redact makes of it while
// errors.Is and errors.As still see the original chain. A nil error stays
// nil.
func Error(err error, redact func(string) string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, msg: redact(err.Error())}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
