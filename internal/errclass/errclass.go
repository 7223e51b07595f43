// Package errclass holds the classes of errors that the two clients and the
// run share: how a caller should treat an error, whichever service it came
// from. bitrix, retailcrm and sync/runs name the same type (Class), so a
// class read from either client is the run's class as it is.
package errclass

import "errors"

// Class says how a caller should treat an error.
type Class string

// Classes of errors.
const (
	// None: nil, or an error no rule matches.
	None Class = ""
	// Transient: this request may succeed when sent again.
	Transient Class = "transient"
	// Throttled: the service refuses requests for now; stop, a later run
	// goes on.
	Throttled Class = "throttled"
	// Permanent: the service refused this request; sending it again gets
	// the same answer.
	Permanent Class = "permanent"
	// Config: the configuration (a key, a webhook, its scopes, the
	// service's setup) is wrong; every request fails alike until it is
	// fixed.
	Config Class = "configuration"
)

// Rule puts an error that matches any of Sentinels (errors.Is) in Class.
type Rule struct {
	Class     Class
	Sentinels []error
}

// Of returns the class of the first rule err matches, so the order of the
// rules is the order of precedence (a client puts configuration first: an
// error that also reads as another class is still one the operator must
// fix). nil, and an error no rule matches, are None.
func Of(err error, rules ...Rule) Class {
	if err == nil {
		return None
	}
	for _, r := range rules {
		for _, s := range r.Sentinels {
			if errors.Is(err, s) {
				return r.Class
			}
		}
	}
	return None
}
