package texts

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestEveryPhraseInEveryLocale: a phrase added to one locale is added to
// all, with the same verbs in the same order (the callers pass the same
// arguments whatever the locale), and plural phrases have the forms their
// locale needs.
func TestEveryPhraseInEveryLocale(t *testing.T) {
	t.Parallel()
	all := phrases()
	if got := slices.Sorted(maps.Keys(all)); !slices.Equal(got, slices.Sorted(slices.Values(Locales()))) {
		t.Fatalf("catalogue locales %v, Locales() %v", got, Locales())
	}
	ref := all[EN]
	verbs := func(s string) []string {
		var out []string
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+1 < len(s) {
				out = append(out, s[i:i+2])
				i++
			}
		}
		return out
	}
	plural := []Key{MoreLines, MoreChars, Attempts, PushItems}
	for _, l := range Locales() {
		p := all[l]
		for k, s := range ref {
			other, ok := p[k]
			if !ok {
				t.Errorf("%s: phrase %s missing", l, k)
				continue
			}
			if slices.Contains(plural, k) {
				forms := strings.Split(other, "|")
				want := map[Locale]int{RU: 3, EN: 2}[l]
				if len(forms) != want {
					t.Errorf("%s: %s has %d forms, want %d", l, k, len(forms), want)
				}
				continue
			}
			if !slices.Equal(verbs(other), verbs(s)) {
				t.Errorf("%s: %s verbs %v, English %v", l, k, verbs(other), verbs(s))
			}
		}
		for k := range p {
			if _, ok := ref[k]; !ok {
				t.Errorf("%s: phrase %s is in no other locale", l, k)
			}
		}
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	ru, en := For(RU), For(EN)
	for _, c := range []struct {
		n      int
		ru, en string
	}{
		{1, ", … и ещё 1 строка", ", … and 1 more line"},
		{2, ", … и ещё 2 строки", ", … and 2 more lines"},
		{5, ", … и ещё 5 строк", ", … and 5 more lines"},
		{11, ", … и ещё 11 строк", ", … and 11 more lines"},
		{21, ", … и ещё 21 строка", ", … and 21 more lines"},
		{24, ", … и ещё 24 строки", ", … and 24 more lines"},
		{19950, ", … и ещё 19 950 строк", ", … and 19,950 more lines"},
	} {
		if got := ru.Plural(MoreLines, c.n); got != c.ru {
			t.Errorf("ru %d: %q, want %q", c.n, got, c.ru)
		}
		if got := en.Plural(MoreLines, c.n); got != c.en {
			t.Errorf("en %d: %q, want %q", c.n, got, c.en)
		}
	}
}

func TestMoneyAndParse(t *testing.T) {
	t.Parallel()
	d := decimal.RequireFromString("1234567.5")
	if got := For(RU).Money(d); got != "1 234 567,50" {
		t.Errorf("ru money %q", got)
	}
	if got := For(EN).Money(d.Neg()); got != "-1,234,567.50" {
		t.Errorf("en money %q", got)
	}
	for in, want := range map[string]Locale{"": RU, "ru": RU, "EN": EN, " en ": EN} {
		if l, ok := Parse(in); !ok || l != want {
			t.Errorf("Parse(%q) = %q %v", in, l, ok)
		}
	}
	if _, ok := Parse("de"); ok {
		t.Error("Parse(de) accepted")
	}
	if For("xx").Locale() != Default {
		t.Error("unknown locale is not the default")
	}
	if got := For(EN).F(StatusChanged, "A", "B", "by x"); got != fmt.Sprintf("Order status changed: %s → %s (%s)", "A", "B", "by x") {
		t.Error(got)
	}
}
