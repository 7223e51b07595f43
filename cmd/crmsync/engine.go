package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

// runOptions are the flags shared by the commands that move data.
type runOptions struct {
	dryRun           bool
	detailedExitcode bool
	json             bool
	maxItems         int
	maxDuration      time.Duration
}

func (o *runOptions) addFlags(cmd *cobra.Command, limits bool) {
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, "plan and print the changes as a diff report; write nothing to either API or the database")
	f.BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "with --dry-run: exit 2 when changes are pending, 0 when there are none")
	f.BoolVar(&o.json, "json", false, "with --dry-run: print the report as JSON")
	if limits {
		f.IntVar(&o.maxItems, "max-items", 0, "stop after this many items (0: no limit)")
		f.DurationVar(&o.maxDuration, "max-duration", 0, "stop starting new pages after this long, e.g. 4m (0: no limit)")
	}
}

func (o *runOptions) validate(cmd *cobra.Command) error {
	switch {
	case o.detailedExitcode && !o.dryRun:
		return &usageError{err: fmt.Errorf("%s: --detailed-exitcode needs --dry-run", cmd.CommandPath())}
	case o.json && !o.dryRun:
		return &usageError{err: fmt.Errorf("%s: --json goes with --dry-run", cmd.CommandPath())}
	case o.maxItems < 0:
		return &usageError{err: fmt.Errorf("%s: --max-items must not be negative", cmd.CommandPath())}
	case o.maxDuration < 0:
		return &usageError{err: fmt.Errorf("%s: --max-duration must not be negative", cmd.CommandPath())}
	}
	return nil
}

// prepareRun does what every data-moving command does first: validate the
// configuration (exit 4) and take the database's run lock (exit 5).
func (a *app) prepareRun(ctx context.Context, command string, dryRun bool) (release func(), err error) {
	if _, err := a.config(true); err != nil {
		return nil, err
	}
	if dryRun {
		// A dry run writes nothing, so it needs no lock.
		return func() {}, nil
	}
	return a.lock(ctx, command)
}

// syncRunE is the RunE of pull, push and backfill: check the flags, then
// the configuration (exit 4) and the lock (exit 5), then run.
func (a *app) syncRunE(command string, opts *runOptions, validate func(*cobra.Command) error, run func(context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := validate(cmd); err != nil {
			return err
		}
		release, err := a.prepareRun(cmd.Context(), command, opts.dryRun)
		if err != nil {
			return err
		}
		defer release()
		return run(cmd.Context())
	}
}

// runDeps are what an engine run needs: the configuration, both clients
// and the database (a private in-memory copy for a dry run).
type runDeps struct {
	cfg *config.Config
	rc  *retailcrm.Client
	bx  *bitrix.Client
	st  *store.Store
}

// openRun builds the clients and opens the database for a pull, push or
// backfill; rcOpts add RetailCRM client options (the account's zone).
func (a *app) openRun(ctx context.Context, dryRun bool, rcOpts ...retailcrm.Option) (*runDeps, error) {
	cfg, err := a.config(true)
	if err != nil {
		return nil, err
	}
	rc, err := a.newRetailCRM(cfg, patient, rcOpts...)
	if err != nil {
		return nil, err
	}
	bx, err := a.newBitrix(cfg, patient)
	if err != nil {
		return nil, err
	}
	st, err := a.openRunStore(ctx, dryRun)
	if err != nil {
		return nil, err
	}
	return &runDeps{cfg: cfg, rc: rc, bx: bx, st: st}, nil
}

func (d *runDeps) close() { d.st.Close() }
