// Package redact hides crmsync's secrets (the RetailCRM API key and the
// Bitrix24 webhook's secret segment) in every text that leaves the process:
// errors, log records, status output and dry-run reports.
package redact

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/internal/redaction"
)

// Mask is what a secret is replaced with, the same as the clients use.
const Mask = bitrix.Mask

// Redactor replaces known secret values, and anything shaped like a webhook
// secret (bitrix.RedactWebhooks), with Mask. The zero value masks webhook-shaped paths only.
type Redactor struct {
	secrets redaction.Secrets
}

// New returns a Redactor for the given secrets. Empty and very short values
// are ignored. For a webhook URL pass the URL itself: its secret segment is
// taken out (bitrix.ParseWebhook); a value that does not parse as a webhook
// is masked whole.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.add(s)
	}
	return r
}

func (r *Redactor) add(s string) {
	s = strings.TrimSpace(s)
	if hook, err := bitrix.ParseWebhook(s); err == nil {
		s = hook.Secret
	}
	r.secrets.Add(s)
}

// String returns s with every secret masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		s = r.secrets.String(s)
	}
	return bitrix.RedactWebhooks(s)
}

// Error wraps err so that its text is redacted while errors.Is and errors.As
// still see the original chain. A nil error stays nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{redaction.Error(err, r.String)}
}

// redactedError marks an error a Redactor masked (IsRedacted); the text
// and the chain are those of the error it holds.
type redactedError struct{ error }

func (e *redactedError) Unwrap() error { return e.error }

// Handler wraps an slog.Handler so that the message and every string
// attribute value (including errors and nested groups) are redacted.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	return &handler{next: h, r: r}
}

type handler struct {
	next slog.Handler
	r    *Redactor
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), r: h.r}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(v.String()))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}

// IsRedacted reports whether err's text went through a Redactor.
func IsRedacted(err error) bool {
	var re *redactedError
	return errors.As(err, &re)
}
