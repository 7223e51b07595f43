package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

// Exit codes, SPEC §3.
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

// failedItems is a run that finished with items that failed: waiting for a
// retry (later runs try them again on their own) or parked after their last
// attempt (they need crmsync retry or skip), in the words of crmsync status.
type failedItems struct {
	command string // pull, push, backfill
	waiting int
	parked  int
}

func (e *failedItems) Is(target error) bool { return target == errParked }

func (e *failedItems) Error() string {
	var parts []string
	if e.waiting > 0 {
		parts = append(parts, fmt.Sprintf("%s failed and %s for a retry", items(e.waiting), verb(e.waiting, "waits", "wait")))
	}
	if e.parked > 0 {
		parts = append(parts, fmt.Sprintf("%s parked after the last attempt", items(e.parked)+verb(e.parked, " was", " were")))
	}
	hint := "see crmsync status --failed"
	if e.parked > 0 {
		hint += "; parked ones need crmsync retry or skip"
	}
	return fmt.Sprintf("%s: finished, but %s (%s)", e.command, strings.Join(parts, ", and "), hint)
}

// items renders "1 item", "2 items".
func items(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
	case errors.Is(err, config.ErrInvalid),
		errors.Is(err, retailcrm.ErrAuth), errors.Is(err, retailcrm.ErrAccountNotFound), errors.Is(err, retailcrm.ErrConfig),
		errors.Is(err, bitrix.ErrAuth), errors.Is(err, bitrix.ErrConfig):
		return exitConfig
	case errors.Is(err, errParked):
		return exitParked
	default:
		return exitError
	}
}
