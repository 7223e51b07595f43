package rules

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmsync/crmsync/bitrix"
)

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
			out, err := tmpl.Render(Data{Number: number, FirstName: name, ID: 7})
			// Each input on its own: two invalid halves can join into a valid character.
			if err == nil && !utf8.ValidString(out) && utf8.ValidString(text) && utf8.ValidString(number) && utf8.ValidString(name) {
				t.Errorf("render produced invalid UTF-8 from valid input: %q", out)
			}
		}
		fixed, err := compileText("fixed", "Order {{.Number}} for {{.FirstName}}")
		if err != nil {
			t.Fatal(err)
		}
		out, err := fixed.Render(Data{Number: number, FirstName: name})
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
