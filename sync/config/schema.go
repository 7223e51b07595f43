package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/sync/rules"
)

type kind int

const (
	kString kind = iota
	kFloat
	kInt
	kDuration // "30s", "2m", or a number of seconds
	kStringList
	kIntList
	kStringMap // decoded from YAML without case folding
	kValueMaps // field → {value → value}, decoded from YAML without case folding
	kRules     // decoded from YAML without case folding
	kFunnels   // decoded from YAML without case folding
	kBool
)

func (k kind) String() string {
	switch k {
	case kFloat:
		return "a number"
	case kInt:
		return "a whole number"
	case kDuration:
		return "a duration such as 30s or 2m"
	case kStringList:
		return "a list of strings"
	case kIntList:
		return "a list of whole numbers"
	case kStringMap:
		return "a mapping of keys to strings"
	case kValueMaps:
		return "a mapping of fields to mappings of values"
	case kRules:
		return "a list of rules"
	case kFunnels:
		return "a list of funnels"
	case kBool:
		return "true or false"
	default:
		return "a string"
	}
}

// field is one configuration key, found by walking Config (fields).
type field struct {
	path string // dotted key path, e.g. retailcrm.api_key
	kind kind
	// index leads to the key's field in Config; nil for the _file form of
	// a secret, which has no field of its own (secrets.go reads it).
	index  []int
	secret bool
	fold   func(string) string
}

// stringIn returns the string field f names in c.
func (f field) stringIn(c *Config) *string {
	return reflect.ValueOf(c).Elem().FieldByIndex(f.index).Addr().Interface().(*string)
}

// kindOf is the kind of a key whose field has type t.
func kindOf(t reflect.Type) (kind, bool) {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return kDuration, true
	case t == reflect.TypeFor[[]rules.Rule]():
		return kRules, true
	case t == reflect.TypeFor[[]Funnel]():
		return kFunnels, true
	case t == reflect.TypeFor[map[string]string]():
		return kStringMap, true
	case t == reflect.TypeFor[map[string]map[string]string]():
		return kValueMaps, true
	case t == reflect.TypeFor[[]string]():
		return kStringList, true
	case t == reflect.TypeFor[[]int]():
		return kIntList, true
	}
	switch t.Kind() {
	case reflect.String:
		return kString, true
	case reflect.Float64:
		return kFloat, true
	case reflect.Int:
		return kInt, true
	case reflect.Bool:
		return kBool, true
	}
	return 0, false
}

// fields lists every configuration key in Config's order, a secret's _file
// form right after the secret. It is computed, not kept in a variable, so
// nothing can change it at run time.
func fields() []field { return fieldsOf(reflect.TypeFor[Config]()) }

// fieldsOf lists the keys of a struct of configuration (Config, or a
// funnels entry), by their yaml tags, nested structs walked.
func fieldsOf(root reflect.Type) []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			name := sf.Tag.Get("yaml")
			if name == "-" {
				continue
			}
			if name == "" {
				// A programming error, caught by every test that loads.
				panic("config: field " + sf.Name + " has no yaml tag")
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			idx := append(slices.Clone(index), i)
			if sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, path, idx)
				continue
			}
			k, ok := kindOf(sf.Type)
			if !ok {
				panic("config: field " + sf.Name + " has a type the loader cannot read: " + sf.Type.String())
			}
			f := field{path: path, kind: k, index: idx, secret: sf.Tag.Get("secret") == "true"}
			if f.secret && k != kString {
				panic("config: secret field " + sf.Name + " must be a string")
			}
			switch sf.Tag.Get("fold") {
			case "upper":
				f.fold = strings.ToUpper
			case "lower":
				f.fold = strings.ToLower
			}
			out = append(out, f)
			if f.secret {
				out = append(out, field{path: FileKey(path), kind: kString})
			}
		}
	}
	walk(root, "", nil)
	return out
}

// Keys returns every configuration key path, for documentation and tests.
func Keys() []string { return paths(fields()) }

// paths are the key paths of fs.
func paths(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out
}

// read fills cfg, which holds the defaults, with what the file (root) and
// then v's environment and flags set, each key through the reader of its
// kind. A value of the wrong type is reported under its key and leaves the
// key's zero value. The secrets are read by readSecrets. The error is a
// value the YAML decoder cannot decode.
func read(v *viper.Viper, root *yaml.Node, cfg *Config, p *Errors) error {
	c := reflect.ValueOf(cfg).Elem()
	for _, f := range fields() {
		if f.index == nil || f.secret {
			continue
		}
		dst := c.FieldByIndex(f.index)
		switch f.kind {
		case kStringMap:
			setMap(dst, stringMap(node(root, f.path), f.path, p))
		case kValueMaps:
			setMap(dst, valueMaps(node(root, f.path), f.path, p))
		case kRules:
			cfg.Rules = parseRules(node(root, f.path), p) // the rules section: its own decoder
		case kFunnels:
			cfg.Funnels = parseFunnels(node(root, f.path), p)
		default:
			raw, ok, err := lookup(v, root, f.path)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			dst.Set(reflect.ValueOf(scalar(f, raw, p)))
		}
	}
	return nil
}

// setMap sets a section of data read into dst, unless it is nil (absent,
// or not a mapping): the default stays.
func setMap[V any](dst reflect.Value, m map[string]V) {
	if m != nil {
		dst.Set(reflect.ValueOf(m))
	}
}

// lookup returns the value of a key: a bound flag or the environment (as v
// has them), else the file. ok is false when none sets it.
func lookup(v *viper.Viper, root *yaml.Node, path string) (any, bool, error) {
	if v.IsSet(path) {
		return v.Get(path), true, nil
	}
	n := node(root, path)
	if n == nil {
		return nil, false, nil
	}
	var val any // nil for a null, which leaves the key unset
	if err := n.Decode(&val); err != nil {
		return nil, false, err
	}
	return val, val != nil, nil
}

// scalar converts a raw value of a key that is not a section of data.
func scalar(f field, raw any, p *Errors) any {
	if read, ok := map[kind]func(any, string, *Errors) any{
		kFloat: reader(asFloat), kInt: reader(asInt), kDuration: reader(asDuration),
		kStringList: reader(asStringList), kIntList: reader(asIntList), kBool: reader(asBool),
	}[f.kind]; ok {
		return read(raw, f.path, p)
	}
	s := asString(raw, f.path, p)
	if f.fold != nil {
		s = f.fold(s)
	}
	return s
}

// reader adapts the reader of a kind to scalar's table.
func reader[T any](as func(val any, key string, p *Errors) T) func(any, string, *Errors) any {
	return func(val any, key string, p *Errors) any { return as(val, key, p) }
}

func asString(val any, key string, p *Errors) string {
	switch x := val.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	default:
		p.add(key, "must be %s, not %s", kString, describe(val))
		return ""
	}
}

// asNumber reads a numeric key of kind k: whole converts a whole number,
// frac a fraction and text a string (trimmed); frac and text say what is
// wrong with the value ("" when nothing is), and the key then reads as 0.
func asNumber[T any](val any, key string, p *Errors, k kind, whole func(int64) T, frac func(float64) (T, string), text func(string) (T, string)) T {
	var (
		n       T
		problem string
	)
	switch x := val.(type) {
	case int:
		return whole(int64(x))
	case int64:
		return whole(x)
	case float64:
		n, problem = frac(x)
	case string:
		n, problem = text(strings.TrimSpace(x))
	default:
		problem = fmt.Sprintf("must be %s, not %s", k, describe(val))
	}
	if problem != "" {
		p.add(key, "%s", problem)
		var zero T
		return zero
	}
	return n
}

func asFloat(val any, key string, p *Errors) float64 {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	return asNumber(val, key, p, kFloat, func(n int64) float64 { return float64(n) }, func(f float64) (float64, string) {
		if finite(f) {
			return f, ""
		}
		return 0, "must be a finite number"
	}, func(s string) (float64, string) {
		if f, err := strconv.ParseFloat(s, 64); err == nil && finite(f) {
			return f, ""
		}
		return 0, fmt.Sprintf("must be %s, not text", kFloat)
	})
}

func asInt(val any, key string, p *Errors) int {
	return asNumber(val, key, p, kInt, func(n int64) int { return int(n) }, func(f float64) (int, string) {
		if f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
			return int(f), ""
		}
		return 0, fmt.Sprintf("must be %s", kInt)
	}, func(s string) (int, string) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Sprintf("must be %s, not text", kInt)
		}
		return n, ""
	})
}

// asBool accepts a YAML boolean or, from the environment, its text
// (true/false, yes/no, on/off, 1/0).
func asBool(val any, key string, p *Errors) bool {
	switch x := val.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true
		case "false", "no", "off", "0":
			return false
		}
		p.add(key, "must be %s, not other text", kBool)
		return false
	default:
		p.add(key, "must be %s, not %s", kBool, describe(val))
		return false
	}
}

// asDuration accepts a Go duration ("30s", "1m30s") or a bare number of
// seconds, as an integrator would write either.
func asDuration(val any, key string, p *Errors) time.Duration {
	seconds := func(f float64) (time.Duration, string) {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e6 {
			return 0, fmt.Sprintf("must be %s", kDuration)
		}
		return time.Duration(f * float64(time.Second)), ""
	}
	return asNumber(val, key, p, kDuration, func(n int64) time.Duration { return time.Duration(n) * time.Second }, seconds, func(s string) (time.Duration, string) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return seconds(f)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Sprintf("must be %s", kDuration)
		}
		return d, ""
	})
}

// asStringList accepts a YAML list or, from the environment, a comma- or
// space-separated string.
func asStringList(val any, key string, p *Errors) []string {
	switch x := val.(type) {
	case nil:
		return nil
	case string:
		return splitList(x)
	case []any:
		out := make([]string, 0, len(x))
		for i, item := range x {
			switch it := item.(type) {
			case string:
				if s := strings.TrimSpace(it); s != "" {
					out = append(out, s)
				}
			case int, int64, float64:
				out = append(out, fmt.Sprint(it))
			default:
				p.add(fmt.Sprintf("%s[%d]", key, i), "must be a string, not %s", describe(item))
			}
		}
		return out
	default:
		p.add(key, "must be %s, not %s", kStringList, describe(val))
		return nil
	}
}

func asIntList(val any, key string, p *Errors) []int {
	var items []any
	switch x := val.(type) {
	case nil:
		return nil
	case string:
		for _, s := range splitList(x) {
			items = append(items, s)
		}
	case []any:
		items = x
	case int, int64, float64:
		items = []any{x}
	default:
		p.add(key, "must be %s, not %s", kIntList, describe(val))
		return nil
	}
	out := make([]int, 0, len(items))
	for i, item := range items {
		before := len(p.Fields)
		n := asInt(item, fmt.Sprintf("%s[%d]", key, i), p)
		if len(p.Fields) == before {
			out = append(out, n)
		}
	}
	return out
}

func splitList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// describe names the kind of a value that has the wrong type. It never
// shows the value: a secret put under the wrong key must not be echoed.
func describe(val any) string {
	switch val.(type) {
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	case bool:
		return "a boolean (true/false, yes/no)"
	case string:
		return "text"
	case int, int64, uint64, float64:
		return "a number"
	default:
		return "a value of another type"
	}
}
