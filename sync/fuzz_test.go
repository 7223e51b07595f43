package sync

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmsync/crmsync/bitrix"
)

// FuzzNormalize feeds e-mails and phones as customers type them: never a
// panic, and normalising a normalised value changes nothing (so comparison
// keys are stable across runs).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+7 (915) 123-45-67", "89151234567", " Anna@Example.COM ", "доб. 12", "+1 650 253 0000 ext. 7",
		"", "@", "a@b", "++7", "8 800 555 35 35", "Анна <anna@example.com>", "0000000000000000000000"} {
		f.Add(s)
	}
	n := normalizer{region: "RU"}
	f.Fuzz(func(t *testing.T, raw string) {
		p := n.phone(raw)
		if p != "" {
			if again := n.phone(p); again != p {
				t.Errorf("phone(%q) = %q, but phone(%q) = %q", raw, p, p, again)
			}
			if n.phoneKey(raw) != n.phoneKey(p) {
				t.Errorf("phone keys differ for %q and its normal form %q", raw, p)
			}
		}
		e, err := n.email(raw)
		if err == nil && e != "" {
			if again, err := n.email(e); err != nil || again != e {
				t.Errorf("email(%q) = %q, but email(%q) = %q, %v", raw, e, e, again, err)
			}
			if n.emailKey(raw) != e {
				t.Errorf("emailKey(%q) = %q, want %q", raw, n.emailKey(raw), e)
			}
		}
	})
}

// FuzzRuleTemplate parses rule texts as the configuration gives them and
// renders fixed texts over arbitrary order data: errors are fine, panics
// are not, and the data never adds working markup. Texts with range, template, block or define are skipped: a loop
// of a billion iterations is the administrator's own doing, not input.
func FuzzRuleTemplate(f *testing.F) {
	f.Add("Call back about order {{.Number}}", "1042A", "Анна 🚪")
	f.Add("{{.Numbr}}", "", "")
	f.Add("{{if .Email}}{{.Email}}{{else}}-{{end}}", "x", "a@b.c")
	f.Add("{{printf \"%s %d\" .Number .ID}}", "<b>", "\x00")
	f.Add("{{", "", "")
	f.Fuzz(func(t *testing.T, text, number, name string) {
		if len(text) > 2000 || containsAny(text, "range", "template", "block", "define") {
			t.Skip()
		}
		if tmpl, err := compileText("fuzz", text); err == nil {
			out, err := render(tmpl, ruleData{Number: number, FirstName: name, ID: 7})
			if err == nil && !utf8.ValidString(out) && utf8.ValidString(text+number+name) {
				t.Errorf("render produced invalid UTF-8 from valid input: %q", out)
			}
		}
		fixed, err := compileText("fixed", "Order {{.Number}} for {{.FirstName}}")
		if err != nil {
			t.Fatal(err)
		}
		out, err := render(fixed, ruleData{Number: number, FirstName: name})
		if err != nil {
			t.Errorf("a fixed text failed on data %q %q: %v", number, name, err)
		}
		// Order data never adds markup to a text.
		if !bitrix.MarkupInert(out) {
			t.Errorf("data %q %q made working markup: %q", number, name, out)
		}
	})
}

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
