package main

import (
	"errors"

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

// errParked: the run finished but some items were parked.
var errParked = errors.New("finished, but some items were parked (see crmsync status --failed)")

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
