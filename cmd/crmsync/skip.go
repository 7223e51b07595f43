package main

import (
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
		Args: needArgs(1, -1, "name at least one failure id (see crmsync status --failed)"),
		RunE: a.failuresRunE("skip", (*store.Store).SkipFailures, "skipped %d failure(s)"),
	}
}
