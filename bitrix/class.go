package bitrix

import "github.com/crmsync/crmsync/internal/errclass"

// Class says how a caller should treat an error of this client. It is the
// type the retailcrm package and the run (sync/runs) use too
// (internal/errclass), so a run treats both services' errors alike.
type Class = errclass.Class

// Classes of errors, as this client's errors fall in them.
const (
	// ClassNone: nil, or not an error of this client.
	ClassNone = errclass.None
	// ClassTransient: a 5xx, an answer lost or garbled on the way, a write
	// whose outcome is unknown, a limit on one method or on the request
	// rate.
	ClassTransient = errclass.Transient
	// ClassThrottled: the portal refuses every request for now (a manual
	// block by Bitrix24 support).
	ClassThrottled = errclass.Throttled
	// ClassPermanent: bad values, a missing entity.
	ClassPermanent = errclass.Permanent
	// ClassConfig: the webhook, its scopes or the portal's setup is wrong.
	ClassConfig = errclass.Config
)

// Classify tells the class of err, configuration first: an error that also
// reads as another class is still one the operator must fix.
func Classify(err error) Class {
	return errclass.Of(err,
		errclass.Rule{Class: ClassConfig, Sentinels: []error{ErrAuth, ErrConfig}},
		errclass.Rule{Class: ClassThrottled, Sentinels: []error{ErrOverload}},
		errclass.Rule{Class: ClassTransient, Sentinels: []error{ErrQueryLimit, ErrOperationTimeLimit, ErrServer,
			ErrBadResponse, ErrTransport, ErrTimeout, ErrOutcomeUnknown}},
		errclass.Rule{Class: ClassPermanent, Sentinels: []error{ErrNotFound, ErrBadRequest, ErrInvalidBatch}},
	)
}
