package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/sync/push"
)

func (a *app) pushCmd() *cobra.Command {
	return a.syncCmd(&cobra.Command{
		Use:   "push",
		Short: "Carry Bitrix24 deal stages and manager comments back to RetailCRM orders",
		Long: `push reads Bitrix24's stage history from the stored cursor, maps each linked
deal's latest stage to a RetailCRM status (mapping.stages, else the inverse of
mapping.statuses) and writes it to the order; new timeline comments written by
people are appended to the order's manager comment once each. Values crmsync
wrote itself are never echoed back. When the order's status and the deal's
stage both changed since the last sync, the later change wins and the decision
is logged. Stages without a mapping are reported, never dropped silently.
Comments are read only for deals with recent activity, 50 deals per request.
Comments by the webhook's own user count as crmsync's: give the webhook a
Bitrix24 user of its own. The first run reads the stage history from its start.

--max-items counts stage-history rows read plus deals scanned for comments.
With --dry-run it plans exactly as a real run and prints the status changes and
comments it would write, writing nothing to either API or the database.`,
		Example: `  crmsync push
  crmsync push --max-duration 2m
  crmsync push --dry-run --json`,
	}, a.runPush)
}

// runPush runs the push engine on d and turns its outcome into output and
// an error for the exit-code ladder.
func (a *app) runPush(ctx context.Context, d *runDeps, opts *runOptions) error {
	cfg := d.cfg
	eng, err := push.New(push.Deps{RetailCRM: d.rc, Bitrix: d.bx, Store: d.st, Mapping: cfg.Mapping, CategoryID: cfg.Bitrix.CategoryID, Funnels: cfg.Funnels,
		Entity: cfg.Bitrix.Entity, Originator: cfg.Bitrix.OriginatorID,
		WebhookUserID: webhook(cfg).UserID, NotifyUserIDs: userIDs(cfg.Alerts.NotifyUserIDs),
		Locale: cfg.Locale, Logger: a.log})
	if err != nil {
		return err
	}
	rep, err := eng.Run(ctx, push.Options{DryRun: opts.dryRun, MaxItems: opts.maxItems,
		MaxDuration: opts.maxDuration, Stop: opts.stop, PID: os.Getpid()})
	var end *runEnd
	if rep != nil {
		s := rep.Summary
		end = &runEnd{print: func() error { return a.printReport(rep, opts.json) }, summary: s.Line(),
			parked: s.Parked + s.Failed, failed: &failedItems{command: "push", waiting: s.Failed, parked: s.Parked + s.Failed}, pending: rep.Pending()}
	}
	return a.finishRun("push", false, opts, end, err)
}

func userIDs(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}
