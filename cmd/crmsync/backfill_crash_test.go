package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/store"
)

// backfillPage is the page a killed backfill left in its cursor, 0 when it
// left none (killed before the first page was committed, or finished).
func backfillPage(t *testing.T, db string) int {
	t.Helper()
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	st, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		// Not created and migrated yet (or killed while it was): there
		// is nothing to resume.
		return 0
	}
	defer st.Close()
	raw, ok, err := st.Cursor(context.Background(), store.CursorBackfill)
	if err != nil || !ok {
		return 0
	}
	var c struct {
		Page int `json:"page"`
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("backfill cursor %q: %v", raw, err)
	}
	return c.Page
}

// TestBackfillSurvivesSIGKILL kills the real binary at seeded moments of a
// backfill, runs it again to completion, and requires the fake portal to
// end exactly as after a backfill that was never interrupted (no duplicate
// deal, contact or multifield row, nothing missing), with the second run
// resuming at the page the first one had committed.
func TestBackfillSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash campaign")
	}
	t.Parallel()
	size := campaignSize(t, 500)
	pages := (size.Orders + 99) / 100

	ref, want, took := referenceRun(t, size, "backfill")
	spoiled := snapshot(ref.bx)
	spoilContact(&spoiled)
	if cmp.Equal(want, spoiled) {
		t.Fatal("the comparison does not notice a duplicate phone row")
	}

	const points = 20
	resumed := 0
	// Spread the kills over the whole run: the head walk, lookups, writes
	// and commits.
	for _, at := range killPoints(took, 6, 0.03, points) {
		t.Run(fmt.Sprintf("kill_at_%s", at.Round(time.Millisecond)), func(t *testing.T) {
			f := campaignShop(t, size)
			dir := t.TempDir()
			cfg, db := f.campaignConfig(t, dir), filepath.Join(dir, "crash.db")
			killAfter(t, dir, at, "--config", cfg, "--db", db, "-q", "backfill")
			page := backfillPage(t, db)
			f.rc.ResetCounters()
			toCompletion(t, dir, cfg, db, "backfill")
			if page > 0 {
				resumed++
				// Resuming reads the pages from the one not committed on
				// (and the empty one after the last), never from the start.
				if got, max := f.rc.Requests("/api/v5/orders"), pages-page+2; got > max {
					t.Errorf("killed with page %d next, the resumed run read %d order pages, want at most %d", page, got, max)
				}
			}
			got := snapshot(f.bx)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("portal after a kill at %v differs from the uninterrupted run (-want +got):\n%s", at, truncate(diff, 4000))
			}
		})
	}
	t.Logf("%d of %d killed runs had committed pages and resumed", resumed, points)
	// Kill times are fractions of the reference run's time; on a loaded
	// machine some land before the first commit or after the last, so a
	// third is asked for, not every one.
	if resumed < points/3 {
		t.Errorf("only %d of %d kills left a backfill to resume: the kill points miss the pages", resumed, points)
	}

	// Killed, and then the database is lost too: the remote keys are the
	// truth, so starting over creates nothing twice.
	t.Run("kill_then_lose_database", func(t *testing.T) {
		f := campaignShop(t, size)
		dir := t.TempDir()
		cfg, db := f.campaignConfig(t, dir), filepath.Join(dir, "lost.db")
		killAfter(t, dir, took/2, "--config", cfg, "--db", db, "-q", "backfill")
		loseDatabase(t, db)
		toCompletion(t, dir, cfg, db, "backfill")
		if diff := cmp.Diff(want, snapshot(f.bx)); diff != "" {
			t.Errorf("portal after a kill and a lost database differs (-want +got):\n%s", truncate(diff, 4000))
		}
	})
}
