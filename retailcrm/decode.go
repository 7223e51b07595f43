package retailcrm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// envelope is the part every answer shares.
type envelope struct {
	Success  *bool     `json:"success"`
	ErrorMsg string    `json:"errorMsg"`
	Errors   ErrorList `json:"errors"`
}

func (e *envelope) env() *envelope { return e }

// responder is a response struct embedding envelope.
type responder interface{ env() *envelope }

// looksHTML recognises error pages from nginx and the like, by type or by
// the first byte, since some proxies send HTML as text/plain.
func looksHTML(contentType string, body []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "text/html") {
		return true
	}
	t := bytes.TrimLeft(body, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '<'
}

// decodeResponse turns one HTTP answer into out or an error. It never
// includes the body in an error; JSON errors carry at most a short quote
// from encoding/json.
func decodeResponse(endpoint string, status int, contentType string, body []byte, out responder) error {
	if looksHTML(contentType, body) {
		return &APIError{HTTPStatus: status, Endpoint: endpoint, html: true,
			Msg: fmt.Sprintf("not a RetailCRM API endpoint (HTTP %d)", status)}
	}
	if status < 200 || status > 299 {
		return errorFromBody(endpoint, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &DecodeError{Endpoint: endpoint, HTTPStatus: status, Err: err}
	}
	if e := out.env(); e.Success != nil && !*e.Success {
		return &APIError{HTTPStatus: status, Endpoint: endpoint, Msg: e.ErrorMsg, Errors: e.Errors}
	}
	return nil
}

// errorFromBody builds the APIError of a non-2xx answer. A body that is
// not a JSON error object still yields an APIError keyed by status.
func errorFromBody(endpoint string, status int, body []byte) *APIError {
	e := &APIError{HTTPStatus: status, Endpoint: endpoint}
	var env envelope
	if json.Unmarshal(body, &env) == nil && (env.ErrorMsg != "" || len(env.Errors) > 0) {
		e.Msg, e.Errors = env.ErrorMsg, env.Errors
		return e
	}
	e.Msg = http.StatusText(status)
	return e
}
