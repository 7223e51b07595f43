package retailcrm

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/shopspring/decimal"
)

// Value is a history record's oldValue or newValue. Its shape depends on the
// record's field: {"code": …} for statuses, {"id": …} for the manager, a
// string for comments and dates, an int or float for amounts, a bool, or
// null. The raw JSON is kept; the helpers read the common shapes.
type Value struct {
	raw json.RawMessage
}

// NewValue builds a Value from raw JSON (used by fakes and tests).
func NewValue(raw []byte) Value {
	return Value{raw: append(json.RawMessage(nil), raw...)}
}

// Raw returns the JSON as received; nil when the key was absent.
func (v Value) Raw() json.RawMessage { return v.raw }

// IsNull reports whether the value was null or absent.
func (v Value) IsNull() bool {
	t := bytes.TrimSpace(v.raw)
	return len(t) == 0 || string(t) == "null"
}

// UnmarshalJSON keeps a copy of the raw value.
func (v *Value) UnmarshalJSON(b []byte) error {
	v.raw = append(v.raw[:0:0], b...)
	return nil
}

// MarshalJSON writes the raw value back, or null.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.IsNull() {
		return []byte("null"), nil
	}
	return v.raw, nil
}

// object decodes the value as an object; ok is false for any other shape.
func (v Value) object() (map[string]json.RawMessage, bool) {
	t := bytes.TrimSpace(v.raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(t, &m) != nil {
		return nil, false
	}
	return m, true
}

// Code returns the "code" of an object value ({"code": "new"}), or "".
func (v Value) Code() string {
	m, ok := v.object()
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(m["code"], &s) != nil {
		return ""
	}
	return s
}

// ID returns the "id" of an object value ({"id": 23}), or 0.
func (v Value) ID() int64 {
	m, ok := v.object()
	if !ok {
		return 0
	}
	return parseInt64(m["id"])
}

// String returns a string value as is, a number or bool as its JSON
// literal, and "" for null, objects and arrays.
func (v Value) String() string {
	t := bytes.TrimSpace(v.raw)
	if len(t) == 0 {
		return ""
	}
	switch t[0] {
	case '"':
		var s string
		if json.Unmarshal(t, &s) != nil {
			return ""
		}
		return s
	case '{', '[', 'n':
		return ""
	default:
		return string(t)
	}
}

// Decimal returns a number (or numeric string) exactly; ok is false for
// anything else.
func (v Value) Decimal() (decimal.Decimal, bool) {
	t := bytes.TrimSpace(v.raw)
	if len(t) == 0 || t[0] == '{' || t[0] == '[' || string(t) == "null" {
		return decimal.Decimal{}, false
	}
	var d decimal.Decimal
	if d.UnmarshalJSON(t) != nil {
		return decimal.Decimal{}, false
	}
	return d, true
}

// Bool returns a bool value; ok is false for anything else.
func (v Value) Bool() (b, ok bool) {
	switch string(bytes.TrimSpace(v.raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// parseInt64 reads an int written as a JSON number or a numeric string.
func parseInt64(raw json.RawMessage) int64 {
	t := bytes.Trim(bytes.TrimSpace(raw), `"`)
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
