package runs

import (
	"context"
	"errors"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// Class is how a run treats an error: the clients classify their own
// errors (bitrix.Classify, retailcrm.Classify) by the same names, and the
// engines, the alerts and the exit-code ladder all go by this one reading.
type Class string

// Classes of errors.
const (
	// ClassNone: nil, or an error no client classifies (a database error,
	// a bug): it stops the run and exits 1.
	ClassNone Class = ""
	// ClassTransient: the request may succeed when sent again; an item
	// failing so is retried with backoff.
	ClassTransient Class = "transient"
	// ClassThrottled: the service refuses requests for now; the run stops
	// and a later one goes on.
	ClassThrottled Class = "throttled"
	// ClassPermanent: the service refused this request for good; an item
	// failing so is out of attempts at once.
	ClassPermanent Class = "permanent"
	// ClassConfig: the configuration, a key, a webhook or its scopes are
	// wrong; the run stops and exits 4.
	ClassConfig Class = "configuration"
	// ClassInterrupted: the run's context ended (a signal).
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
	case errors.Is(err, config.ErrInvalid), bx == bitrix.ClassConfig, rc == retailcrm.ClassConfig:
		return ClassConfig
	case errors.Is(err, context.Canceled):
		return ClassInterrupted
	case bx != bitrix.ClassNone:
		return Class(bx)
	}
	return Class(rc)
}
