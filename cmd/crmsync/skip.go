package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/store"
)

func (a *app) skipCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "skip ID...",
		Short: "Acknowledge parked failures so they are no longer retried",
		Long: `skip marks failures as acknowledged: they are not retried and no longer count
as parked in status. Use it for orders that should never reach Bitrix24. The
event log keeps their history; crmsync retry ID brings one back.`,
		Example: `  crmsync skip 12
  crmsync skip 12 15 16`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{err: fmt.Errorf("%s: name at least one failure id (see crmsync status --failed)", cmd.CommandPath())}
			}
			return nil
		},
		RunE: a.failuresRunE("skip", (*store.Store).SkipFailures, "skipped %d failure(s)"),
	}
}
