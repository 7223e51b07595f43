package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	r := New("k3y-ABCDEFG", "https://shop.bitrix24.ru/rest/7/s3cr3tcode/")
	tests := []struct {
		name, in, want string
	}{
		{"api key", "GET failed with key k3y-ABCDEFG", "GET failed with key ***"},
		{"query escaped key", "apiKey=k3y-ABCDEFG", "apiKey=***"},
		{"webhook url", `Post "https://shop.bitrix24.ru/rest/7/s3cr3tcode/batch": EOF`, `Post "https://shop.bitrix24.ru/rest/7/***/batch": EOF`},
		{"bare secret", "code s3cr3tcode leaked", "code *** leaked"},
		{"unknown webhook shape", "https://other.bitrix24.de/rest/12/zzzzzz/crm.deal.add", "https://other.bitrix24.de/rest/12/***/crm.deal.add"},
		{"already masked", "https://x/rest/1/***/", "https://x/rest/1/***/"},
		{"nothing secret", "order 1042 synced", "order 1042 synced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestShortSecretsIgnored(t *testing.T) {
	t.Parallel()
	r := New("", "ab")
	if got := r.String("abc ab"); got != "abc ab" {
		t.Errorf("short secret masked: %q", got)
	}
}

func TestErrorKeepsChain(t *testing.T) {
	t.Parallel()
	r := New("supersecretkey")
	base := fmt.Errorf("reading %s: %w", "supersecretkey", fs.ErrNotExist)
	err := r.Error(base)
	if strings.Contains(err.Error(), "supersecretkey") {
		t.Fatalf("secret in error: %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("errors.Is lost the chain")
	}
	if !IsRedacted(err) || IsRedacted(base) {
		t.Fatal("IsRedacted wrong")
	}
	if r.Error(nil) != nil {
		t.Fatal("nil error became non-nil")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New("supersecretkey", "https://p.bitrix24.ru/rest/1/hooksecret99/")
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil)))
	log = log.With("key", "supersecretkey")
	log.WithGroup("g").Info("calling https://p.bitrix24.ru/rest/1/hooksecret99/batch",
		"err", errors.New("bad supersecretkey"),
		slog.Group("req", "url", "https://p.bitrix24.ru/rest/1/hooksecret99/x"),
		"n", 3)
	out := buf.String()
	for _, s := range []string{"supersecretkey", "hooksecret99"} {
		if strings.Contains(out, s) {
			t.Errorf("log contains %q: %s", s, out)
		}
	}
	if !strings.Contains(out, `"n":3`) {
		t.Errorf("non-string attr lost: %s", out)
	}
}
