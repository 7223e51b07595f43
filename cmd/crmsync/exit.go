package main

import (
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/runs"
)

// Exit codes (docs/operations.md, Exit codes).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2 // also: changes pending with --dry-run --detailed-exitcode
	exitParked      = 3
	exitConfig      = 4 // configuration or authentication
	exitLocked      = 5
	exitInterrupted = 130
)

// usageError is a mistake in how the command was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// errPending: a dry run found changes and --detailed-exitcode asked to say so.
var errPending = errors.New("changes are pending")

// errParked: the run finished but some items failed (exit 3). The error a
// run returns is a *failedItems, which says how many and what became of them.
var errParked = errors.New("finished, but some items were parked (see crmsync status --failed)")

// failedItems is a run that finished with parked items: parked counts them
// all, waiting those later runs retry on their own (the rest are out of
// attempts and need crmsync retry or skip), in the words of every summary
// line and of crmsync status.
type failedItems struct {
	command string // pull, push, backfill
	parked  int
	waiting int
}

func (e *failedItems) Is(target error) bool { return target == errParked }

func (e *failedItems) Error() string {
	were := "items were"
	if e.parked == 1 {
		were = "item was"
	}
	hint := "see crmsync status --failed"
	if e.parked > e.waiting {
		hint += "; those out of attempts need crmsync retry or skip"
	}
	return fmt.Sprintf("%s: finished, but %d %s parked (%d waiting for a retry, %d out of attempts; %s)",
		e.command, e.parked, were, e.waiting, e.parked-e.waiting, hint)
}

// exitCode maps an error to the process exit code. It is the only place
// that knows the ladder.
func exitCode(err error, interrupted bool) int {
	var ue *usageError
	switch {
	case interrupted:
		// Whatever the run returned on its way out, a signal stopped it.
		return exitInterrupted
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, errPending):
		return exitUsage
	case errors.Is(err, store.ErrLocked):
		return exitLocked
	case runs.Classify(err) == runs.ClassConfig:
		// An invalid configuration, or either service refusing the
		// credentials or the setup (the clients' own classification).
		return exitConfig
	case errors.Is(err, errParked):
		return exitParked
	default:
		return exitError
	}
}
