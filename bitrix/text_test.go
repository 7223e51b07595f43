package bitrix_test

import (
	"testing"

	"github.com/crmsync/crmsync/bitrix"
)

func TestEscapeMarkup(t *testing.T) {
	const zw = bitrix.MarkupBreak
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Иван Петров", "Иван Петров"},
		{"Tom & Jerry > 2", "Tom & Jerry > 2"},
		{"[URL=https://evil.example]Иван[/URL]", "[" + zw + "URL=https://evil.example]Иван[" + zw + "/URL]"},
		{"[USER=1]Director[/USER]", "[" + zw + "USER=1]Director[" + zw + "/USER]"},
		{"<img src=x onerror=alert(1)>", "<" + zw + "img src=x onerror=alert(1)>"},
		{"[" + zw + "b] already", "[" + zw + "b] already"},
		{"a[1] < b", "a[" + zw + "1] <" + zw + " b"},
	} {
		got := bitrix.EscapeMarkup(tc.in)
		if got != tc.want {
			t.Errorf("EscapeMarkup(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !bitrix.MarkupInert(got) {
			t.Errorf("EscapeMarkup(%q) = %q is not inert", tc.in, got)
		}
	}
	if bitrix.MarkupInert("[b]") || bitrix.MarkupInert("x<a") || !bitrix.MarkupInert("plain") {
		t.Error("MarkupInert misjudges")
	}
}
