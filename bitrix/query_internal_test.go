package bitrix

import (
	"slices"
	"testing"
)

// dealCommand is a crm.deal.add as the engine builds it.
func dealCommand() map[string]any {
	return map[string]any{"fields": Fields{"TITLE": "Заказ №1024", "STAGE_ID": "NEW", "OPPORTUNITY": "1500.50",
		"CURRENCY_ID": "RUB", "CONTACT_ID": ResultRef("c1", "ID"), "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "1024",
		"ASSIGNED_BY_ID": 7, "OPENED": true, "COMMENTS": "<b>Доставка</b> курьером", "UF_CRM_TAGS": []any{"web", "sale"}},
		"params": map[string]any{"REGISTER_SONET_EVENT": "N"}}
}

// The query of a deal is built in one pass: no reflection over the maps
// commands are made of, one builder.
func TestBuildQueryAllocations(t *testing.T) {
	cmd := dealCommand()
	q, err := BuildQuery(cmd)
	if err != nil {
		t.Fatal(err)
	}
	const want = "fields[ASSIGNED_BY_ID]=7&fields[COMMENTS]=%3Cb%3E%D0%94%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0%3C%2Fb%3E+%D0%BA%D1%83%D1%80%D1%8C%D0%B5%D1%80%D0%BE%D0%BC" +
		"&fields[CONTACT_ID]=$result[c1][ID]&fields[CURRENCY_ID]=RUB&fields[OPENED]=1&fields[OPPORTUNITY]=1500.50" +
		"&fields[ORIGINATOR_ID]=retailcrm&fields[ORIGIN_ID]=1024&fields[STAGE_ID]=NEW" +
		"&fields[TITLE]=%D0%97%D0%B0%D0%BA%D0%B0%D0%B7+%E2%84%961024&fields[UF_CRM_TAGS][0]=web&fields[UF_CRM_TAGS][1]=sale" +
		"&params[REGISTER_SONET_EVENT]=N"
	if q != want {
		t.Errorf("query\n%s\nwant\n%s", q, want)
	}
	if raceEnabled {
		t.Skip("allocation counts are measured without the race detector")
	}
	if n := testing.AllocsPerRun(50, func() { _, _ = BuildQuery(cmd) }); n > 45 {
		t.Errorf("BuildQuery of a deal: %.0f allocations, want at most 45 (80 before)", n)
	}
}

// refsOf finds references wherever the query would carry them, and reads
// the usual shapes without copying them.
func TestRefsOf(t *testing.T) {
	ref := ResultRef("c7", "ID")
	p := &ref
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"in fields", map[string]any{"fields": Fields{"CONTACT_ID": ResultRef("c1", "ID")}}, []string{"c1"}},
		{"in a list", map[string]any{"ids": []any{1, ResultRef("c2", 0, "ID")}}, []string{"c2"}},
		{"typed slice", map[string]any{"ids": []Ref{ResultRef("c3")}}, []string{"c3"}},
		{"pointer", map[string]any{"id": p}, []string{"c7"}},
		{"none", map[string]any{"id": 5, "fields": Fields{"TITLE": "x"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := refsOf(tc.params)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("refsOf = %v, want %v", got, tc.want)
			}
		})
	}
	cmd := dealCommand()
	if raceEnabled {
		t.Skip("allocation counts are measured without the race detector")
	}
	if n := testing.AllocsPerRun(50, func() { refsOf(cmd) }); n > 3 {
		t.Errorf("refsOf of a deal: %.0f allocations, want at most 3", n)
	}
}

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
