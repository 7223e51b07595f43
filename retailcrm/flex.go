package retailcrm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// isEmptyArray reports a JSON "[]": PHP encodes an empty associative array
// as a list, so RetailCRM sends [] where an object is expected.
func isEmptyArray(b []byte) bool {
	t := bytes.TrimSpace(b)
	if len(t) < 2 || t[0] != '[' {
		return false
	}
	return len(bytes.TrimSpace(t[1:len(t)-1])) == 0
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// CustomFields holds an entity's custom field values by code. Values are
// bool, number, string or list, so they stay raw.
type CustomFields map[string]json.RawMessage

// UnmarshalJSON accepts an object, [] (empty) or null.
func (c *CustomFields) UnmarshalJSON(b []byte) error {
	if isNull(b) || isEmptyArray(b) {
		*c = nil
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("retailcrm: customFields: %w", err)
	}
	*c = m
	return nil
}

// String returns a field's value as text: a string as is, other values as
// their JSON literal, "" when absent or null.
func (c CustomFields) String(code string) string {
	return Value{raw: c[code]}.String()
}

// Payments are an order's payments, sorted by id. /orders sends them as an
// object keyed by payment id ({} when empty); history snapshots send an
// array. Both decode here.
type Payments []Payment

// UnmarshalJSON accepts an object keyed by id, an array, or null.
func (p *Payments) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case isNull(t) || len(t) == 0:
		*p = nil
		return nil
	case t[0] == '[':
		var list []Payment
		if err := json.Unmarshal(t, &list); err != nil {
			return fmt.Errorf("retailcrm: payments: %w", err)
		}
		*p = sortPayments(list)
		return nil
	}
	var m map[string]Payment
	if err := json.Unmarshal(t, &m); err != nil {
		return fmt.Errorf("retailcrm: payments: %w", err)
	}
	list := make([]Payment, 0, len(m))
	for key, pay := range m {
		if pay.ID == 0 {
			// The key is the id; keep it when the body lacks one.
			pay.ID, _ = strconv.ParseInt(key, 10, 64)
		}
		list = append(list, pay)
	}
	*p = sortPayments(list)
	return nil
}

func sortPayments(list []Payment) Payments {
	sort.SliceStable(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	if len(list) == 0 {
		return nil
	}
	return list
}

// codeMap decodes a reference list keyed by code; [] means empty.
func codeMap[T any](b []byte) (map[string]T, error) {
	if isNull(b) || isEmptyArray(b) || len(bytes.TrimSpace(b)) == 0 {
		return map[string]T{}, nil
	}
	var m map[string]T
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// ErrorList is the "errors" member of an error body: an object (field →
// message) or an array of messages, which becomes keys "0", "1", ….
type ErrorList map[string]string

// UnmarshalJSON accepts an object, an array or null; non-string messages
// are kept as their JSON text.
func (e *ErrorList) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if isNull(t) || len(t) == 0 {
		*e = nil
		return nil
	}
	out := ErrorList{}
	if t[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return err
		}
		for i, v := range list {
			out[strconv.Itoa(i)] = rawText(v)
		}
	} else {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return err
		}
		for k, v := range m {
			out[k] = rawText(v)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	*e = out
	return nil
}

func rawText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(v))
}

// decodeLenient sets *dst to the object b; [] (PHP's empty associative
// array) and null set it to zero. It decodes into a fresh value, so nothing
// of what *dst held before survives, and on an error *dst stays as it was.
// name goes into the error.
func decodeLenient[T any](b []byte, dst *T, name string) error {
	var v T
	if !isNull(b) && !isEmptyArray(b) {
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("retailcrm: %s: %w", name, err)
		}
	}
	*dst = v
	return nil
}

// flexString reads a documented string that may come as a number or a
// bool (kept as its JSON literal) or null ("").
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case len(t) == 0 || isNull(t):
		*s = ""
		return nil
	case t[0] == '"':
		var v string
		if err := json.Unmarshal(t, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	case t[0] == '{' || t[0] == '[':
		return fmt.Errorf("retailcrm: want a string, got %.20s", t)
	}
	if !json.Valid(t) {
		return fmt.Errorf("retailcrm: bad value %.20q", t)
	}
	*s = flexString(t)
	return nil
}

// VATRateNone is the VAT rate of goods without VAT.
const VATRateNone = "none"

// VATRate is a line's (or delivery's, or offer's) VAT rate as RetailCRM
// writes it: a percentage such as "20" or "10", or "none". The API
// documents a string; a number is accepted too and kept as written. ""
// means the answer carried no rate.
type VATRate string

// UnmarshalJSON accepts a string, a number or null.
func (r *VATRate) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("retailcrm: vatRate: %w", err)
	}
	*r = VATRate(s)
	return nil
}

// IsNone reports the "none" rate (no VAT).
func (r VATRate) IsNone() bool { return string(r) == VATRateNone }

// Percent returns the rate as an exact number; ok is false for "none", ""
// and anything but a plain decimal from 0 to 100 (no sign, no exponent, so
// an odd value cannot turn into a huge number).
func (r VATRate) Percent() (p decimal.Decimal, ok bool) {
	s := string(r)
	if s == "" || len(s) > 12 || strings.Count(s, ".") > 1 || s[0] == '.' || s[len(s)-1] == '.' ||
		strings.TrimLeft(s, "0123456789.") != "" {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.GreaterThan(decimal.NewFromInt(100)) {
		return decimal.Decimal{}, false
	}
	return d, true
}
