package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGINTStopsARunWith130 interrupts the real process while it waits on a
// slow API and expects a prompt, clean exit with 130.
func TestSIGINTStopsARunWith130(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 8)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)

	dir := t.TempDir()
	cfg := writeConfig(t, dir, validConfig(slow.URL, slow.URL+"/rest/1/abcd1234/"))
	cmd := binaryCommand(dir, "--config", cfg, "--db", filepath.Join(dir, "sig.db"), "check")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the command never reached the API")
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitExit(t, cmd, time.Minute, "SIGINT did not stop the run")
	took := time.Since(start)
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code %d, want 130; stderr:\n%s", code, stderr.String())
	}
	if bound := promptBound(t, dir); took > bound {
		t.Errorf("stopping took %v (prompt is under %v on this machine now)", took, bound)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q does not say it was interrupted", stderr.String())
	}
}

// promptBound is how long a step that must be prompt (a run stopping on
// SIGINT, a second run giving up on a held lock) may take on this machine at
// the moment: 5 s plus twenty times the slower of two runs of crmsync
// version. A loaded machine stretches the bound; on a quiet one, waiting out
// a timeout (SQLite's 5 s busy timeout, an HTTP timeout) still fails it.
func promptBound(t *testing.T, dir string) time.Duration {
	t.Helper()
	var slowest time.Duration
	for range 2 {
		start := time.Now()
		runBinary(t, dir, nil, "version").mustCode(t, exitOK)
		slowest = max(slowest, time.Since(start))
	}
	return 5*time.Second + 20*slowest
}
