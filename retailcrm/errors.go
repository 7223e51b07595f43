package retailcrm

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Sentinels an *APIError matches with errors.Is. One error may match
// several (an HTML 405 is both ErrNotAPI and ErrAccountNotFound).
var (
	// ErrRateLimited: HTTP 503 (or 429), the service refused the request
	// before running it.
	ErrRateLimited = errors.New("retailcrm: rate limited")
	// ErrAuth: missing or wrong key, missing scope or store access.
	ErrAuth = errors.New("retailcrm: authentication failed")
	// ErrAccessDenied: the key is valid but may not make this call (a
	// missing scope or store access); APIError.Scope names the scope the
	// call needs. It also matches ErrAuth.
	ErrAccessDenied = errors.New("retailcrm: access denied")
	// ErrConfig: retailcrm.url does not lead to the API as configured (a
	// redirect the client will not follow).
	ErrConfig = errors.New("retailcrm: configuration error")
	// ErrAccountNotFound: the base URL is not a live account.
	ErrAccountNotFound = errors.New("retailcrm: account not found")
	// ErrNotFound: no such entity.
	ErrNotFound = errors.New("retailcrm: not found")
	// ErrValidation: the request was rejected as invalid (400, 460).
	ErrValidation = errors.New("retailcrm: validation failed")
	// ErrServer: a 5xx answer other than 503.
	ErrServer = errors.New("retailcrm: server error")
	// ErrNotAPI: the answer was an HTML page, not the API.
	ErrNotAPI = errors.New("retailcrm: not a RetailCRM API endpoint")
	// ErrDecode: the body was not the JSON expected (truncated, wrong shape).
	ErrDecode = errors.New("retailcrm: cannot decode response")
	// ErrTransport: no answer at all (refused, reset or dropped connection,
	// or a timeout). For an edit it leaves unknown whether it applied.
	ErrTransport = errors.New("retailcrm: no answer")
	// ErrTimeout: no answer within the per-attempt timeout. It never
	// matches context.DeadlineExceeded, which is the caller's deadline.
	ErrTimeout = errors.New("retailcrm: request timed out")
)

// Known errorMsg texts, matched exactly as the official clients do.
const (
	msgKeyMissing     = `"apiKey" is missing.`
	msgKeyWrong       = `Wrong "apiKey" value.`
	msgAccessDenied   = `Access denied.`
	msgNoAccount      = `Account does not exist.`
	msgEntityFormat   = `Errors in the entity format`
	msgValidation     = `Validation error`
	msgNotFound       = `Not found`
	statusPartialLoad = 460 // "upload partly failed"
)

// APIError is an unsuccessful answer of the API.
type APIError struct {
	HTTPStatus int
	// Msg is the body's errorMsg, or a short description for non-JSON
	// bodies; never the body itself.
	Msg string
	// Errors holds per-field messages; an array becomes keys "0", "1", ….
	Errors map[string]string
	// Endpoint is the request's method and path, without the query.
	Endpoint string
	// Scope is the scope the call needs (EndpointScope), set by the client
	// on an "Access denied." answer so the message names what to allow.
	Scope string

	html bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("retailcrm: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(e.Errors[k])
		}
		b.WriteString(")")
	}
	if e.Scope != "" && e.accessDenied() {
		fmt.Fprintf(&b, " (this call needs the API key scope %s, or access to the store; allow it in RetailCRM: Settings → Integration → API keys)", e.Scope)
	}
	return b.String()
}

// accessDenied reports a refusal of a valid key: "Access denied.", or a 403
// without an errorMsg. A wrong or missing key is not one.
func (e *APIError) accessDenied() bool {
	return e.Msg == msgAccessDenied ||
		(!e.html && e.HTTPStatus == http.StatusForbidden && e.Msg == http.StatusText(http.StatusForbidden))
}

// Is matches the sentinels that describe e.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.HTTPStatus == http.StatusServiceUnavailable || e.HTTPStatus == http.StatusTooManyRequests
	case ErrAccessDenied:
		return e.accessDenied()
	case ErrAuth:
		return e.Msg == msgKeyMissing || e.Msg == msgKeyWrong || e.Msg == msgAccessDenied ||
			(!e.html && (e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden))
	case ErrAccountNotFound:
		return e.Msg == msgNoAccount || (e.html && e.HTTPStatus >= 400 && e.HTTPStatus < 500)
	case ErrNotFound:
		return e.Msg == msgNotFound || (!e.html && e.HTTPStatus == http.StatusNotFound)
	case ErrValidation:
		return e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == statusPartialLoad ||
			e.Msg == msgValidation || e.Msg == msgEntityFormat
	case ErrServer:
		return e.HTTPStatus >= 500 && e.HTTPStatus != http.StatusServiceUnavailable
	case ErrNotAPI:
		return e.html
	}
	return false
}

// DecodeError reports a body that is not the JSON expected.
type DecodeError struct {
	Endpoint   string
	HTTPStatus int
	Err        error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("retailcrm: %s: HTTP %d: invalid JSON response: %v", e.Endpoint, e.HTTPStatus, e.Err)
}

// Unwrap exposes the JSON error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is matches ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }
