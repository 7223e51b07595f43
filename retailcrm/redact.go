package retailcrm

import (
	"net/url"
	"slices"
	"strings"
)

// mask is what the API key is replaced with.
const mask = "***"

// minSecretLen keeps a trivially short key from turning every occurrence
// of a common substring into a mask.
const minSecretLen = 4

// redactor masks the client's API key, as sent and as escaped in a URL, in
// each text the client lets out: errors and log records. The client knows
// no other secret, so it masks no other.
type redactor struct {
	secrets []string // longest first, so a variant containing another is masked whole
}

func newRedactor(key string) redactor {
	var r redactor
	key = strings.TrimSpace(key)
	if len(key) < minSecretLen {
		return r
	}
	for _, v := range []string{key, url.QueryEscape(key), url.PathEscape(key)} {
		if !slices.Contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// String returns s with the key masked.
func (r redactor) String(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, mask)
	}
	return s
}

// Error wraps err so that its text is redacted while errors.Is and
// errors.As still see the original chain. A nil error stays nil.
func (r redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, msg: r.String(err.Error())}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
