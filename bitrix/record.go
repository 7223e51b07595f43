package bitrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Fields are values to write: field name → value. Multifields take a list
// of NewMultifield (UpdateMultifield, DeleteMultifield) maps, as []any or
// []map[string]any; scalars any JSON-encodable value.
type Fields map[string]any

// Record is one row as the portal sent it. Legacy rows carry every scalar as
// a string; accessors convert loosely and never panic.
type Record map[string]json.RawMessage

// Field names the engine reads and writes.
const (
	FieldID               = "ID"
	FieldTitle            = "TITLE"
	FieldStageID          = "STAGE_ID"
	FieldStatusID         = "STATUS_ID"
	FieldCategoryID       = "CATEGORY_ID"
	FieldOpportunity      = "OPPORTUNITY"
	FieldCurrencyID       = "CURRENCY_ID"
	FieldContactID        = "CONTACT_ID"
	FieldContactIDs       = "CONTACT_IDS"
	FieldSourceID         = "SOURCE_ID"
	FieldComments         = "COMMENTS"
	FieldOriginatorID     = "ORIGINATOR_ID"
	FieldOriginID         = "ORIGIN_ID"
	FieldIsReturnCustomer = "IS_RETURN_CUSTOMER"
	FieldAssignedByID     = "ASSIGNED_BY_ID"
	FieldDateModify       = "DATE_MODIFY"
	FieldName             = "NAME"
	FieldLastName         = "LAST_NAME"
	FieldSecondName       = "SECOND_NAME"
	FieldPhone            = "PHONE"
	FieldEmail            = "EMAIL"
)

// Has reports whether the row has the field with a non-null value.
func (r Record) Has(name string) bool {
	raw, ok := r[name]
	return ok && string(bytes.TrimSpace(raw)) != "null"
}

// ID returns the row's ID.
func (r Record) ID() ID { return r.IDField(FieldID) }

// IDField reads an id-valued field (number or string); 0 if absent or bad.
func (r Record) IDField(name string) ID {
	n, err := parseLooseInt(r[name])
	if err != nil {
		return 0
	}
	return ID(n)
}

// String returns a scalar field as text: strings unquoted, numbers and
// booleans as written, null/absent as "". Arrays and objects come back as raw
// JSON.
func (r Record) String(name string) string { return rawText(r[name]) }

// Float returns a numeric field ("19999.99" or 19999.99); ok is false when
// absent, empty or not a number.
func (r Record) Float(name string) (float64, bool) {
	raw, has := r[name]
	if !has || rawText(raw) == "" {
		return 0, false
	}
	f, err := parseLooseFloat(raw)
	return f, err == nil
}

// Bool reads "Y"/"N", 1/0, "1"/"0", true/false.
func (r Record) Bool(name string) bool {
	switch strings.ToUpper(rawText(r[name])) {
	case "Y", "1", "TRUE":
		return true
	}
	return false
}

// Strings returns a multiple field's values as text ([] or a single value).
func (r Record) Strings(name string) []string {
	raw := bytes.TrimSpace(r[name])
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '[' {
		if s := rawText(raw); s != "" {
			return []string{s}
		}
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, rawText(it))
	}
	return out
}

// Multi returns the rows of a multifield (PHONE, EMAIL, WEB, IM).
func (r Record) Multi(name string) []Multifield {
	var out []Multifield
	if decodeList(r[name], &out) != nil {
		return nil
	}
	return out
}

// Decode decodes one field into v.
func (r Record) Decode(name string, v any) error { return json.Unmarshal(r[name], v) }

// Multifield is one stored PHONE/EMAIL/... row as read:
// {"ID":"215","VALUE_TYPE":"WORK","VALUE":"…","TYPE_ID":"EMAIL"}.
type Multifield struct {
	ID        ID     `json:"ID"`
	ValueType string `json:"VALUE_TYPE"`
	Value     string `json:"VALUE"`
	TypeID    string `json:"TYPE_ID"`
}

// UnmarshalJSON tolerates numbers where strings are expected.
func (m *Multifield) UnmarshalJSON(b []byte) error {
	return fromRecord(b, m, func(r Record) (Multifield, error) {
		return Multifield{ID: r.ID(), ValueType: r.String("VALUE_TYPE"), Value: r.String("VALUE"), TypeID: r.String("TYPE_ID")}, nil
	})
}

// NewMultifield is a row to add: no ID, so the portal appends it. Send it
// only for a value the entity does not have yet, or it is duplicated.
func NewMultifield(value, valueType string) map[string]any {
	if valueType == "" {
		valueType = "WORK"
	}
	return map[string]any{"VALUE": value, "VALUE_TYPE": valueType}
}

// UpdateMultifield changes the stored row id.
func UpdateMultifield(id ID, value, valueType string) map[string]any {
	m := map[string]any{"ID": id, "VALUE": value}
	if valueType != "" {
		m["VALUE_TYPE"] = valueType
	}
	return m
}

// DeleteMultifield removes the stored row id.
func DeleteMultifield(id ID) map[string]any { return map[string]any{"ID": id, "DELETE": "Y"} }

// NormalizePhone keeps the digits of a phone number (extensions dropped
// after a letter, as the portal's duplicate search does).
func NormalizePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			break
		}
	}
	return b.String()
}

// NormalizeEmail lower-cases and trims an e-mail address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// MissingValues returns the values of want whose normalised form is not in
// have, in order and without repeats: what a contact update may add without
// creating duplicate rows.
func MissingValues(have []Multifield, want []string, norm func(string) string) []string {
	seen := map[string]bool{}
	for _, m := range have {
		seen[norm(m.Value)] = true
	}
	var out []string
	for _, w := range want {
		n := norm(w)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, w)
	}
	return out
}

// fromRecord is the UnmarshalJSON of a row type: raw is read as a Record
// (legacy rows carry numbers as strings, booleans as "Y"/"N") and read
// turns it into the row. dst is left as it was when either fails.
func fromRecord[T any](raw []byte, dst *T, read func(Record) (T, error)) error {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	v, err := read(r)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// listOf decodes a result that is a list of T (see decodeList); any other
// shape is ErrBadResponse, named by what.
func listOf[T any](what string) func(json.RawMessage) ([]T, error) {
	return func(raw json.RawMessage) ([]T, error) {
		var out []T
		if err := decodeList(raw, &out); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadResponse, what, err)
		}
		return out, nil
	}
}

// listUnder decodes a result that holds its list of T under key, as the
// newer methods answer ({"categories": [...]}); method names the errors.
func listUnder[T any](method, key string) func(json.RawMessage) ([]T, error) {
	return func(raw json.RawMessage) ([]T, error) {
		var wrap map[string]json.RawMessage
		if err := decodeObject(raw, &wrap); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadResponse, method, err)
		}
		return listOf[T](method)(wrap[key])
	}
}

// readRows decodes a list of rows with decode and reads each with read; the
// first row read fails stops it.
func readRows[T any](decode func(json.RawMessage) ([]Record, error), read func(Record) (T, error)) func(json.RawMessage) ([]T, error) {
	return func(raw json.RawMessage) ([]T, error) {
		rows, err := decode(raw)
		if err != nil {
			return nil, err
		}
		out := make([]T, len(rows))
		for i, r := range rows {
			if out[i], err = read(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// decodeList decodes a JSON array; null, "" and {} (PHP's empty) give nil.
func decodeList[T any](raw []byte, out *[]T) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` || string(raw) == "{}" || string(raw) == "false" {
		*out = nil
		return nil
	}
	if raw[0] == '{' {
		// An object keyed by index, as PHP sends non-list arrays.
		var m map[string]T
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		anyKeys := make(map[string]any, len(m))
		for _, k := range keys {
			anyKeys[k] = nil
		}
		list := make([]T, 0, len(m))
		for _, k := range sortedKeys(anyKeys) {
			list = append(list, m[k])
		}
		*out = list
		return nil
	}
	return json.Unmarshal(raw, out)
}
