package bitrix

import "errors"

// Class says how a caller should treat an error of this client. The
// retailcrm package has the same classes by the same names, so a run can
// treat both services' errors alike.
type Class string

// Classes of errors.
const (
	// ClassNone: nil, or not an error of this client.
	ClassNone Class = ""
	// ClassTransient: this request may succeed when sent again (a 5xx, an
	// answer lost or garbled on the way, a write whose outcome is unknown,
	// a limit on one method or on the request rate).
	ClassTransient Class = "transient"
	// ClassThrottled: the portal refuses every request for now (a manual
	// block by Bitrix24 support): stop, a later run goes on.
	ClassThrottled Class = "throttled"
	// ClassPermanent: the portal refused this request; sending it again
	// gets the same answer (bad values, a missing entity).
	ClassPermanent Class = "permanent"
	// ClassConfig: the webhook, its scopes or the portal's setup is wrong;
	// every request fails alike until the configuration is fixed.
	ClassConfig Class = "configuration"
)

// Classify tells the class of err, configuration first: an error that also
// reads as another class is still one the operator must fix.
func Classify(err error) Class {
	switch {
	case err == nil:
		return ClassNone
	case errors.Is(err, ErrAuth), errors.Is(err, ErrConfig):
		return ClassConfig
	case errors.Is(err, ErrOverload):
		return ClassThrottled
	case errors.Is(err, ErrQueryLimit), errors.Is(err, ErrOperationTimeLimit), errors.Is(err, ErrServer),
		errors.Is(err, ErrBadResponse), errors.Is(err, ErrTransport), errors.Is(err, ErrTimeout),
		errors.Is(err, ErrOutcomeUnknown):
		return ClassTransient
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrBadRequest), errors.Is(err, ErrInvalidBatch):
		return ClassPermanent
	}
	return ClassNone
}
