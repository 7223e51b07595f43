package bitrixtest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// List returns v as a list: a JSON array, a PHP array (map with integer keys
// in key order), or a single scalar as a one-element list.
func List(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, ea := strconv.Atoi(keys[i])
			b, eb := strconv.Atoi(keys[j])
			if ea == nil && eb == nil {
				return a < b
			}
			return keys[i] < keys[j]
		})
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = x[k]
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return []any{v}
}

// Str renders a scalar parameter as PHP would see it.
func Str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "1"
		}
		return ""
	}
	return fmt.Sprint(v)
}

// asMap returns v as a map (nil if it is not one).
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Wordings of the portal refusing a write whose "fields" is missing or not
// an object: the entity methods' and the binding methods'.
const (
	fieldsNotArray     = "Parameter 'fields' must be array."
	fieldsNotArrayLink = "The parameter 'fields' must be array."
)

// fieldsParam reads a write's "fields" object; refused is the method's
// wording when it is missing or not an object.
func fieldsParam(p map[string]any, refused string) (map[string]any, *apiErr) {
	fv, _ := getCI(p, "fields")
	if fields := asMap(fv); fields != nil {
		return fields, nil
	}
	return nil, legacyErr(refused)
}

// filterParam reads a list's "filter": absent or empty is no filter, any
// other value that is not an object is refused.
func filterParam(p map[string]any) (map[string]any, *apiErr) {
	fv, has := getCI(p, "filter")
	filter := asMap(fv)
	if has && filter == nil && Str(fv) != "" {
		return nil, legacyErr("Parameter 'filter' must be array.")
	}
	return filter, nil
}

// getCI finds a top-level parameter case-insensitively, as legacy CRM
// methods upper-case their parameter keys.
func getCI(p map[string]any, key string) (any, bool) {
	if v, ok := p[key]; ok {
		return v, true
	}
	for k, v := range p {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func intParam(v any) (int64, bool) {
	s := strings.TrimSpace(Str(v))
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, false
		}
		return int64(f), true
	}
	return n, true
}

func truthy(v any) bool {
	switch strings.ToLower(Str(v)) {
	case "1", "true", "y", "yes":
		return true
	}
	return false
}

// omap is an ordered JSON object that PHP would send: [] when empty, and an
// array when its keys are exactly 0..n-1.
type omap struct {
	keys []string
	vals map[string]any
}

func newOmap() *omap { return &omap{vals: map[string]any{}} }

func (o *omap) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *omap) MarshalJSON() ([]byte, error) {
	if len(o.keys) == 0 {
		return []byte("[]"), nil
	}
	list := true
	for i, k := range o.keys {
		if k != strconv.Itoa(i) {
			list = false
			break
		}
	}
	var b strings.Builder
	if list {
		b.WriteByte('[')
	} else {
		b.WriteByte('{')
	}
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if !list {
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
		}
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	if list {
		b.WriteByte(']')
	} else {
		b.WriteByte('}')
	}
	return []byte(b.String()), nil
}
