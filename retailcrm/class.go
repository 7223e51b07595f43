package retailcrm

import "errors"

// Class says how a caller should treat an error of this client. The bitrix
// package has the same classes by the same names, so a run can treat both
// services' errors alike.
type Class string

// Classes of errors.
const (
	// ClassNone: nil, or not an error of this client.
	ClassNone Class = ""
	// ClassTransient: this request may succeed when sent again (a 5xx, an
	// answer lost or garbled on the way).
	ClassTransient Class = "transient"
	// ClassThrottled: the service refuses requests for now (rate limited
	// after the client's own retries): stop, a later run goes on.
	ClassThrottled Class = "throttled"
	// ClassPermanent: the service refused this request; sending it again
	// gets the same answer (a validation error, a missing entity).
	ClassPermanent Class = "permanent"
	// ClassConfig: the key, its scopes, the account or retailcrm.url is
	// wrong; every request fails alike until the configuration is fixed.
	ClassConfig Class = "configuration"
)

// Classify tells the class of err, configuration first: an answer that
// also reads as another class (a 404 "Account does not exist.") is still
// one the operator must fix.
func Classify(err error) Class {
	switch {
	case err == nil:
		return ClassNone
	case errors.Is(err, ErrAuth), errors.Is(err, ErrAccountNotFound), errors.Is(err, ErrConfig):
		return ClassConfig
	case errors.Is(err, ErrRateLimited):
		return ClassThrottled
	case errors.Is(err, ErrValidation), errors.Is(err, ErrNotFound):
		return ClassPermanent
	case errors.Is(err, ErrServer), errors.Is(err, ErrDecode), errors.Is(err, ErrTransport), errors.Is(err, ErrTimeout):
		return ClassTransient
	}
	return ClassNone
}
