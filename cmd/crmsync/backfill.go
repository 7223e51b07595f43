package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/crmsync/crmsync/retailcrm"
	pullsync "github.com/crmsync/crmsync/sync"
)

type backfillOptions struct {
	runOptions
	since, until string
	withRules    bool
	sample       int
}

// parseDate reads --since or --until in loc. A date or a date and time
// carry no zone and are read in the RetailCRM account's zone, like every
// date the API shows; RFC 3339 brings its own offset.
func parseDate(flag, s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &usageError{err: fmt.Errorf("--%s: %q is not a date (use YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\")", flag, s)}
}

// bounds reads --since and --until in loc; zero times for flags not given.
func (o *backfillOptions) bounds(loc *time.Location) (since, until time.Time, err error) {
	if o.since != "" {
		if since, err = parseDate("since", o.since, loc); err != nil {
			return since, until, err
		}
	}
	if o.until != "" {
		if until, err = parseDate("until", o.until, loc); err != nil {
			return since, until, err
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, &usageError{err: fmt.Errorf("backfill: --since %s is not before --until %s", o.since, o.until)}
	}
	return since, until, nil
}

func (o *backfillOptions) validate(cmd *cobra.Command) error {
	if err := o.runOptions.validate(cmd); err != nil {
		return err
	}
	if o.sample < 0 {
		return &usageError{err: fmt.Errorf("%s: --sample must not be negative", cmd.CommandPath())}
	}
	// Checked in UTC before anything is read; read again in the account's
	// zone once it is known.
	_, _, err := o.bounds(time.UTC)
	return err
}

func (a *app) backfillCmd() *cobra.Command {
	opts := &backfillOptions{}
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Import existing RetailCRM orders into Bitrix24 once, resumably",
		Long: `backfill walks the orders created in [--since, --until) page by page through
the same planner as pull, with a progress bar on a terminal (log lines every
10 seconds otherwise). Dates are in the RetailCRM account's time zone.

Before the first page it records the head of the order history, so that pull
afterwards continues from there instead of replaying years of history; a pull
cursor that already exists is left alone. Orders created after the backfill
starts are pull's. Interrupted (Ctrl-C, kill, a crash) and run again with the
same window, it resumes near where it stopped and redoes nothing already
applied. Business rules do not fire for imported orders unless --with-rules.

With --dry-run it reads everything, writes nothing, and prints the counts and
the first --sample changes of the diff report.`,
		Example: `  crmsync backfill --since 2025-01-01
  crmsync backfill --since 2025-01-01 --until 2025-07-01 --dry-run`,
		Args: noArgs,
		RunE: a.syncRunE("backfill", &opts.runOptions, opts.validate, func(ctx context.Context) error { return a.runBackfill(ctx, opts) }),
	}
	opts.addFlags(cmd, false)
	cmd.Flags().StringVar(&opts.since, "since", "", "first creation date to import (YYYY-MM-DD), inclusive")
	cmd.Flags().StringVar(&opts.until, "until", "", "creation date to stop at (YYYY-MM-DD), exclusive")
	cmd.Flags().BoolVar(&opts.withRules, "with-rules", false, "fire business rules for imported orders too")
	cmd.Flags().IntVar(&opts.sample, "sample", 50, "with --dry-run: how many changes of the report to print")
	return cmd
}

// runBackfill runs the backfill engine and turns its outcome into output
// and an error for the exit-code ladder, as pull and push do.
func (a *app) runBackfill(ctx context.Context, opts *backfillOptions) error {
	cfg, err := a.config(true)
	if err != nil {
		return err
	}
	// Order-list bounds and the server's clock are wall times in the
	// account's zone: read it first, then build the client that uses it.
	probe, err := a.newRetailCRM(cfg, patient)
	if err != nil {
		return err
	}
	settings, err := probe.Settings(ctx)
	if err != nil {
		return fmt.Errorf("backfill: reading the RetailCRM account time zone: %w", err)
	}
	loc, err := settings.Location()
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	since, until, err := opts.bounds(loc)
	if err != nil {
		return err
	}
	d, err := a.openRun(ctx, opts.dryRun, retailcrm.WithLocation(loc))
	if err != nil {
		return err
	}
	defer d.close()
	rc, bx, st := d.rc, d.bx, d.st

	eng, err := pullsync.New(pullsync.Options{
		Config: cfg, RetailCRM: rc, Bitrix: bx, Store: st, DryRun: opts.dryRun,
		Logger: a.log, RunCommand: "backfill",
	})
	if err != nil {
		return err
	}
	prog := a.newBackfillProgress()
	res, err := eng.Backfill(ctx, pullsync.BackfillOptions{Since: since, Until: until, Location: loc,
		WithRules: opts.withRules, SampleChanges: max(opts.sample, 1),
		Progress: func(p pullsync.BackfillProgress) { prog.update(p); d.checkpoint() }})
	prog.done()
	var end *runEnd
	if res != nil && res.Result != nil {
		line := fmt.Sprintf("%d of %d orders", res.Done, res.Total)
		if res.Resumed {
			line += " (resumed)"
		}
		s := res.Report.Summary
		end = &runEnd{print: func() error { return a.printBackfillReport(res, opts) }, summary: line + "; " + s.Line(),
			parked: res.Parked(), failed: &failedItems{command: "backfill", waiting: s.WaitingForRetry, parked: s.Parked}, pending: res.Report.Pending()}
	}
	return a.finishRun("backfill", true, &opts.runOptions, end, err)
}

// printBackfillReport prints a dry run's report: the sample of changes,
// then how many more there are.
func (a *app) printBackfillReport(res *pullsync.BackfillResult, opts *backfillOptions) error {
	if extra := len(res.Report.Changes) - opts.sample; extra > 0 {
		res.Report.Changes = res.Report.Changes[:opts.sample]
		res.ChangesOmitted += extra
	}
	if err := a.printReport(res.Report, opts.json); err != nil {
		return err
	}
	if res.ChangesOmitted > 0 && !opts.json {
		_, err := fmt.Fprintf(a.out, "… %d more changes not shown (--sample %d); the counts below cover all of them\n",
			res.ChangesOmitted, opts.sample)
		return err
	}
	return nil
}

// backfillProgress shows how far a backfill is: a progress bar on a
// terminal, a log line every logEvery otherwise (cron, pipes, journald).
type backfillProgress struct {
	a        *app
	tty      bool
	w        io.Writer
	bar      *progressbar.ProgressBar
	base     int64 // orders done before this run (a resumed backfill)
	started  time.Time
	lastLog  time.Time
	logEvery time.Duration
}

func (a *app) newBackfillProgress() *backfillProgress {
	p := &backfillProgress{a: a, w: a.err, started: time.Now(), logEvery: 10 * time.Second}
	if f, ok := a.err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	if a.global.quiet {
		p.tty = false
	}
	// lastLog stays zero: the first page is logged at once, so a log shows
	// the window's size from the start.
	return p
}

func (p *backfillProgress) update(pr pullsync.BackfillProgress) {
	p.base = pr.Before
	if p.tty {
		p.draw(pr)
		return
	}
	if p.a.global.quiet || time.Since(p.lastLog) < p.logEvery {
		return
	}
	p.lastLog = time.Now()
	rate, eta := p.rate(pr)
	p.a.log.Info("backfill progress", "done", pr.Done, "total", pr.Total, "orders_per_second", fmt.Sprintf("%.1f", rate),
		"eta", eta.Round(time.Second).String(), "failed", pr.Parked)
}

// rate is this run's orders per second and the time left at that rate.
func (p *backfillProgress) rate(pr pullsync.BackfillProgress) (float64, time.Duration) {
	el := time.Since(p.started).Seconds()
	if el <= 0 {
		return 0, 0
	}
	rate := float64(pr.Done-p.base) / el
	if rate <= 0 {
		return 0, 0
	}
	return rate, time.Duration(float64(max(pr.Total-pr.Done, 0)) / rate * float64(time.Second))
}

func (p *backfillProgress) draw(pr pullsync.BackfillProgress) {
	todo := max(pr.Total-p.base, 1)
	if p.bar == nil {
		desc := "backfill"
		if p.base > 0 {
			desc = fmt.Sprintf("backfill (resumed, %d done before)", p.base)
		}
		p.bar = progressbar.NewOptions64(todo,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("orders"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.ChangeMax64(todo)
	if pr.Parked > 0 {
		desc := fmt.Sprintf("backfill, %d failed", pr.Parked)
		if p.base > 0 {
			desc = fmt.Sprintf("backfill (resumed, %d done before), %d failed", p.base, pr.Parked)
		}
		p.bar.Describe(desc)
	}
	_ = p.bar.Set64(min(pr.Done-p.base, todo))
}

// done clears the bar before the summary line.
func (p *backfillProgress) done() {
	if p.bar != nil {
		_ = p.bar.Clear()
		fmt.Fprint(p.w, "\r\033[K")
	}
}
