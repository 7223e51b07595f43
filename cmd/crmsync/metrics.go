package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/metrics"
)

// isSyncCommand tells the commands that record runs and get a metrics file.
func isSyncCommand(name string) bool {
	return name == "pull" || name == "push" || name == "backfill"
}

// writeMetrics writes --metrics-file after a pull, push or backfill, from
// the run the engine recorded and what the APIs answered. A failure to write
// is logged, never turned into the run's result.
func (a *app) writeMetrics(ctx context.Context, cmd *cobra.Command, code int, started time.Time) {
	if a.global.metricsFile == "" || cmd == nil || !isSyncCommand(cmd.Name()) || !a.ran {
		return
	}
	if err := metrics.WriteFile(a.global.metricsFile, a.runMetrics(ctx, cmd.Name(), code, started, a.apis.Snapshot())); err != nil {
		a.log.Warn("could not write the metrics file", "path", a.global.metricsFile, "err", err)
	}
}

// runMetrics are the figures of the run of command that started at
// started: the engine's record of it, what the APIs answered (apis) and the
// failures table after it.
func (a *app) runMetrics(ctx context.Context, command string, code int, started time.Time, apis map[string]metrics.API) metrics.Run {
	ctx = context.WithoutCancel(ctx) // an interrupted run is measured too
	run := metrics.Run{Command: command, Started: started, Ended: time.Now(), ExitCode: code,
		Result: resultFor(code), APIs: apis, Backlog: -1}
	if st, ok, err := a.openStoreReadOnly(ctx); err == nil && ok {
		defer st.Close()
		if runs, err := st.Runs(ctx, command, 1); err == nil && len(runs) == 1 && !runs[0].StartedAt.Before(started.Add(-time.Second)) {
			r := runs[0]
			run.Started, run.Counters = r.StartedAt, r.Counters
			if !r.EndedAt.IsZero() {
				run.Ended = r.EndedAt
			}
			if n, ok := r.Counters[backlogCounter]; ok {
				run.Backlog = n
			}
		}
		if counts, err := st.CountFailures(ctx); err == nil {
			run.Parked, run.Retrying = counts.Parked, counts.Retrying
		}
	}
	return run
}

func resultFor(code int) string {
	switch code {
	case exitOK:
		return string(store.RunOK)
	case exitParked:
		return string(store.RunPartial)
	case exitInterrupted:
		return string(store.RunInterrupted)
	default:
		return string(store.RunFailed)
	}
}
