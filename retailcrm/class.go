package retailcrm

import "github.com/crmsync/crmsync/internal/errclass"

// Class says how a caller should treat an error of this client. It is the
// type the bitrix package and the run (sync/runs) use too
// (internal/errclass), so a run treats both services' errors alike.
type Class = errclass.Class

// Classes of errors, as this client's errors fall in them.
const (
	// ClassNone: nil, or not an error of this client.
	ClassNone = errclass.None
	// ClassTransient: a 5xx, an answer lost or garbled on the way.
	ClassTransient = errclass.Transient
	// ClassThrottled: rate limited after the client's own retries.
	ClassThrottled = errclass.Throttled
	// ClassPermanent: a validation error, a missing entity.
	ClassPermanent = errclass.Permanent
	// ClassConfig: the key, its scopes, the account or retailcrm.url is
	// wrong.
	ClassConfig = errclass.Config
)

// Classify tells the class of err, configuration first: an answer that
// also reads as another class (a 404 "Account does not exist.") is still
// one the operator must fix.
func Classify(err error) Class {
	return errclass.Of(err,
		errclass.Rule{Class: ClassConfig, Sentinels: []error{ErrAuth, ErrAccountNotFound, ErrConfig}},
		errclass.Rule{Class: ClassThrottled, Sentinels: []error{ErrRateLimited}},
		errclass.Rule{Class: ClassPermanent, Sentinels: []error{ErrValidation, ErrNotFound}},
		errclass.Rule{Class: ClassTransient, Sentinels: []error{ErrServer, ErrDecode, ErrTransport, ErrTimeout}},
	)
}
