package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	pullsync "github.com/crmsync/crmsync/sync"
)

type pullOptions struct {
	runOptions
}

func (a *app) pullCmd() *cobra.Command {
	opts := &pullOptions{}
	cmd := &cobra.Command{
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
		Args: noArgs,
		RunE: a.syncRunE("pull", &opts.runOptions, opts.validate, func(ctx context.Context) error { return a.runPull(ctx, opts) }),
	}
	opts.addFlags(cmd, true)
	return cmd
}

// runPull runs the pull engine and turns its outcome into output and an
// error for the exit-code ladder.
func (a *app) runPull(ctx context.Context, opts *pullOptions) error {
	d, err := a.openRun(ctx, opts.dryRun)
	if err != nil {
		return err
	}
	defer d.close()
	cfg, rc, bx, st := d.cfg, d.rc, d.bx, d.st

	prog := a.newProgress("pull")
	eng, err := pullsync.New(pullsync.Options{
		Config: cfg, RetailCRM: rc, Bitrix: bx, Store: st,
		DryRun: opts.dryRun, MaxItems: opts.maxItems, MaxDuration: opts.maxDuration, Stop: opts.stop,
		Logger: a.log, Progress: func(p pullsync.Progress) { prog.update(p); d.checkpoint() },
	})
	if err != nil {
		return err
	}
	res, err := eng.Pull(ctx)
	prog.done()
	if res != nil && opts.dryRun && err == nil {
		if perr := a.printReport(res.Report, opts.json); perr != nil {
			return perr
		}
	}
	if res != nil && !a.global.quiet {
		prefix := "crmsync: pull: "
		if opts.dryRun {
			prefix = "crmsync: pull (dry run, nothing written): "
		}
		fmt.Fprintln(a.err, a.redactor.String(prefix+res.Report.Summary.Line()))
	}
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	s := res.Report.Summary
	return a.outcome(&opts.runOptions, res.Parked(), &failedItems{command: "pull", waiting: s.WaitingForRetry, parked: s.Parked}, res.Report.Pending())
}
