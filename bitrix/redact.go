package bitrix

import (
	"net/url"
	"slices"
	"strings"
)

// minSecretLen keeps a trivially short secret from turning every
// occurrence of a common substring into a mask; the webhook-shaped path
// is masked whatever its length.
const minSecretLen = 4

// redactor masks the client's own secret, as sent and as escaped in a URL,
// and every webhook-shaped path, in each text the client lets out: errors,
// log records, response snippets.
type redactor struct {
	secrets []string // longest first, so a secret containing another is masked whole
}

func newRedactor(secret string) redactor {
	var r redactor
	secret = strings.TrimSpace(secret)
	if len(secret) < minSecretLen {
		return r
	}
	for _, v := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if !slices.Contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// String returns s with the secret masked.
func (r redactor) String(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, Mask)
	}
	return RedactWebhooks(s)
}

// Error wraps err so that its text is redacted while errors.Is and
// errors.As still see the original chain. A nil error stays nil.
func (r redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, msg: r.String(err.Error())}
}

// args redacts the string and error values of slog key-value arguments,
// as a redacting handler would: an error is logged as its masked text.
func (r redactor) args(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = r.String(v)
		case error:
			out[i] = r.String(v.Error())
		default:
			out[i] = a
		}
	}
	return out
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
