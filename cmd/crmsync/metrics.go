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
	run := metrics.Run{Command: cmd.Name(), Started: started, Ended: time.Now(), ExitCode: code,
		Result: resultFor(code), APIs: a.apis.Snapshot(), Backlog: -1}
	if st, ok, err := a.openStoreReadOnly(context.WithoutCancel(ctx)); err == nil && ok {
		defer st.Close()
		if runs, err := st.Runs(ctx, cmd.Name(), 1); err == nil && len(runs) == 1 && !runs[0].StartedAt.Before(started.Add(-time.Second)) {
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
	if err := metrics.WriteFile(a.global.metricsFile, run); err != nil {
		a.log.Warn("could not write the metrics file", "path", a.global.metricsFile, "err", err)
	}
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
