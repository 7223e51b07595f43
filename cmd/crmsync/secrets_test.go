package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testAPIKey     = "rcrm-secret-key-0001"
	testHookSecret = "hooksecret42xyz"
)

// TestSecretsNeverLeak runs commands with known secrets against endpoints that
// fail in the ways most likely to echo a URL or key, and greps every output.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	// An endpoint that answers HTML and one that refuses connections: both
	// produce errors that embed the request URL.
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>" + r.URL.String() + " " + r.Header.Get("X-API-KEY") + "</html>"))
	}))
	defer html.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	for name, urls := range map[string][2]string{
		"html":    {html.URL, html.URL + "/rest/1/" + testHookSecret + "/"},
		"refused": {closed, closed + "/rest/1/" + testHookSecret + "/"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(dir, "s.db")
			cfg := writeConfig(t, dir, "retailcrm:\n  url: "+urls[0]+"\n  api_key: "+testAPIKey+"\nbitrix:\n  webhook_url: "+urls[1]+"\n")
			var outputs []string
			for _, args := range [][]string{
				{"check"}, {"check", "--json"},
				{"--log-level", "debug", "check"}, {"--log-format", "json", "-v", "check"},
				{"pull"}, {"pull", "--dry-run"}, {"push"}, {"backfill"},
				{"retry"}, {"status"}, {"status", "--json"}, {"-v", "status", "--failed"},
			} {
				r := runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
				outputs = append(outputs, r.stdout, r.stderr)
			}
			// The same secrets from the environment instead of the file.
			env := []string{"CRMSYNC_RETAILCRM_API_KEY=" + testAPIKey, "CRMSYNC_BITRIX_WEBHOOK_URL=" + urls[1], "CRMSYNC_RETAILCRM_URL=" + urls[0]}
			emptyCfg := filepath.Join(dir, "empty.yaml")
			if err := os.WriteFile(emptyCfg, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"check"}, {"-v", "status", "--json"}} {
				r := runBinary(t, dir, env, append([]string{"--config", emptyCfg, "--db", db}, args...)...)
				outputs = append(outputs, r.stdout, r.stderr)
			}
			all := strings.Join(outputs, "\n")
			if !strings.Contains(all, "/rest/1/***/") && name == "refused" {
				t.Errorf("expected the redacted webhook somewhere in the output:\n%s", all)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "s.db*"))
			if len(files) == 0 {
				t.Fatal("retry should have created the database")
			}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				all += string(data)
			}
			for _, secret := range []string{testAPIKey, testHookSecret} {
				if i := strings.Index(all, secret); i >= 0 {
					lo := max(0, i-200)
					t.Errorf("secret %q leaked: ...%s...", secret, all[lo:min(len(all), i+50)])
				}
			}
		})
	}
}
