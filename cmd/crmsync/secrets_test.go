package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	testAPIKey     = "rcrm-secret-key-0001"
	testHookSecret = "hooksecret42xyz"
)

// patientCommand says whether args run a command that waits out the whole
// retry ladder of a call that keeps failing (a push against a dead portal
// takes half a minute): -short runs only the interactive commands of
// TestSecretsNeverLeak, the full suite runs them all.
func patientCommand(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == "pull" || a == "push" || a == "backfill" })
}

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
	// An endpoint that answers a well-formed API error quoting the key and
	// the path back: the clients show such messages, so only the redactor
	// stands between the secret and the output.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		if strings.HasPrefix(r.URL.Path, "/rest/") {
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "INVALID_REQUEST", "error_description": "bad call " + r.URL.Path})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "errorMsg": "key " + r.Header.Get("X-API-KEY") + " is not valid here"})
	}))
	defer echo.Close()
	closed := "http://" + freeAddr(t)

	for name, urls := range map[string][2]string{
		"html":    {html.URL, html.URL + "/rest/1/" + testHookSecret + "/"},
		"echo":    {echo.URL, echo.URL + "/rest/1/" + testHookSecret + "/"},
		"refused": {closed, closed + "/rest/1/" + testHookSecret + "/"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(dir, "s.db")
			cfg := writeConfig(t, dir, "retailcrm:\n  url: "+urls[0]+"\n  api_key: "+testAPIKey+"\nbitrix:\n  webhook_url: "+urls[1]+"\n")
			var outputs []string
			run := func(env []string, cfg string, args ...string) {
				if testing.Short() && patientCommand(args) {
					return
				}
				r := runBinary(t, dir, env, append([]string{"--config", cfg, "--db", db}, args...)...)
				outputs = append(outputs, r.stdout, r.stderr)
			}
			for _, args := range [][]string{
				{"check"}, {"check", "--json"},
				{"--log-level", "debug", "check"}, {"--log-format", "json", "-v", "check"},
				{"pull"}, {"pull", "--dry-run"}, {"push"}, {"backfill"},
				{"retry"}, {"status"}, {"status", "--json"}, {"-v", "status", "--failed"},
			} {
				run(nil, cfg, args...)
			}
			// The same secrets from the environment instead of the file.
			env := []string{"CRMSYNC_RETAILCRM_API_KEY=" + testAPIKey, "CRMSYNC_BITRIX_WEBHOOK_URL=" + urls[1], "CRMSYNC_RETAILCRM_URL=" + urls[0]}
			emptyCfg := filepath.Join(dir, "empty.yaml")
			if err := os.WriteFile(emptyCfg, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"check"}, {"-v", "status", "--json"}} {
				run(env, emptyCfg, args...)
			}
			// The same secrets from files named by *_file keys (with the
			// newline an editor leaves), then from systemd's credentials.
			keyFile := writeSecret(t, dir, "key", testAPIKey+"\n", 0o600)
			hookFile := writeSecret(t, dir, "hook", urls[1]+"\n", 0o644)
			fileCfg := filepath.Join(dir, "files.yaml")
			if err := os.WriteFile(fileCfg, []byte("retailcrm:\n  url: "+urls[0]+"\n  api_key_file: "+keyFile+"\nbitrix:\n  webhook_url_file: "+hookFile+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"--log-format", "json", "-v", "check"}, {"check", "--json"}, {"pull"}, {"-v", "status", "--failed"}} {
				run(nil, fileCfg, args...)
			}
			creds := filepath.Join(dir, "credentials")
			writeSecret(t, creds, "retailcrm_api_key", testAPIKey+"\n", 0o400)
			writeSecret(t, creds, "bitrix_webhook_url", urls[1]+"\n", 0o400)
			credEnv := []string{"CREDENTIALS_DIRECTORY=" + creds, "CRMSYNC_RETAILCRM_URL=" + urls[0]}
			for _, args := range [][]string{{"-v", "check"}, {"pull", "--dry-run"}} {
				run(credEnv, emptyCfg, args...)
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

// writeSecret writes a secret file with the given mode (umask aside).
func writeSecret(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecretsFromFilesAgainstTheFakes runs check and pull with the key and
// the webhook URL only in files, then only in systemd's credentials: both
// services accept them (the fakes check the key and the webhook secret).
func TestSecretsFromFilesAgainstTheFakes(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	rc, bx := f.rc, f.bx
	dir := t.TempDir()
	keyFile := writeSecret(t, dir, "retailcrm.key", rc.APIKey()+"\n", 0o600)
	hookFile := writeSecret(t, dir, "bitrix.url", bx.WebhookURL()+"\r\n", 0o600)
	body := strings.Replace(f.pullConfig(), "api_key: "+rc.APIKey(), "api_key_file: "+keyFile, 1)
	body = strings.Replace(body, "webhook_url: "+bx.WebhookURL(), "webhook_url_file: "+hookFile, 1)
	if strings.Contains(body, rc.APIKey()) || strings.Contains(body, bx.Secret()) {
		t.Fatalf("the config still holds a secret:\n%s", body)
	}
	cfg := writeConfig(t, dir, body)
	db := filepath.Join(dir, "c.db")
	f.order("Anna", "anna@example.com", 1890)

	r := runInProcess(t, "--config", cfg, "--db", db, "check", "--json")
	rep := checkJSON(t, r)
	for _, fd := range rep.Findings {
		if fd.Status == checkFail && (strings.HasPrefix(fd.Check, "retailcrm") || strings.HasPrefix(fd.Check, "bitrix")) && strings.Contains(fd.Detail, "auth") {
			t.Errorf("the key from a file was not accepted: %+v", fd)
		}
	}
	if got := findingOf(rep, "secrets.permissions"); len(got) != 1 || got[0].Status != checkOK {
		t.Errorf("0600 secret files: %+v", got)
	}
	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	if len(bx.Deals()) != 1 {
		t.Fatalf("pull with secrets from files made %d deals", len(bx.Deals()))
	}

	// systemd's LoadCredential= puts the same files in $CREDENTIALS_DIRECTORY.
	creds := filepath.Join(dir, "credentials")
	writeSecret(t, creds, "retailcrm_api_key", rc.APIKey()+"\n", 0o400)
	writeSecret(t, creds, "bitrix_webhook_url", bx.WebhookURL()+"\n", 0o400)
	body = strings.Replace(body, "  api_key_file: "+keyFile+"\n", "", 1)
	body = strings.Replace(body, "  webhook_url_file: "+hookFile+"\n", "", 1)
	credCfg := filepath.Join(dir, "creds.yaml")
	if err := os.WriteFile(credCfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	f.order("Boris", "boris@example.com", 990)
	env := []string{"CREDENTIALS_DIRECTORY=" + creds}
	r = runBinary(t, dir, env, "--config", credCfg, "--db", db, "check")
	if strings.Contains(r.stdout+r.stderr, "required") || strings.Contains(r.stdout, "secrets.permissions") {
		t.Errorf("check with credentials:\n%s\n%s", r.stdout, r.stderr)
	}
	runBinary(t, dir, env, "--config", credCfg, "--db", db, "pull").mustCode(t, exitOK)
	if len(bx.Deals()) != 2 {
		t.Fatalf("pull with systemd credentials: %d deals", len(bx.Deals()))
	}
	// Without the credentials the same configuration lacks both secrets.
	runBinary(t, dir, nil, "--config", credCfg, "--db", db, "pull").mustSay(t, exitConfig, "retailcrm.api_key: required")
}

// TestCheckWarnsAboutReadableSecretFiles: a secret file or a configuration
// file holding a secret that group or others may read gets a warning naming
// the file and the chmod; 0600 gets none. A warning does not fail check.
func TestCheckWarnsAboutReadableSecretFiles(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	dir := t.TempDir()
	keyFile := writeSecret(t, dir, "key", f.rc.APIKey()+"\n", 0o644)
	body := fmt.Sprintf("retailcrm:\n  url: %s\n  api_key_file: %s\nbitrix:\n  webhook_url: %s\n", f.rc.URL(), keyFile, f.bx.WebhookURL()) + fullMapping
	cfg := writeSecret(t, dir, "crmsync.yaml", body, 0o640)

	r := runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitOK)
	wantAll(t, "check output", r.stdout,
		"WARN secrets.permissions", keyFile+" (retailcrm.api_key_file) is readable by its group and others (mode 0644)", "fix: chmod 600 "+keyFile,
		cfg+" holds bitrix.webhook_url and is readable by its group (mode 0640)", "fix: chmod 600 "+cfg+"; or", "bitrix.webhook_url_file")
	rep := checkJSON(t, runInProcess(t, "--config", cfg, "check", "--json"))
	if got := findingOf(rep, "secrets.permissions"); !rep.OK || len(got) != 2 || got[0].Status != checkWarn || got[0].Fix != "chmod 600 "+keyFile {
		t.Errorf("findings %+v", got)
	}

	for _, p := range []string{keyFile, cfg} {
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r = runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitOK)
	if strings.Contains(r.stdout, "WARN") || !strings.Contains(r.stdout, "ok   secrets.permissions") {
		t.Errorf("0600 files still warned about:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, f.rc.APIKey()) || strings.Contains(r.stdout+r.stderr, f.bx.Secret()) {
		t.Errorf("a secret leaked:\n%s\n%s", r.stdout, r.stderr)
	}

	// A file others may write but not read: its secret can be replaced.
	for mode, says := range map[os.FileMode]string{0o620: "is writable by its group (mode 0620)",
		0o666: "is readable and writable by its group and others (mode 0666)"} {
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
		r = runInProcess(t, "--config", cfg, "check")
		r.mustCode(t, exitOK)
		wantAll(t, "check output", r.stdout, keyFile+" (retailcrm.api_key_file) "+says)
	}
}

// TestMisplacedSecretIsNotEchoed: a key written where a section belongs
// (retailcrm: <key>) is reported by key and line, never by value, in check
// and in status, text and JSON.
func TestMisplacedSecretIsNotEchoed(t *testing.T) {
	t.Parallel()
	const secret = "TOPSECRETKEY123"
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "retailcrm: "+secret+"\nbitrix:\n  rate: "+secret+"x\n")
	db := filepath.Join(dir, "s.db")
	for _, args := range [][]string{{"check"}, {"check", "--json"}, {"status"}, {"status", "--json"}, {"-v", "status", "--failed"}, {"pull"}} {
		r := runInProcess(t, append([]string{"--config", cfg, "--db", db}, args...)...)
		out := r.stdout + r.stderr
		if strings.Contains(out, secret) {
			t.Errorf("%v echoes the misplaced secret:\n%s", args, out)
		}
		if !strings.Contains(out, "retailcrm: must be a section of keys") || !strings.Contains(out, "(line 1)") ||
			!strings.Contains(out, "bitrix.rate: must be a number, not text (line 3)") {
			t.Errorf("%v does not name the keys and lines:\n%s", args, out)
		}
		if args[0] == "check" || args[0] == "pull" {
			r.mustCode(t, exitConfig)
		}
	}
}
