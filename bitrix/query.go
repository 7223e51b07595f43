package bitrix

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Ref is a batch reference such as $result[c0] or $result[c0][0][ID]. It is
// written into a query unescaped so the portal substitutes it.
type Ref string

// ResultRef builds $result[cmd][p0][p1]... referring to an earlier command of
// the same batch.
func ResultRef(cmd string, path ...any) Ref {
	var b strings.Builder
	b.WriteString("$result[")
	b.WriteString(cmd)
	b.WriteString("]")
	for _, p := range path {
		fmt.Fprintf(&b, "[%v]", p)
	}
	return Ref(b.String())
}

// BuildQuery encodes params the way PHP's http_build_query does:
// nested maps and slices become key[sub][0]=v, booleans 1/0, nil values and
// empty arrays are dropped. Keys are sorted so the output is deterministic;
// every value is URL-encoded once, except Ref values.
func BuildQuery(params map[string]any) (string, error) {
	norm, err := normalize(params)
	if err != nil {
		return "", err
	}
	// One builder for the whole query: a batch builds thousands of them.
	var b strings.Builder
	m, _ := norm.(map[string]any)
	for _, k := range sortedKeys(m) {
		if err := appendQuery(&b, url.QueryEscape(k), m[k]); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// appendQuery writes v's parts (prefix=value, joined by &) to b.
func appendQuery(b *strings.Builder, prefix string, v any) error {
	part := func(value string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(prefix)
		b.WriteByte('=')
		b.WriteString(value)
	}
	switch x := v.(type) {
	case nil:
		return nil
	case Ref:
		part(string(x))
	case string:
		part(url.QueryEscape(x))
	case json.Number:
		part(url.QueryEscape(x.String()))
	case bool:
		if x {
			part("1")
		} else {
			part("0")
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if err := appendQuery(b, prefix+"["+url.QueryEscape(k)+"]", x[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := appendQuery(b, prefix+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: cannot encode %T in a query", ErrInvalidBatch, v)
	}
	return nil
}

// sortedKeys orders keys as strings, except that all-numeric keys sort
// numerically so list-like maps keep their order.
func sortedKeys(m map[string]any) []string {
	// Each key is parsed once, not in every comparison: a failed Atoi
	// allocates its error, and batches sort thousands of field names.
	type key struct {
		s   string
		n   int
		num bool
	}
	ks := make([]key, 0, len(m))
	for k := range m {
		n, ok := numericKey(k)
		ks = append(ks, key{k, n, ok})
	}
	slices.SortFunc(ks, func(a, b key) int {
		if a.num && b.num {
			return cmp.Compare(a.n, b.n)
		}
		return strings.Compare(a.s, b.s)
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.s
	}
	return out
}

// numericKey is strconv.Atoi's reading of a key, skipping the call (and its
// error) for a key that cannot be a number.
func numericKey(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	if c := s[0]; (c < '0' || c > '9') && c != '+' && c != '-' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// normalize turns arbitrary Go values into nil, Ref, string, json.Number,
// bool, map[string]any and []any. Structs go through encoding/json so their
// tags apply.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case Ref, string, bool, json.Number:
		return x, nil
	case ID:
		return json.Number(x.String()), nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case float64:
		return json.Number(strconv.FormatFloat(x, 'f', -1, 64)), nil
	case json.RawMessage:
		return normalizeJSON(x)
	case map[string]any:
		// The shapes commands are built from, without reflection (the
		// reflect.Map and reflect.Slice cases below give the same).
		return normalizeMap(x)
	case Fields:
		return normalizeMap(x)
	case []any:
		return normalizeEach(len(x), func(i int) any { return x[i] })
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface())
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(rv.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return json.Number(strconv.FormatFloat(rv.Float(), 'f', -1, 64)), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%w: map key %s is not a string", ErrInvalidBatch, rv.Type().Key())
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			n, err := normalize(it.Value().Interface())
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = n
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		return normalizeEach(rv.Len(), func(i int) any { return rv.Index(i).Interface() })
	case reflect.Struct:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
		}
		return normalizeJSON(b)
	}
	return nil, fmt.Errorf("%w: cannot encode %T in a query", ErrInvalidBatch, v)
}

// normalizeEach normalizes the n elements of a list, at(i) giving each.
func normalizeEach(n int, at func(i int) any) (any, error) {
	out := make([]any, n)
	for i := range out {
		v, err := normalize(at(i))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func normalizeMap(m map[string]any) (any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		n, err := normalize(v)
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

func normalizeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	return out, nil
}
