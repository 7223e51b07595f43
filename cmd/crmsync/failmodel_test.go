package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
)

// TestRevokedCredentialsExit4: a webhook whose secret the portal no longer
// knows (edited or deleted: 401 INVALID_CREDENTIALS) and a wrong RetailCRM
// key (Wrong "apiKey" value.) end pull, push and check with exit 4, name
// the refusal, print neither secret, and park nothing: every item would fail
// the same way.
func TestRevokedCredentialsExit4(t *testing.T) {
	t.Parallel()
	const wrongSecret, wrongKey = "revokedhook0001", "revoked-api-key-0001"
	for _, tc := range []struct {
		name, says, secret string
		spoil              func(f fakes, cfg string) string
	}{
		{"webhook", "INVALID_CREDENTIALS", wrongSecret,
			func(f fakes, cfg string) string { return strings.Replace(cfg, f.bx.Secret(), wrongSecret, 1) }},
		{"api key", `Wrong "apiKey" value.`, wrongKey,
			func(f fakes, cfg string) string { return strings.Replace(cfg, f.rc.APIKey(), wrongKey, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := defaultFakes(t)
			f.order("Ann", "ann@example.com", 10)
			good := f.config(fullMapping)
			_, cfg, db := workFiles(t, good)
			runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
			// Work for both commands: a new order, a manager's stage move.
			f.order("Bob", "bob@example.com", 20)
			for _, d := range f.bx.Deals() {
				if err := f.bx.MoveDeal(d.ID, "WON", 7); err != nil {
					t.Fatal(err)
				}
			}
			deals, edits := len(f.bx.Deals()), f.rc.Requests("/api/v5/orders/{id}/edit")
			writeConfig(t, filepath.Dir(cfg), tc.spoil(f, good))
			for _, command := range []string{"pull", "push", "check"} {
				r := runInProcess(t, "--config", cfg, "--db", db, command)
				r.mustCode(t, exitConfig)
				out := r.stdout + r.stderr
				if !strings.Contains(out, tc.says) {
					t.Errorf("%s does not say %q:\n%s", command, tc.says, out)
				}
				if strings.Contains(out, tc.secret) {
					t.Errorf("%s printed the secret:\n%s", command, out)
				}
			}
			rep := statusOf(t, cfg, db)
			if rep.Failures.Parked != 0 || rep.Failures.Pending != 0 {
				t.Errorf("items set aside for refused credentials: %+v", rep.Failures)
			}
			for _, command := range []string{"pull", "push"} {
				if got := rep.LastRuns[command].Result; got != "failed" {
					t.Errorf("%s recorded as %q, want failed", command, got)
				}
			}
			if len(f.bx.Deals()) != deals || f.rc.Requests("/api/v5/orders/{id}/edit") != edits {
				t.Error("a write went through with refused credentials")
			}
		})
	}
}

// TestBatchAnswerSilentOnItsWrites: a batch that ran (the deals exist) but
// whose answer mentions none of its commands, every section "[]", leaves
// the writes' outcome unknown: pull looks the deals up by ORIGIN_ID instead
// of creating them a second time.
func TestBatchAnswerSilentOnItsWrites(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	f.buyers(0, 5)
	target, err := url.Parse(f.bx.URL())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu stdsync.Mutex
	silenced := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		mu.Lock()
		silence := silenced == 0 && strings.HasSuffix(r.URL.Path, "/batch") && bytes.Contains(body, []byte("crm.deal.add"))
		if silence {
			silenced++
		}
		mu.Unlock()
		if !silence {
			rp.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(httptest.NewRecorder(), r) // it runs; its answer is replaced
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"result":{"result":[],"result_error":[],"result_total":[],"result_next":[],"result_time":[]},"time":{"start":1}}`)
	}))
	t.Cleanup(proxy.Close)
	cfg := strings.Replace(f.config(fullMapping), f.bx.URL(), proxy.URL, 1)
	_, cfgFile, db := workFiles(t, cfg)
	r := runInProcess(t, "--config", cfgFile, "--db", db, "pull")
	if r.code != exitOK && r.code != exitParked {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if silenced != 1 {
		t.Fatalf("no batch of deal adds was silenced (%d)", silenced)
	}
	runInProcess(t, "--config", cfgFile, "--db", db, "pull").mustCode(t, exitOK)
	origins := dealOrigins(f.bx)
	if len(origins) != 5 {
		t.Errorf("deals for %d orders, want 5", len(origins))
	}
	for o, n := range origins {
		if n != 1 {
			t.Errorf("order %s has %d deals", o, n)
		}
	}
}
