package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/sync/shop"
)

// TestTwoRealPullsAtOnce starts a second pull while the first is working on
// the same database: the second exits 5 at once and names the first, the
// first finishes, and the portal ends as after one run.
func TestTwoRealPullsAtOnce(t *testing.T) {
	skipShort(t, "starts real runs")
	t.Parallel()
	size := shop.Size{Orders: 600, Customers: 200}
	_, want, _ := referenceRun(t, size, "pull")

	f := campaignShop(t, size)
	dir := t.TempDir()
	cfg, db := f.campaignConfig(t, dir), filepath.Join(dir, "both.db")
	first := startBinary(t, dir, "--config", cfg, "--db", db, "-q", "pull")
	// Wait until the first run is talking to the portal, so it holds the lock.
	deadline := time.Now().Add(30 * time.Second)
	for f.bx.Stats().Requests == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first run never reached the portal")
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := f.bx.Stats().Requests + f.rc.TotalRequests()
	started := time.Now()
	second := runBinary(t, dir, nil, "--config", cfg, "--db", db, "-q", "pull")
	took := time.Since(started)
	second.mustCode(t, exitLocked)
	if bound := promptBound(t, dir); took > bound {
		t.Errorf("the second run took %v to give up; it should exit at once (under %v on this machine now)", took, bound)
	}
	if !strings.Contains(second.stderr, "is in use by crmsync pull (pid ") {
		t.Errorf("the second run does not name the first: %q", second.stderr)
	}
	err := first.Wait()
	var ee *exec.ExitError
	if code := 0; errors.As(err, &ee) {
		code = ee.ExitCode()
		if code != exitParked {
			t.Fatalf("the first run exited %d", code)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	if f.bx.Stats().Requests+f.rc.TotalRequests() <= before {
		t.Error("the first run had finished before the second started: the test proves nothing")
	}
	if diff := cmp.Diff(want, snapshot(f.bx)); diff != "" {
		t.Errorf("portal after two runs at once differs from one run (-want +got):\n%s", truncate(diff, 4000))
	}
}
