package bitrix

import "github.com/crmsync/crmsync/internal/redaction"

// redactor masks the client's own secret, as sent and as escaped in a URL,
// and every webhook-shaped path, in each text the client lets out: errors,
// log records, response snippets. The webhook-shaped path is masked whatever
// the secret's length.
type redactor struct {
	secrets redaction.Secrets
}

func newRedactor(secret string) redactor { return redactor{redaction.New(secret)} }

// String returns s with the secret masked.
func (r redactor) String(s string) string {
	return RedactWebhooks(r.secrets.String(s))
}

// Error wraps err so that its text is redacted while errors.Is and
// errors.As still see the original chain. A nil error stays nil.
func (r redactor) Error(err error) error { return redaction.Error(err, r.String) }

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
