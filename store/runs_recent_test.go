package store

import (
	"testing"
	"time"
)

// TestRunsEndedSince: the runs that ended at or after the time, oldest
// end first; runs ended before it and runs still going are left out.
func TestRunsEndedSince(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	run := func(command string, took time.Duration, requests int64) int64 {
		t.Helper()
		id, err := s.StartRun(ctx, command, 1)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(took)
		if err := s.FinishRun(ctx, id, RunOK, map[string]int64{"bitrix_requests": requests}, ""); err != nil {
			t.Fatal(err)
		}
		return id
	}
	run("pull", time.Minute, 1) // ends at +1m
	since := clk.Now().Add(time.Second)
	clk.Add(time.Minute)
	pull := run("pull", time.Minute, 2) // +2m .. +3m
	push := run("push", 0, 3)           // ends at +3m
	if _, err := s.StartRun(ctx, "backfill", 2); err != nil {
		t.Fatal(err)
	}

	got, err := s.RunsEndedSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != pull || got[1].ID != push || got[0].Counters["bitrix_requests"] != 2 ||
		!got[0].StartedAt.Equal(since.Add(time.Minute-time.Second)) {
		t.Errorf("RunsEndedSince = %+v, want pull %d then push %d", got, pull, push)
	}
	if got, err := s.RunsEndedSince(ctx, clk.Now().Add(time.Millisecond)); err != nil || len(got) != 0 {
		t.Errorf("RunsEndedSince(after the last) = %+v, %v", got, err)
	}
}
