package retailcrm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Lookup resolves a dotted path (delivery.address.text, customFields.nps,
// source.medium, items.0.offer.article, payments.4326.status) against a raw
// JSON document such as Order.Raw, exactly as RetailCRM sent it. Each
// segment is an object key (case-sensitive; the last of duplicate keys
// wins, as in typed decoding) or, on an array, a 0-based index.
//
// A string is returned as is, a number or bool as its JSON literal (money
// stays exact), an object or array as compact JSON. ok is false when the
// path is empty or malformed, the document is not valid JSON, a segment is
// missing, or the value is null; an empty object written as [] has no keys.
func Lookup(raw json.RawMessage, path string) (value string, ok bool) {
	if path == "" || !json.Valid(raw) {
		return "", false
	}
	cur := bytes.TrimSpace(raw)
	for _, seg := range strings.Split(path, ".") {
		if seg == "" || len(cur) == 0 {
			return "", false
		}
		switch cur[0] {
		case '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(cur, &m) != nil {
				return "", false
			}
			v, found := m[seg]
			if !found {
				return "", false
			}
			cur = bytes.TrimSpace(v)
		case '[':
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || seg != strconv.Itoa(i) {
				return "", false
			}
			var list []json.RawMessage
			if json.Unmarshal(cur, &list) != nil || i >= len(list) {
				return "", false
			}
			cur = bytes.TrimSpace(list[i])
		default:
			return "", false
		}
	}
	return leafText(cur)
}

// leafText renders a resolved value; ok is false for null.
func leafText(v []byte) (string, bool) {
	if len(v) == 0 || isNull(v) {
		return "", false
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	case '{', '[':
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			return "", false
		}
		return b.String(), true
	}
	return string(v), true
}
