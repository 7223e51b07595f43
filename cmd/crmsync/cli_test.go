package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

func TestHelpCoversEveryCommand(t *testing.T) {
	t.Parallel()
	r := runInProcess(t, "--help")
	r.mustCode(t, exitOK)
	commands := []string{"pull", "push", "backfill", "serve", "status", "check", "retry", "skip", "version", "completion"}
	for _, c := range commands {
		if !strings.Contains(r.stdout, "\n  "+c+" ") {
			t.Errorf("--help does not list %s:\n%s", c, r.stdout)
		}
	}
	for _, flag := range []string{"--config", "--db", "--log-format", "--log-level", "-q, --quiet", "-v, --verbose"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("--help lacks global flag %s", flag)
		}
	}
	a := &app{v: viper.New()}
	root := a.rootCmd()
	for _, c := range commands {
		cmd, _, err := root.Find([]string{c})
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Short == "" || cmd.Long == "" || cmd.Example == "" {
			t.Errorf("%s: summary, description and example are all required", c)
		}
		h := runInProcess(t, c, "--help")
		h.mustCode(t, exitOK)
		if !strings.Contains(h.stdout, "Examples:") {
			t.Errorf("%s --help shows no example", c)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"pull", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"status", "extra"}, "takes no arguments"},
		{[]string{"skip"}, "name at least one failure id"},
		{[]string{"skip", "abc"}, `"abc" is not a failure id`},
		{[]string{"--log-format", "xml", "status"}, `--log-format: "xml" is not one of text, json`},
		{[]string{"--log-level", "loud", "status"}, `--log-level: "loud"`},
		{[]string{"-q", "-v", "status"}, "--quiet and --verbose contradict"},
		{[]string{"pull", "--max-items", "x"}, "invalid argument"},
		{[]string{"pull", "--detailed-exitcode"}, "--detailed-exitcode needs --dry-run"},
		{[]string{"backfill", "--since", "yesterday"}, `--since: "yesterday" is not a date`},
		{[]string{"backfill", "--since", "2025-02-01", "--until", "2025-01-01"}, "is not before --until"},
		{[]string{"completion"}, "name one shell"},
		{[]string{"completion", "tcsh"}, "unknown shell"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			t.Parallel()
			wantRefused(t, "http://127.0.0.1:1", tt.args, exitUsage, tt.want)
		})
	}
}

// wantRefused runs crmsync with args, a valid configuration for services
// at base and a fresh database, and wants exit code with want in stderr.
func wantRefused(t *testing.T, base string, args []string, code int, want string) {
	t.Helper()
	dir := t.TempDir()
	r := runInProcess(t, append([]string{"--db", filepath.Join(dir, "x.db"), "--config", writeConfig(t, dir, validConfig(base, base+"/rest/1/abcd1234/"))}, args...)...)
	r.mustSay(t, code, want)
}

func validConfig(rcrmURL, webhook string) string {
	return fmt.Sprintf(`retailcrm:
  url: %s
  api_key: rcrm-secret-key-0001
bitrix:
  webhook_url: %s
mapping:
  statuses:
    new: NEW
    group:complete: WON
`, rcrmURL, webhook)
}

func TestConfigErrorsExit4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		args       []string
		want       string
	}{
		{"unknown key", "retailcrm:\n  api_kee: x\n", []string{"check"}, "retailcrm.api_kee: unknown key (line 2); did you mean retailcrm.api_key?"},
		{"wrong type", "bitrix:\n  burst: many\n", []string{"pull"}, `bitrix.burst: must be a whole number, not text (line 2)`},
		{"bad url", validConfig("https://x.retailcrm.ru", "https://p.bitrix24.ru/hook/1/zzzz/"), []string{"check"}, "bitrix.webhook_url: must look like https://PORTAL/rest/USER_ID/SECRET/"},
		{"malformed yaml", "retailcrm: [\n", []string{"push"}, "not valid YAML"},
		{"missing credentials", "db: x.db\n", []string{"backfill"}, "retailcrm.api_key: required"},
		{"http refused", validConfig("http://shop.retailcrm.ru", "https://p.bitrix24.ru/rest/1/abcd1234/"), []string{"check"}, "plain http:// is refused"},
		// The file's log settings are configuration like the rest: named by
		// key and line, the value not shown (--log-level is a usage error).
		{"log level", "db: x.db\nlog_level: TOPSECRET\n", []string{"check"}, "log_level: must be debug, info, warn or error (line 2)"},
		{"log format", "log_format: TOPSECRET\n", []string{"pull"}, "log_format: must be text or json (line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := writeConfig(t, dir, tt.body)
			r := runInProcess(t, append([]string{"--config", cfg, "--db", filepath.Join(dir, "c.db")}, tt.args...)...)
			r.mustSay(t, exitConfig, tt.want)
			if strings.Contains(strings.ToLower(r.stderr), "topsecret") {
				t.Errorf("the value is echoed: %q", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "c.db")); err == nil {
				t.Error("a database was created despite the configuration error")
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		p := filepath.Join(t.TempDir(), "absent.yaml")
		r := runInProcess(t, "--config", p, "check")
		r.mustCode(t, exitConfig)
		if !strings.Contains(r.stderr, p) || !strings.Contains(r.stderr, "no such file") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

// The exit message says what became of the failed items, in the words of
// crmsync status: waiting for a retry, or parked after the last attempt.
func TestFailedItemsMessage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  *failedItems
		want string
	}{
		{&failedItems{command: "pull", parked: 2, waiting: 2},
			"pull: finished, but 2 items were parked (2 waiting for a retry, 0 out of attempts; see crmsync status --failed)"},
		{&failedItems{command: "pull", parked: 1, waiting: 1},
			"pull: finished, but 1 item was parked (1 waiting for a retry, 0 out of attempts; see crmsync status --failed)"},
		{&failedItems{command: "push", parked: 1},
			"push: finished, but 1 item was parked (0 waiting for a retry, 1 out of attempts; see crmsync status --failed; those out of attempts need crmsync retry or skip)"},
		{&failedItems{command: "backfill", parked: 5, waiting: 3},
			"backfill: finished, but 5 items were parked (3 waiting for a retry, 2 out of attempts; see crmsync status --failed; those out of attempts need crmsync retry or skip)"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("message\n got %q\nwant %q", got, tt.want)
		}
	}
}

func TestExitCodeLadder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        int
	}{
		{"ok", nil, false, exitOK},
		{"plain error", errors.New("boom"), false, exitError},
		{"usage", &usageError{err: errors.New("bad flag")}, false, exitUsage},
		{"pending", fmt.Errorf("dry run: %w", errPending), false, exitUsage},
		{"parked", fmt.Errorf("pull: %w", errParked), false, exitParked},
		{"waiting for a retry", &failedItems{command: "pull", parked: 2, waiting: 2}, false, exitParked},
		{"out of attempts", &failedItems{command: "push", parked: 1}, false, exitParked},
		{"config", fmt.Errorf("x: %w", config.ErrInvalid), false, exitConfig},
		{"retailcrm auth", fmt.Errorf("history: %w", retailcrm.ErrAuth), false, exitConfig},
		{"retailcrm account", fmt.Errorf("history: %w", retailcrm.ErrAccountNotFound), false, exitConfig},
		{"retailcrm redirect", fmt.Errorf("edit: %w", &retailcrm.RedirectError{Endpoint: "POST /x", Status: 301}), false, exitConfig},
		{"bitrix auth", fmt.Errorf("batch: %w", bitrix.ErrAuth), false, exitConfig},
		{"locked", &store.LockedError{Path: "x.db", PID: 1}, false, exitLocked},
		{"interrupted cancel", fmt.Errorf("page: %w", context.Canceled), true, exitInterrupted},
		{"interrupted clean", nil, true, exitInterrupted},
		{"cancel without signal", context.Canceled, false, exitError},
		{"overload is an error", fmt.Errorf("x: %w", bitrix.ErrOverload), false, exitError},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err, tt.interrupted); got != tt.want {
			t.Errorf("%s: exitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSignalHandler(t *testing.T) {
	t.Parallel()
	exited := make(chan int, 1)
	s := newSignalHandler(context.Background(), func(code int) { exited <- code })
	defer s.stop()
	if s.interrupted() {
		t.Fatal("interrupted before any signal")
	}
	s.ch <- syscall.SIGTERM
	select {
	case <-s.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("first signal did not cancel the context")
	}
	if !s.interrupted() {
		t.Error("interrupted() false after a signal")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) on the first signal", code)
	default:
	}
	s.ch <- syscall.SIGINT
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Errorf("second signal exit code %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not exit")
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for shell, marker := range map[string]string{"bash": "__crmsync", "zsh": "#compdef crmsync", "fish": "complete -c crmsync", "powershell": "Register-ArgumentCompleter"} {
		r := runInProcess(t, "completion", shell)
		r.mustCode(t, exitOK)
		if !strings.Contains(r.stdout, marker) {
			t.Errorf("%s completion lacks %q", shell, marker)
		}
	}
}
