package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
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
	// stop, once closed, ends the run before its next page (serve); not a flag.
	stop <-chan struct{}
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

// outcome is how a pull, push or backfill that ran to its end exits: with
// the n items its report lists as parked (failed, exit 3; a dry run only
// warns that they would be), or, with --detailed-exitcode, with the changes
// a dry run found pending (exit 2).
func (a *app) outcome(o *runOptions, n int, failed *failedItems, pending bool) error {
	if n > 0 {
		if !o.dryRun {
			return failed
		}
		a.log.Warn("dry run: some items would be parked", "parked", n, "waiting_for_retry", failed.waiting)
	}
	if o.dryRun && o.detailedExitcode && pending {
		return errPending
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

// syncCmd completes the command of pull or push: no arguments, the run
// flags with their limits, and syncRunE running run on the opened deps.
func (a *app) syncCmd(cmd *cobra.Command, run func(context.Context, *runDeps, *runOptions) error) *cobra.Command {
	opts := &runOptions{}
	cmd.Args = noArgs
	cmd.RunE = a.syncRunE(cmd.Name(), opts, opts.validate, func(ctx context.Context) error { return a.withRun(ctx, opts, run) })
	opts.addFlags(cmd, true)
	return cmd
}

// withRun opens the deps of a pull or push (openRun), runs run on them and
// closes them, storing the request budget.
func (a *app) withRun(ctx context.Context, opts *runOptions, run func(context.Context, *runDeps, *runOptions) error) error {
	d, err := a.openRun(ctx, opts.dryRun)
	if err != nil {
		return err
	}
	defer d.close()
	return run(ctx, d, opts)
}

// runEnd is what an engine run that produced a report hands to finishRun.
type runEnd struct {
	print   func() error // prints a dry run's report on stdout
	summary string       // the report's one-line summary
	parked  int          // the items the report lists as parked
	failed  *failedItems // the exit-3 error when they are
	pending bool         // the report has changes a dry run did not write
}

// finishRun ends a pull, push or backfill alike: a clean dry run prints
// its report, the summary goes to stderr unless --quiet ("crmsync:
// command: ...", saying so for a dry run when dryRunNote), then the run's
// error or the exit its outcome calls for. end is nil when the run
// stopped before it had a report.
func (a *app) finishRun(command string, dryRunNote bool, o *runOptions, end *runEnd, err error) error {
	if end != nil && o.dryRun && err == nil {
		if perr := end.print(); perr != nil {
			return perr
		}
	}
	if end != nil && !a.global.quiet {
		prefix := "crmsync: " + command + ": "
		if dryRunNote && o.dryRun {
			prefix = "crmsync: " + command + " (dry run, nothing written): "
		}
		fmt.Fprintln(a.err, a.redactor.String(prefix+end.summary))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	return a.outcome(o, end.parked, end.failed, end.pending)
}

// runDeps are what an engine run needs: the configuration, both clients
// and the database (a private in-memory copy for a dry run).
type runDeps struct {
	cfg *config.Config
	rc  *retailcrm.Client
	bx  *bitrix.Client
	st  *store.Store

	a      *app
	dryRun bool
	portal string    // the bitrix_budget key
	saved  time.Time // when the budget was last stored
}

// budgetEvery is how often a run stores the portal's request counter at
// its safe points (after a page), besides at its end.
const budgetEvery = 5 * time.Second

// portalKey is the portal's host (with its port): every configuration
// that talks to one portal shares its request budget.
func portalKey(cfg *config.Config) string {
	u, err := url.Parse(webhook(cfg).Base)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
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
	st, err := a.openRunStore(ctx, dryRun)
	if err != nil {
		return nil, err
	}
	d := &runDeps{cfg: cfg, rc: rc, st: st, a: a, dryRun: dryRun, portal: portalKey(cfg)}
	// Start from the request budget the previous run (pull, push or
	// backfill, any configuration on this portal) left, so this run does
	// not open with a burst the portal has already spent.
	var extra []bitrix.Option
	if level, at, ok, err := st.BitrixBudget(ctx, d.portal); err != nil {
		a.log.Warn("bitrix budget not read; starting with a full burst", "error", err)
	} else if ok {
		extra = append(extra, bitrix.WithBucketLevel(level, at))
	}
	if d.bx, err = a.newBitrix(cfg, patient, extra...); err != nil {
		st.Close()
		return nil, err
	}
	return d, nil
}

// checkpoint stores the portal's request counter at a safe point of the
// run (outside any transaction), at most every budgetEvery.
func (d *runDeps) checkpoint() {
	if time.Since(d.saved) >= budgetEvery {
		d.saveBudget(context.Background())
	}
}

// saveBudget stores the portal's request counter for the next run. A dry
// run reads it but never writes it; a failure only costs the next run a
// burst, so it is logged, not returned.
func (d *runDeps) saveBudget(ctx context.Context) {
	if d.dryRun || d.portal == "" {
		return
	}
	level, at := d.bx.BucketLevel()
	d.saved = time.Now()
	if err := d.st.Tx(ctx, func(tx *store.Tx) error { return tx.PutBitrixBudget(ctx, d.portal, level, at) }); err != nil {
		d.a.log.Warn("bitrix budget not stored; the next run may start with a burst", "error", err)
	}
}

func (d *runDeps) close() {
	// The run's context may be cancelled by now; the write is one row.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.saveBudget(ctx)
	d.st.Close()
}
