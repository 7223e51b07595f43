package status_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/redact"
	"github.com/crmsync/crmsync/sync/status"
)

// t0 is the tests' clock: a few minutes into a five-minute bucket.
var t0 = time.Date(2026, 12, 6, 9, 42, 30, 0, time.UTC)

// clock is a settable time for the store.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// seeded opens a database with runs, a cursor, links and failures; the
// failures' reasons and the run's message are what opts say. The store is
// opened without a redactor, as a database an older release wrote.
func seeded(t *testing.T, reason, message string) (*store.Store, *clock) {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: t0.Add(-50 * time.Minute)}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "crmsync.db"), store.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	run := func(command string, took time.Duration, result store.RunResult, counters map[string]int64, msg string) {
		t.Helper()
		id, err := st.StartRun(ctx, command, 100)
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(took)
		if err := st.FinishRun(ctx, id, result, counters, msg); err != nil {
			t.Fatal(err)
		}
	}
	run("pull", 2*time.Minute, store.RunOK, map[string]int64{"bitrix_requests": 40, "orders_seen": 12}, "") // 08:52:30-08:54:30
	clk.t = t0.Add(-10 * time.Minute)
	run("push", 0, store.RunFailed, map[string]int64{"bitrix_requests": 7}, message) // 09:32:30
	run("pull", 0, store.RunPartial, map[string]int64{"bitrix_requests": 5, "parked": 1}, "")
	err = st.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.SetCursor(ctx, store.CursorOrdersHistory, "7137"); err != nil {
			return err
		}
		if err := tx.PutOrderLink(ctx, store.OrderLink{OrderID: 1050, Site: "shop", Number: "1050A", EntityType: store.EntityDeal, EntityID: 7, ContentHash: "h"}); err != nil {
			return err
		}
		if _, _, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "order", Key: "1050", Error: reason, MaxAttempts: 1}); err != nil {
			return err
		}
		_, _, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "customer", Key: "311", Error: "Bitrix24 answered 400", MaxAttempts: 5})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.t = t0
	return st, clk
}

func handler(st *store.Store, rd func(string) string) http.Handler {
	return status.Handler(status.HandlerOptions{Redact: rd, Load: func(ctx context.Context) (*status.Page, error) {
		return status.LoadPage(ctx, st, status.PageOptions{Now: t0, BitrixRate: 2})
	}})
}

func get(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestPageShowsRunsCursorsFailuresAndChart(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t, `unmapped status "weird"`, "Bitrix24 answered 503")
	res, body := get(t, handler(st, nil), http.MethodGet, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		`<tr class="run" data-command="pull">`, `<span class="result partial">partial</span>`, `bitrix_requests=5 parked=1`,
		`<tr class="run" data-command="push">`, `error: Bitrix24 answered 503`,
		`<td>orders_history</td><td class="mono">7137</td>`, `<td>10m ago</td>`, `Lag: unknown until the first pull.`, // the cursor moved 10 minutes ago; no pull left a backlog
		`Parked 2 (1 waiting for a retry, 1 out of attempts).`, `<td class="when">out of attempts</td>`,
		`<td>1050 (No. 1050A)</td>`, `unmapped status &#34;weird&#34;`, `<td>customer 311</td>`,
		`52 requests in 5-minute buckets, the busiest 40: 7% of the 600 that bitrix.rate allows in 5 minutes.`, // 40 + 7 + 5; 2 a second
		`08:50–08:55 UTC: 40 requests`, `09:30–09:35 UTC: 12 requests`, `09:40–09:45 UTC: 0 requests`,
		`Links: 1 orders (1 deals, 0 leads), 0 customers.`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<rect class="bar"`); n != status.Buckets {
		t.Errorf("%d bars, want %d", n, status.Buckets)
	}
	if strings.Contains(body, "<script") {
		t.Error("the page has a script")
	}
}

// TestPageEscapesOutsideText: reasons, messages and order numbers come from
// the services and the engine; markup in them shows as text.
func TestPageEscapesOutsideText(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t, `<script>alert("reason")</script> status`, `<img src=x onerror=alert(1)>`)
	_, body := get(t, handler(st, nil), http.MethodGet, "/")
	for _, bad := range []string{"<script>", "<img", `onerror=alert(1)>`} {
		if strings.Contains(body, bad) {
			t.Errorf("page carries %q unescaped", bad)
		}
	}
	for _, want := range []string{`&lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt; status`, `error: &lt;img src=x onerror=alert(1)&gt;`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
}

// TestPageHidesSecrets: a database written without redaction (an older
// release, a message from outside) carries the API key and the webhook's
// secret; the page masks both wherever they stand.
func TestPageHidesSecrets(t *testing.T) {
	t.Parallel()
	const apiKey, hookSecret = "rcrm-page-secret-key-42", "pagehooksecret77"
	webhook := "https://shop.bitrix24.ru/rest/1/" + hookSecret + "/"
	st, _ := seeded(t, "RetailCRM refused key "+apiKey+" at "+webhook+"crm.deal.add",
		"POST "+webhook+"batch: 503 (apiKey="+apiKey+")")
	rd := redact.New(apiKey, webhook)
	_, body := get(t, handler(st, rd.String), http.MethodGet, "/")
	for _, secret := range []string{apiKey, hookSecret} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows the secret %q", secret)
		}
	}
	if !strings.Contains(body, "RetailCRM refused key ***") || !strings.Contains(body, "/rest/1/***/") {
		t.Errorf("the masked texts are missing:\n%s", body)
	}
}

func TestPageMethodsAndHeaders(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t, "r", "")
	h := handler(st, nil)
	for _, tc := range []struct {
		method, target string
		code           int
		body           bool
	}{
		{http.MethodGet, "/", http.StatusOK, true},
		{http.MethodHead, "/", http.StatusOK, false},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, true},
		{http.MethodPut, "/", http.StatusMethodNotAllowed, true},
		{http.MethodDelete, "/", http.StatusMethodNotAllowed, true},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound, true},
	} {
		res, body := get(t, h, tc.method, tc.target)
		if res.StatusCode != tc.code || (body != "") != tc.body {
			t.Errorf("%s %s: %d with %d bytes, want %d (body %v)", tc.method, tc.target, res.StatusCode, len(body), tc.code, tc.body)
		}
		if tc.code == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q", tc.method, res.Header.Get("Allow"))
		}
		if tc.code != http.StatusOK {
			continue
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", tc.method, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: Content-Security-Policy %q allows more than the page needs", tc.method, csp)
		}
		if res.Header.Get("Content-Type") != "text/html; charset=utf-8" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tc.method, res.Header)
		}
		if tc.method == http.MethodHead && res.Header.Get("Content-Length") == "0" {
			t.Errorf("HEAD: Content-Length 0")
		}
		if !tc.body {
			continue
		}
		// The one inline stylesheet is the one the policy's hash allows.
		m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
		if len(m) != 1 {
			t.Fatalf("%d style elements", len(m))
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q does not allow the page's stylesheet (%s)", csp, want)
		}
	}
}

// TestPageOnLoadError: an unreadable database is a 500 with a plain
// message, never the error's text.
func TestPageOnLoadError(t *testing.T) {
	t.Parallel()
	h := status.Handler(status.HandlerOptions{Load: func(context.Context) (*status.Page, error) {
		return nil, io.ErrUnexpectedEOF
	}, Log: discard()})
	res, body := get(t, h, http.MethodGet, "/")
	if res.StatusCode != http.StatusInternalServerError || strings.Contains(body, "unexpected EOF") {
		t.Errorf("%d %q", res.StatusCode, body)
	}
}

// TestPageWithoutDatabase: before the first pull the page says so.
func TestPageWithoutDatabase(t *testing.T) {
	t.Parallel()
	h := status.Handler(status.HandlerOptions{Load: func(context.Context) (*status.Page, error) {
		return status.NoDatabasePage(t0), nil
	}})
	res, body := get(t, h, http.MethodGet, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d", res.StatusCode)
	}
	for _, want := range []string{"No database yet", "No runs yet.", "No failures.", "No cursors yet."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
