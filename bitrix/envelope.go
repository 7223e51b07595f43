package bitrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Time is the "time" object of a response. Every field is optional: the
// portal omits operating/operating_reset_at on many methods.
type Time struct {
	Start            float64 `json:"start"`
	Finish           float64 `json:"finish"`
	Duration         float64 `json:"duration"`
	Processing       float64 `json:"processing"`
	DateStart        string  `json:"date_start"`
	DateFinish       string  `json:"date_finish"`
	Operating        float64 `json:"operating"`          // seconds used by this method in the window
	OperatingResetAt int64   `json:"operating_reset_at"` // unix seconds; 0 when absent
	HasOperating     bool    `json:"-"`
}

// ResetAt returns operating_reset_at as a time, or the zero time.
func (t *Time) ResetAt() time.Time {
	if t == nil || t.OperatingResetAt == 0 {
		return time.Time{}
	}
	return time.Unix(t.OperatingResetAt, 0)
}

// UnmarshalJSON decodes loosely: numbers may come as strings, and an empty
// array stands for an absent object.
func (t *Time) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := decodeObject(b, &m); err != nil {
		return err
	}
	*t = Time{}
	floats := map[string]*float64{"start": &t.Start, "finish": &t.Finish, "duration": &t.Duration,
		"processing": &t.Processing, "operating": &t.Operating}
	for k, p := range floats {
		if raw, ok := m[k]; ok {
			f, err := parseLooseFloat(raw)
			if err != nil {
				return fmt.Errorf("bitrix: time.%s: %w", k, err)
			}
			*p = f
		}
	}
	if raw, ok := m["operating_reset_at"]; ok {
		f, err := parseLooseFloat(raw)
		if err != nil {
			return fmt.Errorf("bitrix: time.operating_reset_at: %w", err)
		}
		t.OperatingResetAt = int64(f)
	}
	_, t.HasOperating = m["operating"]
	if _, ok := m["operating_reset_at"]; ok {
		t.HasOperating = true
	}
	for k, p := range map[string]*string{"date_start": &t.DateStart, "date_finish": &t.DateFinish} {
		if raw, ok := m[k]; ok {
			_ = json.Unmarshal(raw, p) // a non-string date is informational only
		}
	}
	return nil
}

// decodeObject decodes a JSON object into m, treating [] and null as empty:
// PHP serialises an empty associative array as [].
func decodeObject[M ~map[K]V, K comparable, V any](b []byte, m *M) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*m = M{}
		return nil
	}
	if b[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return err
		}
		if len(arr) == 0 {
			*m = M{}
			return nil
		}
		// A non-empty array is what PHP sends for a section with keys 0..n-1.
		out := M{}
		for i, v := range arr {
			var key K
			if err := json.Unmarshal([]byte(strconv.Quote(strconv.Itoa(i))), &key); err != nil {
				return fmt.Errorf("array where object expected: %w", err)
			}
			var val V
			if err := json.Unmarshal(v, &val); err != nil {
				return err
			}
			out[key] = val
		}
		*m = out
		return nil
	}
	var out M
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	if out == nil {
		out = M{}
	}
	*m = out
	return nil
}

// Response is a successful answer: the raw result and the paging and timing
// data around it.
type Response struct {
	Result     json.RawMessage
	Total      int  // "total", 0 when absent
	Next       int  // "next", valid when HasNext
	HasNext    bool // a further page exists
	Time       *Time
	HTTPStatus int
}

// Decode decodes the result into v.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("%w: result: %w", ErrBadResponse, err)
	}
	return nil
}

// envelope is the top level of every answer.
type envelope struct {
	Result           json.RawMessage `json:"result"`
	Error            json.RawMessage `json:"error"`
	ErrorDescription json.RawMessage `json:"error_description"`
	Total            json.RawMessage `json:"total"`
	Next             json.RawMessage `json:"next"`
	Time             json.RawMessage `json:"time"`
}

// DecodeEnvelope decodes a response body for method. It returns an *APIError
// for an error envelope and a *ResponseError for anything that is not a JSON
// object; it never panics.
func DecodeEnvelope(method string, status int, body []byte) (*Response, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		reason := "not a JSON object"
		if len(trimmed) == 0 {
			reason = "empty body"
		} else if trimmed[0] == '<' {
			reason = "HTML page instead of JSON"
		}
		return nil, &ResponseError{HTTPStatus: status, Method: method, Reason: reason, Snippet: snippet(trimmed)}
	}
	var env envelope
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &keys); err != nil {
		return nil, &ResponseError{HTTPStatus: status, Method: method, Reason: "invalid or truncated JSON", Snippet: snippet(trimmed), Err: err}
	}
	env.Result, env.Error, env.ErrorDescription = keys["result"], keys["error"], keys["error_description"]
	env.Total, env.Next, env.Time = keys["total"], keys["next"], keys["time"]
	if _, isErr := keys["error"]; isErr {
		ae := &APIError{HTTPStatus: status, Code: rawText(env.Error), Description: rawText(env.ErrorDescription), Method: method}
		if len(env.Time) > 0 {
			var t Time
			if t.UnmarshalJSON(env.Time) == nil {
				ae.Time = &t
			}
		}
		return nil, ae
	}
	if status >= 300 {
		return nil, &ResponseError{HTTPStatus: status, Method: method, Reason: "error status without error envelope", Snippet: snippet(trimmed)}
	}
	if _, ok := keys["result"]; !ok {
		return nil, &ResponseError{HTTPStatus: status, Method: method, Reason: "no result key", Snippet: snippet(trimmed)}
	}
	resp := &Response{Result: env.Result, HTTPStatus: status}
	if len(env.Total) > 0 {
		n, err := parseLooseInt(env.Total)
		if err != nil {
			return nil, &ResponseError{HTTPStatus: status, Method: method, Reason: "bad total", Err: err}
		}
		resp.Total = int(n)
	}
	if len(env.Next) > 0 && string(bytes.TrimSpace(env.Next)) != "null" {
		n, err := parseLooseInt(env.Next)
		if err != nil {
			return nil, &ResponseError{HTTPStatus: status, Method: method, Reason: "bad next", Err: err}
		}
		resp.Next, resp.HasNext = int(n), true
	}
	if len(env.Time) > 0 {
		var t Time
		if err := t.UnmarshalJSON(env.Time); err == nil {
			resp.Time = &t
		}
	}
	return resp, nil
}

// DecodeError decodes an error object {"error", "error_description"} as found
// in a body or in a batch's result_error.
func DecodeError(method string, status int, raw []byte) (*APIError, error) {
	var m map[string]json.RawMessage
	if err := decodeObject(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: error object: %w", ErrBadResponse, err)
	}
	return &APIError{HTTPStatus: status, Code: rawText(m["error"]), Description: rawText(m["error_description"]), Method: method}, nil
}

// rawText renders a raw JSON value as text: strings unquoted, numbers as
// written, null as "".
func rawText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	return string(raw)
}

func snippet(b []byte) string {
	const max = 120
	s := string(b)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.QuoteToASCII(s)
}
