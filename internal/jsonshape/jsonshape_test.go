package jsonshape

import (
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		want, got string
		opts      Options
		diffs     []string
	}{
		{name: "same shape, other values", want: `{"a":"1","b":[{"c":1}]}`, got: `{"a":"2","b":[{"c":5},{"c":6}]}`},
		{name: "number for string", want: `{"ID":"1"}`, got: `{"ID":1}`,
			diffs: []string{"ID: type number, real service sends string"}},
		{name: "missing and extra keys", want: `{"a":1,"b":2}`, got: `{"a":1,"c":3}`,
			diffs: []string{"b: missing (the real service sends it)", "c: sent, but not by the real service"}},
		{name: "null and empty arrays match anything", want: `{"a":null,"b":[]}`, got: `{"a":"x","b":[1]}`},
		{name: "array for object", want: `{"r":{"a":1}}`, got: `{"r":[1]}`,
			diffs: []string{"r: type array, real service sends object"}},
		{name: "empty array for object (PHP)", want: `{"r":{"a":1}}`, got: `{"r":[]}`},
		{name: "fewer variants", want: `[{"v":1},{"v":"x"}]`, got: `[{"v":"y"}]`},
		{name: "other variant", want: `[{"v":1},{"v":"x"}]`, got: `[{"v":true}]`,
			diffs: []string{"[].v: type bool, real service sends number|string"}},
		{name: "key in only some elements is optional", want: `[{"a":1,"b":1},{"a":1}]`, got: `[{"a":1}]`},
		{name: "inside arrays", want: `{"r":[{"E":[{"V":"x"}]}]}`, got: `{"r":[{"E":[{"V":true}]}]}`,
			diffs: []string{"r[].E[].V: type bool, real service sends string"}},
		{name: "dynamic keys", want: `{"r":{"a":{"x":1}}}`, got: `{"r":{"b":{"x":2}}}`, opts: Options{Dynamic: []string{"r"}}},
		{name: "dynamic keys, wrong values", want: `{"r":{"a":{"x":1}}}`, got: `{"r":{"b":{"y":2}}}`, opts: Options{Dynamic: []string{"r"}},
			diffs: []string{"r[].x: missing (the real service sends it)", "r[].y: sent, but not by the real service"}},
		{name: "ignored", want: `{"t":{"a":1}}`, got: `{"t":{"b":1}}`, opts: Options{Ignore: []string{"t"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Diff([]byte(tc.want), []byte(tc.got), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.diffs) {
				t.Errorf("Diff = %q, want %q", got, tc.diffs)
			}
		})
	}
}
