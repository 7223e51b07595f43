package bitrix

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for errors.Is. An *APIError matches the one its code (or, for
// legacy errors with an empty code, its description) falls in.
var (
	// ErrQueryLimit: 503 QUERY_LIMIT_EXCEEDED, refused before running.
	ErrQueryLimit = errors.New("bitrix: query limit exceeded")
	// ErrOverload: 503 OVERLOAD_LIMIT, a manual block by Bitrix24 support.
	ErrOverload = errors.New("bitrix: REST API blocked due to overload (contact Bitrix24 support)")
	// ErrOperationTimeLimit: 429 OPERATION_TIME_LIMIT for one method.
	ErrOperationTimeLimit = errors.New("bitrix: method blocked by operation time limit")
	// ErrAuth: wrong webhook, missing scope or rights.
	ErrAuth = errors.New("bitrix: authentication or permission error")
	// ErrNotFound: the entity does not exist.
	ErrNotFound = errors.New("bitrix: not found")
	// ErrBadRequest: the portal rejected the parameters.
	ErrBadRequest = errors.New("bitrix: bad request")
	// ErrServer: a 5xx answer other than the limit codes.
	ErrServer = errors.New("bitrix: server error")
	// ErrBadResponse: a body that is not the JSON envelope (HTML page,
	// truncated JSON, wrong shape).
	ErrBadResponse = errors.New("bitrix: malformed response")
	// ErrTransport: the request did not get an HTTP answer.
	ErrTransport = errors.New("bitrix: transport error")
	// ErrTimeout: no answer within the client's per-request timeout. It is
	// a transport error, not the caller's context ending, so it never
	// matches context.DeadlineExceeded.
	ErrTimeout = errors.New("bitrix: request timed out")
	// ErrOutcomeUnknown: a write may or may not have been applied; look up
	// (e.g. by ORIGIN_ID) before sending it again.
	ErrOutcomeUnknown = errors.New("bitrix: outcome of write unknown")
	// ErrInvalidBatch: the batch cannot be built as asked.
	ErrInvalidBatch = errors.New("bitrix: invalid batch")
	// ErrConfig: the client cannot be built from the given options, or the
	// portal points elsewhere (a redirect that is refused), or the portal
	// lacks a method crmsync calls (ErrMethodNotFound).
	ErrConfig = errors.New("bitrix: invalid configuration")
	// ErrMethodNotFound: 404 ERROR_METHOD_NOT_FOUND, the portal has no such
	// method: its module is off or the webhook lacks the method's scope
	// (b24restdocs:error-codes.md). Every call of the method fails the same way, so it is
	// a configuration error (it also matches ErrConfig), never an item's.
	ErrMethodNotFound = errors.New("bitrix: method not found on the portal (module or scope missing)")
)

// ErrValidation is the same sentinel as ErrBadRequest: the portal does not
// tell a malformed request from invalid field values.
var ErrValidation = ErrBadRequest

// APIError is an error envelope {"error": ..., "error_description": ...}
// answered by the portal, or one entry of a batch's result_error (HTTPStatus
// 0 there).
type APIError struct {
	HTTPStatus  int
	Code        string // raw "error" value as text; may be "", a number or a sentence
	Description string
	Method      string
	// Time is the envelope's time object when the error answer had one
	// (a 429 carries the operating_reset_at to wait for).
	Time *Time
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("bitrix: ")
	code := strings.ToUpper(strings.TrimSpace(e.Code))
	switch {
	case code == CodeMethodNotFound && e.Method != "":
		fmt.Fprintf(&b, "method %s not found on the portal (module or scope missing): ", e.Method)
	case code == CodeInsufficientScope && e.Method != "":
		fmt.Fprintf(&b, "the webhook lacks the scope %s needs (tick it in the webhook's settings): ", e.Method)
	case e.Method != "":
		b.WriteString(e.Method)
		b.WriteString(": ")
	}
	desc := htmlBreaks.Replace(e.Description)
	switch {
	case e.Code != "" && desc != "":
		fmt.Fprintf(&b, "%s: %s", e.Code, desc)
	case e.Code != "":
		b.WriteString(e.Code)
	case desc != "":
		b.WriteString(desc)
	default:
		b.WriteString("unspecified error")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	return b.String()
}

// htmlBreaks tidies descriptions such as "Task title is not specified<br>".
var htmlBreaks = strings.NewReplacer("<br>", " ", "<br/>", " ", "<br />", " ")

// Is reports whether the error belongs to target's class. A missing
// method is also a configuration error.
func (e *APIError) Is(target error) bool {
	c := e.class()
	return c == target || c == ErrMethodNotFound && target == ErrConfig
}

// PortalWide reports an error that every call of the method would get, so
// that it is the portal's or the webhook's configuration and never one
// item's: a missing method or scope, or a webhook that is not accepted.
func (e *APIError) PortalWide() bool {
	switch strings.ToUpper(strings.TrimSpace(e.Code)) {
	case CodeMethodNotFound, CodeInsufficientScope, CodeNoAuthFound, "INVALID_CREDENTIALS", "PORTAL_DELETED":
		return true
	}
	return false
}

// Codes of the portal, compared case-insensitively.
const (
	CodeQueryLimitExceeded   = "QUERY_LIMIT_EXCEEDED"
	CodeOverloadLimit        = "OVERLOAD_LIMIT"
	CodeOperationTimeLimit   = "OPERATION_TIME_LIMIT"
	CodeNoAuthFound          = "NO_AUTH_FOUND"
	CodeBatchLengthExceeded  = "ERROR_BATCH_LENGTH_EXCEEDED"
	CodeBatchMethodNotAllow  = "ERROR_BATCH_METHOD_NOT_ALLOWED"
	CodeInvalidArgValue      = "INVALID_ARG_VALUE"
	CodeMethodNotFound       = "ERROR_METHOD_NOT_FOUND"
	CodeInsufficientScope    = "INSUFFICIENT_SCOPE"
	CodeInternalServerError  = "INTERNAL_SERVER_ERROR"
	CodeErrorUnexpectedAnswr = "ERROR_UNEXPECTED_ANSWER"
)

var authCodes = map[string]bool{
	"NO_AUTH_FOUND": true, "INVALID_CREDENTIALS": true, "ACCESS_DENIED": true,
	"INSUFFICIENT_SCOPE": true, "EXPIRED_TOKEN": true, "INVALID_TOKEN": true,
	"USER_ACCESS_ERROR": true, "WRONG_AUTH_TYPE": true, "AUTHORIZATION_ERROR": true,
	"PORTAL_DELETED": true,
}

var notFoundCodes = map[string]bool{
	"NOT_FOUND": true, "OWNER_NOT_FOUND": true, "ERROR_NOT_FOUND": true, "ERROR_ENTITY_NOT_FOUND": true,
}

// class maps the error to one sentinel. Legacy CRM errors carry an empty (or
// numeric, or sentence) code, so the description decides for them, as the
// official PHP SDK does.
func (e *APIError) class() error {
	code := strings.ToUpper(strings.TrimSpace(e.Code))
	switch code {
	case CodeQueryLimitExceeded:
		return ErrQueryLimit
	case CodeOverloadLimit:
		return ErrOverload
	case CodeOperationTimeLimit:
		return ErrOperationTimeLimit
	case CodeMethodNotFound:
		// Before the description test below: "Method not found!" is not
		// about an entity.
		return ErrMethodNotFound
	}
	if authCodes[code] {
		return ErrAuth
	}
	if notFoundCodes[code] {
		return ErrNotFound
	}
	desc := strings.ToLower(e.Description)
	switch {
	case strings.Contains(desc, "access denied"), strings.Contains(desc, "permission denied"):
		return ErrAuth
	case strings.Contains(desc, "not found"), strings.HasSuffix(strings.TrimSpace(desc), "is not exist"):
		return ErrNotFound
	}
	switch {
	case e.HTTPStatus == 401:
		return ErrAuth
	case e.HTTPStatus >= 500:
		return ErrServer
	case code == CodeInternalServerError || code == CodeErrorUnexpectedAnswr:
		return ErrServer
	}
	return ErrBadRequest
}

// ResponseError is an answer that is not a usable JSON envelope: an HTML
// error page, truncated JSON or an unexpected shape.
type ResponseError struct {
	HTTPStatus int
	Method     string
	Reason     string
	Snippet    string // start of the body, redacted
	Err        error
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("bitrix: %s: malformed response (HTTP %d): %s", e.Method, e.HTTPStatus, e.Reason)
	if e.Snippet != "" {
		s += fmt.Sprintf(" [%s]", e.Snippet)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrBadResponse, and ErrServer for a 5xx status.
func (e *ResponseError) Is(target error) bool {
	return target == ErrBadResponse || (target == ErrServer && e.HTTPStatus >= 500)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// TransportError is a request that got no HTTP answer (timeout, refused or
// dropped connection). Its text never holds the request URL.
type TransportError struct {
	Method string
	URL    string // redacted
	Err    error
	// NotSent is true when the request certainly never reached the portal
	// (connection refused while dialling).
	NotSent bool
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("bitrix: %s: POST %s: %v", e.Method, e.URL, e.Err)
}

func (e *TransportError) Is(target error) bool { return target == ErrTransport }
func (e *TransportError) Unwrap() error        { return e.Err }

// OutcomeUnknownError reports a write whose result is unknown because the
// answer was lost or unusable. Look up before sending the write again.
type OutcomeUnknownError struct {
	Method string
	Err    error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("bitrix: %s: outcome unknown, look up before resending: %v", e.Method, e.Err)
}

func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }
func (e *OutcomeUnknownError) Unwrap() error        { return e.Err }
