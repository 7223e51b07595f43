package sync

import (
	"context"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/runs"
	"github.com/crmsync/crmsync/sync/texts"
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
	locale, _ := texts.Parse(a.Config.Locale)
	al := runs.Alerter{Users: userIDs(a.Config.Alerts.NotifyUserIDs), Send: a.Bitrix.Batch, Store: a.Store, Log: a.Logger,
		Texts: texts.For(locale)}
	return al.RunFailed(ctx, a.Command, a.Err, a.Now)
}

// alerter sends the engine's alerts through its write gate.
func (e *Engine) alerter() *runs.Alerter {
	return &runs.Alerter{Users: userIDs(e.cfg.Alerts.NotifyUserIDs), Send: e.gate.write, Store: e.store, Log: e.log,
		Texts: e.mapper.txt}
}

// parkedAlert is the notification about an item parked after its last
// attempt. The reason can quote order data (a customer's e-mail or name):
// escaped, since notifications render BBCode.
func parkedAlert(txt *texts.Catalog, f store.Failure) string {
	var item string
	switch f.Kind {
	case "order":
		item = txt.F(texts.ItemOrder, esc(f.Key))
	case "customer":
		item = txt.F(texts.ItemCustomer, esc(f.Key))
	default:
		item = txt.F(texts.ItemOther, esc(f.Kind), esc(f.Key))
	}
	return txt.F(texts.AlertParked, item, txt.Plural(texts.Attempts, f.Attempts), esc(oneLine(f.LastError)))
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
