package bitrix_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
)

// documented is the datetime form of b24restdocs:api-reference/data-types.md.
var documented = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)

func TestFormatTimeIsTheDocumentedForm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), "2026-03-02T09:00:00+00:00"},
		{time.Date(2026, 3, 2, 12, 0, 5, 999_000_000, time.FixedZone("MSK", 3*3600)), "2026-03-02T12:00:05+03:00"},
		{time.Date(2025, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(5*3600+30*60))), "2025-12-31T23:59:59-05:30"},
	} {
		got := bitrix.FormatTime(tc.in)
		if got != tc.want || !documented.MatchString(got) {
			t.Errorf("FormatTime(%v) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := time.Parse(bitrix.DateTimeLayout, got)
		if err != nil || !back.Equal(tc.in.Truncate(time.Second)) {
			t.Errorf("%q does not read back as %v: %v %v", got, tc.in, back, err)
		}
	}
}
