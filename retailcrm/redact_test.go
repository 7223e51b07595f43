package retailcrm_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

const secretKey = "s3cr3t-Key-ZZZ-0123456789"

// TestKeyNeverInErrorsOrLogs provokes every error path with a server that
// echoes the key back and checks neither errors nor logs show it.
func TestKeyNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-KEY")
		switch r.URL.Path {
		case "/api/v5/reference/statuses":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"success":false,"errorMsg":"Wrong \"apiKey\" value: ` + key + `","errors":["` + key + `"]}`))
		case "/api/v5/reference/sites":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"success":false,"errorMsg":"limit for ` + key + `"}`))
		case "/api/v5/settings":
			_, _ = w.Write([]byte(`{"success":true,"settings":{"timezone":` + key + `}}`))
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>" + key + "</html>"))
		}
	}))
	defer echo.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, base := range []string{echo.URL, "http://127.0.0.1:1"} {
		c, err := retailcrm.New(base, secretKey, retailcrm.WithRate(0), retailcrm.WithLogger(logger),
			retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		calls := map[string]func() error{
			"statuses": func() error { _, err := c.Statuses(ctx); return err },
			"sites":    func() error { _, err := c.Sites(ctx); return err },
			"settings": func() error { _, err := c.Settings(ctx); return err },
			"html":     func() error { _, err := c.Order(ctx, 5); return err },
			"edit":     func() error { _, err := c.EditOrder(ctx, 5, "", retailcrm.OrderPatch{Status: secretKey}); return err },
		}
		for name, call := range calls {
			err := call()
			if err == nil {
				t.Fatalf("%s on %s: no error", name, base)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Errorf("%s: key in error %q", name, err)
			}
			var apiErr *retailcrm.APIError
			if errors.As(err, &apiErr) && apiErr.Msg != "" && strings.Contains(err.Error(), "***") {
				t.Logf("%s: %v", name, err)
			}
		}
	}
	if strings.Contains(logs.String(), secretKey) {
		t.Errorf("key in logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Error("no retry was logged")
	}
}

func TestWrongKey(t *testing.T) {
	t.Parallel()
	fake := retailcrmtest.New(t, retailcrmtest.Options{})
	c, err := retailcrm.New(fake.URL(), secretKey, retailcrm.WithRate(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Credentials(context.Background())
	assertAPIError(t, err, http.StatusForbidden, `Wrong "apiKey" value.`, []error{retailcrm.ErrAuth},
		[]error{retailcrm.ErrRateLimited, retailcrm.ErrNotFound})
	if strings.Contains(err.Error(), secretKey) {
		t.Errorf("key in %q", err)
	}
	if fake.TotalRequests() != 1 {
		t.Errorf("auth error retried: %d requests", fake.TotalRequests())
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, key string }{
		{"https://x.retailcrm.ru", ""},
		{"ftp://x", "k-123456"},
		{"://bad" + secretKey, secretKey},
		{"x.retailcrm.ru", "k-123456"},
	} {
		_, err := retailcrm.New(tc.url, tc.key)
		if err == nil {
			t.Errorf("New(%q) accepted", tc.url)
		} else if strings.Contains(err.Error(), secretKey) {
			t.Errorf("key in %q", err)
		}
	}
	c, err := retailcrm.New("https://x.retailcrm.ru/api/v5/", "k-123456")
	if err != nil || c == nil {
		t.Fatalf("trailing /api/v5 rejected: %v", err)
	}
}

// TestClientRedactsItsKey checks that the client masks its own API key,
// bare and URL-escaped, in its errors and log records, with nobody else's
// redactor: a server that echoes the key in every form.
func TestClientRedactsItsKey(t *testing.T) {
	t.Parallel()
	const key = "my+api=key/0042"
	forms := []string{key, url.QueryEscape(key), url.PathEscape(key)}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"success":false,"errorMsg":"busy: ` + strings.Join(forms, " ") + `"}`))
	}))
	defer echo.Close()
	var logs bytes.Buffer
	c, err := retailcrm.New(echo.URL, key, retailcrm.WithRate(0),
		retailcrm.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Statuses(context.Background())
	if err == nil {
		t.Fatal("a 503 answer was accepted")
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Fatalf("no retry was logged: %s", logs.String())
	}
	for name, out := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		for _, s := range append(forms, "key/0042", "key%2F0042") {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q: %s", name, s, out)
			}
		}
	}
	if !strings.Contains(err.Error(), "***") {
		t.Errorf("error shows no mask (is the message in it?): %v", err)
	}
}
