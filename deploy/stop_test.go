package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/sync/serve"
)

// stopMargin is what serve needs past its grace on SIGTERM: the run cut
// short at the grace returns at its next safe point (its request's context
// ends), the database closes and the process exits. The HTTP server's own
// shutdown (5 s) runs alongside the run's, not after it.
const stopMargin = 10 * time.Second

// systemdSeconds reads a systemd time span as the stop timeouts write it:
// "90", "90s", "1min 30s".
func systemdSeconds(t *testing.T, v string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(strings.NewReplacer("min", "m", " ", "").Replace(v))
	if err != nil {
		t.Fatalf("time span %q: %v", v, err)
	}
	return d
}

// TestStopTimeoutsCoverServesGrace: on SIGTERM serve lets the run in
// progress finish its page for up to serve.DefaultGrace, then cancels it;
// systemd (TimeoutStopSec) and Kubernetes (terminationGracePeriodSeconds)
// must wait longer than that before SIGKILL, or a slow page is killed
// mid-write instead of stopped at a safe point.
func TestStopTimeoutsCoverServesGrace(t *testing.T) {
	t.Parallel()
	need := serve.DefaultGrace + stopMargin

	unit, err := os.ReadFile(filepath.Join("systemd", "crmsync-serve.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Timeout(?:Stop)?Sec=(.+)$`).FindAllStringSubmatch(string(unit), -1)
	if len(m) != 1 {
		t.Fatalf("crmsync-serve.service: want one TimeoutStopSec=, found %v", m)
	}
	if got := systemdSeconds(t, strings.TrimSpace(m[0][1])); got < need {
		t.Errorf("crmsync-serve.service: TimeoutStopSec=%v, want at least %v (serve's grace %v + %v)", got, need, serve.DefaultGrace, stopMargin)
	}

	pod := dig(k8sObjects(t, "deployment.yaml")["Deployment"], "spec", "template", "spec")
	grace, ok := dig(pod, "terminationGracePeriodSeconds").(int)
	if !ok {
		t.Fatalf("deployment.yaml: no terminationGracePeriodSeconds (Kubernetes' default, 30 s, is shorter than serve's grace %v)", serve.DefaultGrace)
	}
	if got := time.Duration(grace) * time.Second; got < need {
		t.Errorf("deployment.yaml: terminationGracePeriodSeconds %d, want at least %v (serve's grace %v + %v)", grace, need.Seconds(), serve.DefaultGrace, stopMargin)
	}
	// A preStop hook would spend the same budget before SIGTERM.
	if h := dig(pod, "containers", 0, "lifecycle", "preStop"); h != nil {
		t.Errorf("deployment.yaml: a preStop hook (%v) eats into terminationGracePeriodSeconds; count it in", h)
	}
}
