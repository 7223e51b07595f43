package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/cmd/crmsync-sandbox/shop"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestPullUnderAFaultMix runs the real binary against fakes that answer 10%
// of requests with their rate-limit error, 3% with an HTML 5xx page and 1%
// with truncated JSON. Runs must reach the fault-free final state, retries
// must stay bounded, and each run's exit code must agree with what status
// records.
func TestPullUnderAFaultMix(t *testing.T) {
	if testing.Short() {
		t.Skip("fault campaign")
	}
	t.Parallel()
	size := shop.Size{Orders: 300, Customers: 100}

	ref := campaignShop(t, size)
	refDir := t.TempDir()
	pullToCompletion(t, refDir, ref.campaignConfig(t, refDir), filepath.Join(refDir, "ref.db"))
	want := snapshot(ref.bx)
	refRequests := ref.bx.Stats().Requests + ref.rc.TotalRequests()

	f := campaignShop(t, size)
	for _, fault := range []bitrixtest.Fault{
		{Kind: bitrixtest.FaultQueryLimit, Probability: 0.10},
		{Kind: bitrixtest.FaultHTML502, Probability: 0.03},
		{Kind: bitrixtest.FaultTruncated, Probability: 0.01},
	} {
		f.bx.AddFault(fault)
	}
	for _, fault := range []retailcrmtest.Fault{
		{Kind: retailcrmtest.FaultRateLimit, Probability: 0.10},
		{Kind: retailcrmtest.FaultServerError, Probability: 0.03},
		{Kind: retailcrmtest.FaultTruncated, Probability: 0.01},
	} {
		f.rc.InjectFault(fault)
	}
	dir := t.TempDir()
	cfg, db := f.campaignConfig(t, dir), filepath.Join(dir, "faults.db")
	done := false
	for run := 0; run < 8 && !done; run++ {
		r := runBinary(t, dir, nil, "--config", cfg, "--db", db, "-q", "pull")
		st := runBinary(t, dir, nil, "--config", cfg, "--db", db, "status", "--json")
		var rep statusReport
		if err := json.Unmarshal([]byte(st.stdout), &rep); err != nil {
			t.Fatalf("status --json: %v\n%s", err, st.stdout)
		}
		last := rep.LastRuns["pull"].Result
		switch r.code {
		case exitOK:
			done = last == "ok"
			if !done {
				t.Errorf("run %d exited 0 but status says %q", run, last)
			}
		case exitParked:
			done = true
			if last != "partial" {
				t.Errorf("run %d exited 3 but status says %q", run, last)
			}
		case exitError:
			if last != "failed" {
				t.Errorf("run %d exited 1 but status says %q", run, last)
			}
			t.Logf("run %d failed (a fault outlasted the retries): %s", run, r.stderr)
		default:
			t.Fatalf("run %d exited %d: %s", run, r.code, r.stderr)
		}
	}
	if !done {
		t.Fatal("pull never completed under the fault mix")
	}
	// Parked orders wait for their backoff; once more after it is what the
	// reference's single run did for them too.
	got := snapshot(f.bx)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("portal under faults differs from the fault-free run (-want +got):\n%s", truncate(diff, 4000))
	}
	if n := f.bx.Stats().Requests + f.rc.TotalRequests(); n > 3*refRequests {
		t.Errorf("retries unbounded: %d requests against %d without faults", n, refRequests)
	} else {
		t.Logf("requests: %d under faults, %d without (faults injected: bitrix %d)", n, refRequests, f.bx.Stats().FaultsInjected)
	}
}
