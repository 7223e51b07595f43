package main

import (
	"context"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/status"
)

// statusPage is the status page serve mounts at GET / (docs/operations.md,
// "The status page"): the data of status --json, read from the database
// opened read-only for each request like status does, so it needs no lock
// and shows what the running syncs committed.
func (a *app) statusPage() http.Handler {
	return status.Handler(status.HandlerOptions{Redact: a.redactor.String, Log: a.log,
		Load: func(ctx context.Context) (*status.Page, error) {
			rate := config.DefaultBitrixRate
			if a.cfg != nil {
				rate = a.cfg.Bitrix.Rate
			}
			st, ok, err := a.openStoreReadOnly(ctx)
			if err != nil {
				return nil, err
			}
			if !ok {
				return status.NoDatabasePage(time.Now()), nil
			}
			defer st.Close()
			return status.LoadPage(ctx, st, status.PageOptions{BitrixRate: rate})
		}})
}
