package main

import (
	"context"

	"github.com/spf13/cobra"

	pullsync "github.com/crmsync/crmsync/sync"
)

func (a *app) pullCmd() *cobra.Command {
	return a.syncCmd(&cobra.Command{
		Use:   "pull",
		Short: "Copy RetailCRM order changes into Bitrix24 contacts and deals",
		Long: `pull reads RetailCRM's order history from the stored cursor, 100 records a
page, and upserts the Bitrix24 contacts and deals the orders belong to, within
the portal's request limits. Deals and contacts are keyed by ORIGINATOR_ID and
ORIGIN_ID, so a lost database never creates duplicates. The cursor moves only
after a page's effects are written or parked.

With --dry-run it plans exactly as a real run and prints the diff report,
writing nothing to either API or the database.`,
		Example: `  crmsync pull
  crmsync pull --max-duration 4m
  crmsync pull --dry-run --detailed-exitcode`,
	}, a.runPull)
}

// runPull runs the pull engine on d and turns its outcome into output and
// an error for the exit-code ladder.
func (a *app) runPull(ctx context.Context, d *runDeps, opts *runOptions) error {
	prog := a.newProgress("pull")
	eng, err := pullsync.New(pullsync.Options{
		Config: d.cfg, RetailCRM: d.rc, Bitrix: d.bx, Store: d.st,
		DryRun: opts.dryRun, MaxItems: opts.maxItems, MaxDuration: opts.maxDuration, Stop: opts.stop,
		Logger: a.log, Progress: func(p pullsync.Progress) { prog.update(p); d.checkpoint() },
	})
	if err != nil {
		return err
	}
	res, err := eng.Pull(ctx)
	prog.done()
	var end *runEnd
	if res != nil {
		s := res.Report.Summary
		end = &runEnd{print: func() error { return a.printReport(res.Report, opts.json) }, summary: s.Line(),
			parked: res.Parked(), failed: &failedItems{command: "pull", waiting: s.WaitingForRetry, parked: s.Parked}, pending: res.Report.Pending()}
	}
	return a.finishRun("pull", true, opts, end, err)
}
