package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testRCToken = "rc-token-0123456789abcdef0123"
	testBXToken = "bx-outbound-token-4242"
)

// TestCheckPrintsServeURLs: check prints the URLs to register for serve,
// the RetailCRM trigger's token as *** with where it comes from, never a
// token; the Bitrix24 handler with the events to tick. Without serve
// settings it says nothing about serve; without public_url it says what is
// missing.
func TestCheckPrintsServeURLs(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "rc_token")
	if err := os.WriteFile(tokenFile, []byte(testRCToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := f.config(fullMapping + "  order_methods:\n    phone: CALL\n")
	tests := []struct {
		name  string
		serve string
		want  []string
		not   []string
	}{
		{"registered", "serve:\n  public_url: https://crmsync.example.com/sync/\n  retailcrm_token_file: " + tokenFile + "\n  bitrix_token: " + testBXToken + "\n",
			[]string{"ok   serve.retailcrm        RetailCRM trigger URL: https://crmsync.example.com/sync/hooks/retailcrm/*** (*** is serve.retailcrm_token, read from " + tokenFile + ")",
				"Settings → Triggers", "HTTP request",
				"ok   serve.bitrix           Bitrix24 outbound webhook: handler https://crmsync.example.com/sync/hooks/bitrix for ONCRMDEALUPDATE, ONCRMTIMELINECOMMENTADD (its application token is serve.bitrix_token, from ",
				"everything needed is in place"}, nil},
		{"no bitrix token", "serve:\n  public_url: https://crmsync.example.com\n  retailcrm_token: " + testRCToken + "\n",
			[]string{"WARN serve.bitrix           Bitrix24 outbound webhook: handler https://crmsync.example.com/hooks/bitrix for ONCRMDEALUPDATE, ONCRMTIMELINECOMMENTADD; serve.bitrix_token is not set",
				"fix: in Bitrix24: Developer resources → Other → Outbound webhook, handler URL https://crmsync.example.com/hooks/bitrix"}, nil},
		{"leads", "bitrix:\n  entity: lead\nserve:\n  public_url: https://crmsync.example.com\n  bitrix_token: " + testBXToken + "\n",
			[]string{"handler https://crmsync.example.com/hooks/bitrix for ONCRMLEADUPDATE, ONCRMTIMELINECOMMENTADD", "WARN serve.retailcrm        serve.retailcrm_token is not set"}, nil},
		{"no public url", "serve:\n  retailcrm_token: " + testRCToken + "\n",
			[]string{"WARN serve.public_url", "fix: set serve.public_url"}, []string{"/hooks/"}},
		{"no serve", "", nil, []string{"serve."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := base + tc.serve
			if strings.HasPrefix(tc.serve, "bitrix:") {
				body = strings.Replace(base, "bitrix:\n", "bitrix:\n  entity: lead\n", 1) + strings.TrimPrefix(tc.serve, "bitrix:\n  entity: lead\n")
			}
			cfg := writeConfig(t, t.TempDir(), body)
			r := runInProcess(t, "--config", cfg, "check")
			want := exitOK
			if strings.HasPrefix(tc.serve, "bitrix:") {
				want = exitConfig // the deal mapping names no lead statuses: not this test's business
			}
			r.mustCode(t, want)
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, n := range append(tc.not, testRCToken, testBXToken) {
				if strings.Contains(r.stdout+r.stderr, n) {
					t.Errorf("output has %q:\n%s%s", n, r.stdout, r.stderr)
				}
			}
		})
	}
}

// hookReceiver stands for crmsync serve's /hooks/bitrix: it records the
// forms the portal posts.
type hookReceiver struct {
	mu    sync.Mutex
	forms []url.Values
	srv   *httptest.Server
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		h.mu.Lock()
		h.forms = append(h.forms, form)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// TestCheckFixBindsServeEvents: check --fix on an inbound webhook cannot
// bind (the portal answers WRONG_AUTH_TYPE), says so and prints the steps,
// binding nothing; where the portal allows event.bind it binds each event
// once, and a deal moved afterwards reaches the handler URL with the
// application token — the whole path from check to serve's endpoint.
func TestCheckFixBindsServeEvents(t *testing.T) {
	t.Parallel()
	for _, app := range []bool{false, true} {
		name := "inbound webhook"
		if app {
			name = "application"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := defaultFakes(t)
			recv := newHookReceiver(t)
			if app {
				f.bx.ActAsApplication(testBXToken)
			}
			cfg := writeConfig(t, t.TempDir(), f.config(fullMapping+"  order_methods:\n    phone: CALL\n")+
				"serve:\n  public_url: "+recv.srv.URL+"\n  retailcrm_token: "+testRCToken+"\n  bitrix_token: "+testBXToken+"\n")
			r := runInProcess(t, "--config", cfg, "check", "--fix")
			r.mustCode(t, exitOK)
			hook := recv.srv.URL + "/hooks/bitrix"
			st := f.bx.Stats()
			if !app {
				for _, w := range []string{"WARN serve.bitrix           cannot register the event handlers: Bitrix24 lets only applications bind them (event.bind)",
					"fix: in Bitrix24: Developer resources → Other → Outbound webhook, handler URL " + hook + ", events ONCRMDEALUPDATE, ONCRMTIMELINECOMMENTADD"} {
					if !strings.Contains(r.stdout, w) {
						t.Errorf("output lacks %q:\n%s", w, r.stdout)
					}
				}
				if st.PerMethod["event.get"] != 1 || st.PerMethod["event.bind"] != 0 || len(f.bx.EventHandlers()) != 0 {
					t.Errorf("calls %v, handlers %v", st.PerMethod, f.bx.EventHandlers())
				}
				return
			}
			if !strings.Contains(r.stdout, "FIX  serve.bitrix           bound ONCRMDEALUPDATE, ONCRMTIMELINECOMMENTADD to "+hook) {
				t.Errorf("output:\n%s", r.stdout)
			}
			if got := f.bx.EventHandlers(); len(got) != 2 || got[0].Handler != hook || got[1].Handler != hook {
				t.Errorf("handlers %v", got)
			}
			// Again: nothing more to bind.
			r = runInProcess(t, "--config", cfg, "check", "--fix")
			r.mustCode(t, exitOK)
			if !strings.Contains(r.stdout, "ok   serve.bitrix           ONCRMDEALUPDATE, ONCRMTIMELINECOMMENTADD already bound to "+hook) ||
				f.bx.Stats().PerMethod["event.bind"] != 2 {
				t.Errorf("second run bound again (%v):\n%s", f.bx.Stats().PerMethod, r.stdout)
			}
			// A manager moves a deal: the portal calls the handler.
			f.bx.SeedStage("DEAL_STAGE", "WON", "Won", "S", 50)
			deal := f.bx.SeedDeal(map[string]any{"TITLE": "Order 9", "STAGE_ID": "NEW"})
			if err := f.bx.MoveDeal(deal, "WON", 3); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := f.bx.WaitDeliveries(ctx); err != nil {
				t.Fatal(err)
			}
			recv.mu.Lock()
			defer recv.mu.Unlock()
			if len(recv.forms) != 1 || recv.forms[0].Get("event") != "ONCRMDEALUPDATE" || recv.forms[0].Get("auth[application_token]") != testBXToken {
				t.Errorf("handler got %v", recv.forms)
			}
		})
	}
}
