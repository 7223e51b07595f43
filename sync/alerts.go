package sync

import (
	"context"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/runs"
)

// errorKind names the class of a run's failure for deduplicating alerts
// (runs.AlertKind).
func errorKind(err error) string { return runs.AlertKind(err) }

// RunAlert describes a run that failed outright, for AlertRunFailure.
type RunAlert struct {
	Config  *config.Config
	Bitrix  Bitrix
	Store   *store.Store
	Command string // pull, push, backfill
	Err     error
	Now     time.Time
	Logger  *slog.Logger
}

// AlertRunFailure tells alerts.notify_user_ids that a run failed outright,
// once per command, kind of failure and day (runs.Alerter.RunFailed). The
// engines send it themselves; this is for a caller holding only the error.
func AlertRunFailure(ctx context.Context, a RunAlert) int {
	if a.Config == nil || a.Bitrix == nil {
		return 0
	}
	al := runs.Alerter{Users: userIDs(a.Config.Alerts.NotifyUserIDs), Send: a.Bitrix.Batch, Store: a.Store, Log: a.Logger}
	return al.RunFailed(ctx, a.Command, a.Err, a.Now)
}

// alerter sends the engine's alerts through its write gate.
func (e *Engine) alerter() *runs.Alerter {
	return &runs.Alerter{Users: userIDs(e.cfg.Alerts.NotifyUserIDs), Send: e.gate.write, Store: e.store, Log: e.log}
}

func userIDs(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// alertRunFailed tells of the engine's own run failing outright.
func (e *Engine) alertRunFailed(ctx context.Context, command string, runErr error) {
	if e.opts.DryRun {
		return
	}
	e.sum.Alerts += e.alerter().RunFailed(ctx, command, runErr, e.now())
}
