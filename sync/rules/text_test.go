package rules

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
)

// Texts escape every value they print unless the last step is raw: the
// administrator's own markup works, the customer's never does.
func TestTextsEscapeValuesUnlessRaw(t *testing.T) {
	t.Parallel()
	const name = "[URL=https://evil.example]Иван[/URL]"
	esc := bitrix.EscapeMarkup
	d := Data{FirstName: name, Number: "7", CustomerComment: "<i>hi</i>", ID: 42}
	for _, tc := range []struct{ text, want string }{
		{"{{.FirstName}}", esc(name)},
		{"{{raw .FirstName}}", name},
		{"{{.FirstName | raw}}", name},
		{"[B]{{.Number}}[/B]", "[B]7[/B]"},
		{"order {{.ID}}", "order 42"},
		{`{{printf "%s!" .CustomerComment}}`, esc("<i>hi</i>!")},
		{`{{printf "%s!" (raw .CustomerComment)}}`, esc("<i>hi</i>!")}, // raw only counts as the last step
		{"{{if .FirstName}}{{.FirstName}}{{else}}-{{end}}", esc(name)},
		{"{{if .Email}}{{.Email}}{{else}}[I]none[/I]{{end}}", "[I]none[/I]"},
		{"{{with $x := .CustomerComment}}{{$x}}|{{raw $x}}{{end}}", esc("<i>hi</i>") + "|<i>hi</i>"},
		{`{{define "n"}}{{.FirstName}}{{end}}{{template "n" .}}`, esc(name)},
	} {
		text, err := compileText("t", tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		got, err := text.Render(d)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
	var none *Text
	if got, err := none.Render(d); got != "" || err != nil {
		t.Errorf("a missing text renders %q, %v", got, err)
	}
}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ in, want string }{
		{"2h", "2026-11-29T17:00:00Z"}, {"3d", "2026-12-02T15:00:00Z"}, {"18:00", "2026-11-29T18:00:00Z"},
		{"09:30", "2026-11-30T09:30:00Z"},
	} {
		d, err := parseDeadline(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Due(now).Format(time.RFC3339); got != tc.want || !d.Set() {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "-2h", "0d", "25:00", "tomorrow"} {
		if _, err := parseDeadline(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if (Deadline{}).Set() {
		t.Error("no deadline is set")
	}
}
