// Package jsonshape compares the shape of two JSON documents - the keys of
// their objects and the JSON types of their values, recursively - and not
// the values. The fakes' tests use it to hold their answers to the recorded
// bodies of the real services.
package jsonshape

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Options adjust a comparison. Paths are written as dotted keys with []
// for "every element of an array", e.g. "result[].EMAIL[].VALUE".
type Options struct {
	// Dynamic names objects whose keys are data (ids, command names, field
	// names): their values are compared with one another's shape, not key
	// by key.
	Dynamic []string
	// Ignore names paths left out of the comparison, with everything below.
	Ignore []string
}

// shape is the merged shape of one or more JSON values.
type shape struct {
	kinds  map[string]bool   // "object", "array", "string", "number", "bool", "null"
	fields map[string]*shape // object keys
	seen   map[string]int    // how many of the merged objects hold each key
	objs   int               // how many objects were merged
	elem   *shape            // array elements, nil when every array was empty
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

func (o Options) dynamic(path string) bool { return slices.Contains(o.Dynamic, path) }

// add merges v, found at path, into s.
func (o Options) add(s *shape, path string, v any) {
	if s.kinds == nil {
		s.kinds = map[string]bool{}
	}
	s.kinds[kindOf(v)] = true
	switch x := v.(type) {
	case map[string]any:
		if o.dynamic(path) {
			// Every value merges into one element shape, like an array.
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if s.elem == nil {
					s.elem = &shape{}
				}
				o.add(s.elem, path+"[]", x[k])
			}
			return
		}
		s.objs++
		if s.fields == nil {
			s.fields, s.seen = map[string]*shape{}, map[string]int{}
		}
		for k, fv := range x {
			if s.fields[k] == nil {
				s.fields[k] = &shape{}
			}
			s.seen[k]++
			o.add(s.fields[k], join(path, k), fv)
		}
	case []any:
		for _, e := range x {
			if s.elem == nil {
				s.elem = &shape{}
			}
			o.add(s.elem, path+"[]", e)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Kind is the kind of a difference.
type Kind int

// Kinds of differences.
const (
	// Type: got has a JSON type that want never has.
	Type Kind = iota + 1
	// Missing: want holds the key in every merged object, got never.
	Missing
	// Extra: got holds a key want never holds.
	Extra
)

// Difference is one difference, at Path (dotted, [] for elements).
type Difference struct {
	Kind Kind
	Path string
	Text string
}

func (d Difference) String() string { return d.Text }

// Diff returns the differences between the shapes of want (the recorded
// body) and got (the fake's), one line each, sorted. A key counts as
// missing when every object merged on the want side holds it. got may use
// fewer of a value's types than want (a fake need not show every variant).
// null matches any type (a value that happens to be empty), and so does an
// empty array: the services are PHP, whose empty array encodes as [] where
// a filled one is an object.
func Diff(want, got []byte, o Options) ([]string, error) {
	ds, err := Differences(want, got, o)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Text
	}
	return out, nil
}

// Differences is Diff with the kind and path of each difference.
func Differences(want, got []byte, o Options) ([]Difference, error) {
	ws, err := o.parse(want)
	if err != nil {
		return nil, fmt.Errorf("want: %w", err)
	}
	gs, err := o.parse(got)
	if err != nil {
		return nil, fmt.Errorf("got: %w", err)
	}
	var out []Difference
	o.diff(&out, "", ws, gs)
	slices.SortFunc(out, func(a, b Difference) int { return strings.Compare(a.Text, b.Text) })
	return out, nil
}

func (o Options) parse(b []byte) (*shape, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	s := &shape{}
	o.add(s, "", v)
	return s, nil
}

// kinds are s's JSON types, without the wildcards null and empty array.
func kinds(s *shape) []string {
	var ks []string
	for k := range s.kinds {
		if k != "null" && (k != "array" || s.elem != nil) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func (o Options) diff(out *[]Difference, path string, w, g *shape) {
	if slices.Contains(o.Ignore, path) {
		return
	}
	name := path
	if name == "" {
		name = "(top)"
	}
	wk, gk := kinds(w), kinds(g)
	if len(wk) > 0 && slices.ContainsFunc(gk, func(k string) bool { return !slices.Contains(wk, k) }) {
		*out = append(*out, Difference{Type, path, fmt.Sprintf("%s: type %s, real service sends %s", name, strings.Join(gk, "|"), strings.Join(wk, "|"))})
		return
	}
	if w.fields != nil && g.fields != nil {
		for _, k := range slices.Sorted(maps.Keys(w.fields)) {
			p := join(path, k)
			if slices.Contains(o.Ignore, p) {
				continue
			}
			if g.fields[k] == nil {
				if w.seen[k] == w.objs {
					*out = append(*out, Difference{Missing, p, p + ": missing (the real service sends it)"})
				}
				continue
			}
			o.diff(out, p, w.fields[k], g.fields[k])
		}
		for _, k := range slices.Sorted(maps.Keys(g.fields)) {
			p := join(path, k)
			if w.fields[k] == nil && !slices.Contains(o.Ignore, p) {
				*out = append(*out, Difference{Extra, p, p + ": sent, but not by the real service"})
			}
		}
	}
	if w.elem != nil && g.elem != nil {
		o.diff(out, path+"[]", w.elem, g.elem)
	}
}
