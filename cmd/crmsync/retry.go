package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/store"
)

// parseIDs reads failure ids given as arguments.
func parseIDs(cmd *cobra.Command, args []string) ([]int64, error) {
	ids := make([]int64, 0, len(args))
	for _, s := range args {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, &usageError{err: fmt.Errorf("%s: %q is not a failure id (see crmsync status --failed)", cmd.CommandPath(), s)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// missing returns the ids asked for that were not changed.
func missing(asked, changed []int64) []int64 {
	got := make(map[int64]bool, len(changed))
	for _, id := range changed {
		got[id] = true
	}
	var out []int64
	for _, id := range asked {
		if !got[id] {
			out = append(out, id)
		}
	}
	return out
}

func (a *app) retryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "retry [ID...]",
		Short: "Re-queue parked failures for the next run",
		Long: `retry puts failures back in the queue: their attempt count is reset and the
next pull or push retries them first. Without IDs every parked failure is
re-queued; IDs come from crmsync status --failed.`,
		Example: `  crmsync retry
  crmsync retry 12 15`,
		RunE: a.failuresRunE("retry", (*store.Store).RetryFailures, "re-queued %d failure(s); the next run retries them first"),
	}
}

// failuresRunE is the RunE of retry and skip: parse the ids, take the lock,
// apply op, say how many changed and name the ids that matched nothing.
func (a *app) failuresRunE(command string, op func(*store.Store, context.Context, []int64) ([]int64, error), done string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ids, err := parseIDs(cmd, args)
		if err != nil {
			return err
		}
		release, err := a.lock(cmd.Context(), command)
		if err != nil {
			return err
		}
		defer release()
		st, err := a.openStore(cmd.Context())
		if err != nil {
			return err
		}
		defer st.Close()
		changed, err := op(st, cmd.Context(), ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, done+"\n", len(changed))
		if miss := missing(ids, changed); len(miss) > 0 {
			return fmt.Errorf("%s: no failure with id %v (see crmsync status --failed)", command, miss)
		}
		return nil
	}
}
