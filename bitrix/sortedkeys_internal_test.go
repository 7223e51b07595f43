package bitrix

import (
	"slices"
	"testing"
)

func TestSortedKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		keys []string
		want []string
	}{
		{"names", []string{"TITLE", "CONTACT_ID", "STAGE_ID"}, []string{"CONTACT_ID", "STAGE_ID", "TITLE"}},
		{"list indexes sort as numbers", []string{"10", "2", "1", "0"}, []string{"0", "1", "2", "10"}},
		{"signed numbers", []string{"-1", "+3", "2"}, []string{"-1", "2", "+3"}},
		{"a name and a number sort as strings", []string{"A", "1", "-"}, []string{"-", "1", "A"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			for _, k := range tc.keys {
				m[k] = true
			}
			if got := sortedKeys(m); !slices.Equal(got, tc.want) {
				t.Errorf("sortedKeys(%v) = %v, want %v", tc.keys, got, tc.want)
			}
		})
	}
}

// Sorting a command's fields must not allocate per comparison (a failed
// strconv.Atoi allocates its error): the key slice and the result only.
func TestSortedKeysAllocatesOnlyItsSlices(t *testing.T) {
	m := map[string]any{}
	for _, k := range []string{"TITLE", "STAGE_ID", "CONTACT_ID", "OPPORTUNITY", "CURRENCY_ID", "COMMENTS", "SOURCE_ID",
		"ORIGINATOR_ID", "ORIGIN_ID", "ASSIGNED_BY_ID", "BEGINDATE", "CLOSEDATE", "CATEGORY_ID", "TYPE_ID", "UF_CRM_1"} {
		m[k] = ""
	}
	if raceEnabled {
		t.Skip("allocation counts are measured without the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { sortedKeys(m) }); n > 2 {
		t.Errorf("sortedKeys of %d fields: %.0f allocations, want at most 2", len(m), n)
	}
}
