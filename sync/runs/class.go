package runs

import (
	"context"
	"errors"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/internal/errclass"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// Class is how a run treats an error: the clients classify their own
// errors (bitrix.Classify, retailcrm.Classify) in this same type
// (internal/errclass), and the engines, the alerts and the exit-code ladder
// all go by this one reading.
type Class = errclass.Class

// Classes of errors, as a run treats them.
const (
	// ClassNone: nil, or an error no client classifies (a database error,
	// a bug): it stops the run and exits 1.
	ClassNone = errclass.None
	// ClassTransient: an item failing so is retried with backoff.
	ClassTransient = errclass.Transient
	// ClassThrottled: the run stops and a later one goes on.
	ClassThrottled = errclass.Throttled
	// ClassPermanent: an item failing so is out of attempts at once.
	ClassPermanent = errclass.Permanent
	// ClassConfig: the configuration, a key, a webhook or its scopes are
	// wrong; the run stops and exits 4.
	ClassConfig = errclass.Config
	// ClassInterrupted: the run's context ended (a signal). Only the run
	// reads an error so; the clients never do.
	ClassInterrupted Class = "interrupted"
)

// Classify tells the class of err. Configuration comes first (an invalid
// configuration file, or either service refusing the credentials), then
// what the client that answered says.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	bx, rc := bitrix.Classify(err), retailcrm.Classify(err)
	switch {
	case errors.Is(err, config.ErrInvalid), bx == ClassConfig, rc == ClassConfig:
		return ClassConfig
	case errors.Is(err, context.Canceled):
		return ClassInterrupted
	case bx != ClassNone:
		return bx
	}
	return rc
}
