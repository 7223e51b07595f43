// Package redact hides crmsync's secrets (the RetailCRM API key and the
// Bitrix24 webhook's secret segment) in every text that leaves the process:
// errors, log records, status output and dry-run reports.
package redact

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
)

// Mask is what a secret is replaced with, the same as the clients use.
const Mask = bitrix.Mask

// minSecretLen keeps trivially short values (an empty key, "1") from turning
// every occurrence of a common substring into a mask.
const minSecretLen = 4

// Redactor replaces known secret values, and anything shaped like a webhook
// secret (bitrix.RedactWebhooks), with Mask. The zero value masks webhook-shaped paths only.
type Redactor struct {
	secrets []string
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
	if len(s) < minSecretLen {
		return
	}
	variants := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	for _, v := range variants {
		if !slices.Contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// String returns s with every secret masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, sec := range r.secrets {
			if strings.Contains(s, sec) {
				s = strings.ReplaceAll(s, sec, Mask)
			}
		}
	}
	return bitrix.RedactWebhooks(s)
}

// Error wraps err so that its text is redacted while errors.Is and errors.As
// still see the original chain. A nil error stays nil.
func (r *Redactor) Error(err error) error {
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
