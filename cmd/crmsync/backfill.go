package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

type backfillOptions struct {
	runOptions
	since, until string
	withRules    bool
}

// parseDate reads --since and --until.
func parseDate(flag, s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &usageError{err: fmt.Errorf("--%s: %q is not a date (use YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\")", flag, s)}
}

func (o *backfillOptions) validate(cmd *cobra.Command) error {
	if err := o.runOptions.validate(cmd); err != nil {
		return err
	}
	var since, until time.Time
	var err error
	if o.since != "" {
		if since, err = parseDate("since", o.since); err != nil {
			return err
		}
	}
	if o.until != "" {
		if until, err = parseDate("until", o.until); err != nil {
			return err
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return &usageError{err: fmt.Errorf("backfill: --since %s is not before --until %s", o.since, o.until)}
	}
	return nil
}

func (a *app) backfillCmd() *cobra.Command {
	opts := &backfillOptions{}
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Import existing RetailCRM orders into Bitrix24 once, resumably",
		Long: `backfill walks the orders created in [--since, --until) page by page through
the same planner as pull, with a progress bar on a terminal. It records the head
of the order history before the first page, so that pull afterwards continues
from there instead of replaying years of history. Interrupted, it resumes near
where it stopped and redoes nothing already applied.`,
		Example: `  crmsync backfill --since 2025-01-01
  crmsync backfill --since 2025-01-01 --until 2025-07-01 --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(cmd); err != nil {
				return err
			}
			release, err := a.prepareRun(cmd.Context(), "backfill", opts.dryRun)
			if err != nil {
				return err
			}
			defer release()
			return &errEngineMissing{command: "backfill"}
		},
	}
	opts.addFlags(cmd, false)
	cmd.Flags().StringVar(&opts.since, "since", "", "first creation date to import (YYYY-MM-DD), inclusive")
	cmd.Flags().StringVar(&opts.until, "until", "", "creation date to stop at (YYYY-MM-DD), exclusive")
	cmd.Flags().BoolVar(&opts.withRules, "with-rules", false, "fire business rules for imported orders too")
	return cmd
}
