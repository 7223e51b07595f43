package bitrix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
)

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		want   bitrix.Webhook
		url    string // URL(), the address requests use
		shown  string // String(), the secret masked
		errHas string // "" when the URL is valid
	}{
		{in: "https://p.bitrix24.ru/rest/17/abc123/", want: bitrix.Webhook{Base: "https://p.bitrix24.ru", UserID: 17, Secret: "abc123"},
			url: "https://p.bitrix24.ru/rest/17/abc123/", shown: "https://p.bitrix24.ru/rest/17/***/"},
		{in: "https://p.bitrix24.ru/rest/1/abc123", want: bitrix.Webhook{Base: "https://p.bitrix24.ru", UserID: 1, Secret: "abc123"},
			url: "https://p.bitrix24.ru/rest/1/abc123/", shown: "https://p.bitrix24.ru/rest/1/***/"},
		{in: "http://127.0.0.1:4000/rest/1/x/", want: bitrix.Webhook{Base: "http://127.0.0.1:4000", UserID: 1, Secret: "x"},
			url: "http://127.0.0.1:4000/rest/1/x/", shown: "http://127.0.0.1:4000/rest/1/***/"},
		{in: "http://localhost/rest/3/abcdef123/", want: bitrix.Webhook{Base: "http://localhost", UserID: 3, Secret: "abcdef123"},
			url: "http://localhost/rest/3/abcdef123/", shown: "http://localhost/rest/3/***/"},
		{in: "http://p.bitrix24.ru/rest/1/abcdef123/", errHas: "plain http is allowed only for loopback hosts"},
		{in: "ftp://p.bitrix24.ru/rest/1/abcdef123/", errHas: `scheme "ftp" is not https`},
		{in: "https://p.bitrix24.ru/hook/1/abcdef123/", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://p.bitrix24.ru/rest/x/abcdef123/", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://p.bitrix24.ru/rest/abcdef123/", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://p.bitrix24.ru/rest/1/abcdef123/crm.deal.list", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://p.bitrix24.ru/rest/1/abcdef123/?x=1", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://p.bitrix24.ru/rest/1/abcdef123/#f", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://u:abcdef123@p.bitrix24.ru/rest/1/abcdef123/", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https:///rest/1/abcdef123/", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "https://p.bitrix24.ru/rest/99999999999999999999/abcdef123/", errHas: "is not https://PORTAL/rest/USER_ID/SECRET/"},
		{in: "::abcdef123", errHas: "does not parse"},
	} {
		got, err := bitrix.ParseWebhook(tc.in)
		if tc.errHas != "" {
			if err == nil {
				t.Errorf("%s: accepted as %v", tc.in, got)
				continue
			}
			if !errors.Is(err, bitrix.ErrConfig) || !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "abcdef123") {
				t.Errorf("%s: error %q, want ErrConfig with %q and no secret", tc.in, err, tc.errHas)
			}
			if got != (bitrix.Webhook{}) {
				t.Errorf("%s: %#v returned with the error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got != tc.want || got.URL() != tc.url || got.String() != tc.shown {
			t.Errorf("%s: %#v URL %q String %q; want %#v %q %q", tc.in, got, got.URL(), got.String(), tc.want, tc.url, tc.shown)
		}
		// URL gives back what parses to the same webhook.
		if again, err := bitrix.ParseWebhook(got.URL()); err != nil || again != got {
			t.Errorf("%s: URL() %q parses to %v, %v", tc.in, got.URL(), again, err)
		}
	}
	if s := (bitrix.Webhook{}).String(); s != "" {
		t.Errorf("zero Webhook shows %q", s)
	}
}

// New takes only a webhook URL of the documented form, and its refusal
// never shows the secret.
func TestNewValidatesWebhookURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://example.bitrix24.ru/rest/1/abcdef123/", true},
		{"https://example.bitrix24.ru/rest/1/abcdef123", true},
		{"http://127.0.0.1:8080/rest/1/abcdef123/", true},
		{"http://localhost/rest/1/abcdef123/", true},
		{"http://example.bitrix24.ru/rest/1/abcdef123/", false},
		{"ftp://example.bitrix24.ru/rest/1/abcdef123/", false},
		{"https://example.bitrix24.ru/rest/abcdef123/", false},
		{"https://example.bitrix24.ru/rest/1/abcdef123/crm.deal.list", false},
		{"https://example.bitrix24.ru/rest/1/abcdef123/?x=1", false},
	} {
		_, err := bitrix.New(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.url, err)
		}
		if err != nil {
			if !errors.Is(err, bitrix.ErrConfig) || strings.Contains(err.Error(), "abcdef123") {
				t.Errorf("%s: bad error %q", tc.url, err)
			}
		}
	}
}

// Every way of printing a Webhook masks its secret.
func TestWebhookPrintsMasked(t *testing.T) {
	t.Parallel()
	const secret = "hooksecret0042"
	hook, err := bitrix.ParseWebhook("https://p.bitrix24.ru/rest/5/" + secret + "/")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("text", "hook", hook)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("json", "hook", hook)
	js, err := json.Marshal(hook)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", hook), "%+v": fmt.Sprintf("%+v", hook), "%#v": fmt.Sprintf("%#v", hook),
		"Sprint": fmt.Sprint(hook), "slog": logs.String(), "json": string(js),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
	}
	if !strings.Contains(logs.String(), "https://p.bitrix24.ru/rest/5/***/") {
		t.Errorf("logs lack the masked webhook: %s", logs.String())
	}
}

func TestRedactWebhooks(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`Post "https://shop.bitrix24.ru/rest/7/s3cr3tcode/batch": EOF`: `Post "https://shop.bitrix24.ru/rest/7/***/batch": EOF`,
		"https://other.bitrix24.de/rest/12/zzzzzz/crm.deal.add":        "https://other.bitrix24.de/rest/12/***/crm.deal.add",
		"https://p/rest/1/ab?x=1 and /rest/2/cd#f":                     "https://p/rest/1/***?x=1 and /rest/2/***#f",
		"https://x/rest/1/***/":                                        "https://x/rest/1/***/",
		"order 1042 synced, /rest/x/y":                                 "order 1042 synced, /rest/x/y",
	} {
		if got := bitrix.RedactWebhooks(in); got != want {
			t.Errorf("RedactWebhooks(%q) = %q, want %q", in, got, want)
		}
	}
}

// The client masks its own secret, bare and URL-escaped, in the errors and
// log records it lets out; it needs nobody else's redactor for that.
func TestClientRedactsItsSecret(t *testing.T) {
	t.Parallel()
	const secret = "my+hook=secret42"
	escaped := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	// A broken proxy in front of the portal: an HTML page echoing the
	// request path and the secret in every form.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html>%s %s</html>", r.URL.EscapedPath(), strings.Join(escaped, " "))
	}))
	defer srv.Close()
	logs := &syncBuffer{}
	c, err := bitrix.New(srv.URL+"/rest/1/"+url.PathEscape(secret)+"/", bitrix.WithLogger(newTextLogger(logs)),
		bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Scope(context.Background())
	var re *bitrix.ResponseError
	if !errors.As(err, &re) || !errors.Is(err, bitrix.ErrServer) {
		t.Fatalf("want a server ResponseError, got %v", err)
	}
	if !strings.Contains(re.Snippet, "/rest/1/***/scope") || strings.Count(re.Snippet, bitrix.Mask) < 3 {
		t.Errorf("snippet not masked as expected: %q", re.Snippet)
	}
	for name, out := range map[string]string{"error": err.Error(), "logs": logs.String(), "portal": c.PortalURL()} {
		for _, s := range append(escaped, "secret42") {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q: %s", name, s, out)
			}
		}
	}
	if !strings.Contains(logs.String(), "retrying after failure") {
		t.Errorf("the retry was not logged: %s", logs.String())
	}
}
