package bitrixtest

import (
	"testing"
	"time"
)

// crm.stagehistory.list answers filters and orders on the fields its items
// carry, in either direction, and refuses the rest with the documented
// errors (docs/api-notes.md, "Stage history").
func TestStageHistoryFilterAndOrder(t *testing.T) {
	t.Parallel()
	clk := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := New(t, Options{Unlimited: true, Now: clk.Now})
	a := s.SeedDeal(map[string]any{"TITLE": "a", "STAGE_ID": "NEW"}) // row 1
	clk.Advance(time.Hour)
	if err := s.MoveDeal(a, "PREPARATION", 7); err != nil { // row 2, 10:00
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	b := s.SeedDeal(map[string]any{"TITLE": "b", "STAGE_ID": "NEW"}) // row 3, 11:00
	if err := s.MoveDeal(b, "WON", 7); err != nil {                  // row 4, 11:00
		t.Fatal(err)
	}
	row0 := float64(s.StageHistory()[0].ID - 1) // rows 1-4 are row0+1 … row0+4
	deal := func(params map[string]any) map[string]any {
		params["entityTypeId"] = 2
		return params
	}
	tests := []struct {
		name    string
		params  map[string]any
		wantIDs []float64 // rows (1-4) in answer order
		errDesc string
	}{
		{"head: newest first", deal(map[string]any{"order": map[string]any{"ID": "DESC"}, "select": []any{"ID"}}), []float64{4, 3, 2, 1}, ""},
		{"cursor and time", deal(map[string]any{"order": map[string]any{"ID": "ASC"},
			"filter": map[string]any{">ID": row0 + 1, ">=CREATED_TIME": "2026-03-02T13:30:00+03:00"}}), []float64{3, 4}, ""},
		{"time in another offset is the same instant", deal(map[string]any{
			"filter": map[string]any{">=CREATED_TIME": "2026-03-02T10:00:00+00:00", "<CREATED_TIME": "2026-03-02T11:00:00+00:00"}}), []float64{2}, ""},
		{"owners and type", deal(map[string]any{"filter": map[string]any{"@OWNER_ID": []any{a}, "TYPE_ID": 2}}), []float64{2}, ""},
		{"stage", deal(map[string]any{"filter": map[string]any{"STAGE_ID": "WON", "CATEGORY_ID": 0}}), []float64{4}, ""},
		{"unknown filter field", deal(map[string]any{"filter": map[string]any{">=DATE_CREATE": "2026-03-02T10:00:00+00:00"}}), nil,
			"Invalid filter: field 'DATE_CREATE' is not allowed in filter"},
		{"a deal field on leads", map[string]any{"entityTypeId": 1, "filter": map[string]any{"STAGE_ID": "NEW"}}, nil,
			"Invalid filter: field 'STAGE_ID' is not allowed in filter"},
		{"id not a number", deal(map[string]any{"filter": map[string]any{">ID": "last"}}), nil,
			"Invalid filter: field 'ID' has invalid value"},
		{"unknown order field", deal(map[string]any{"order": map[string]any{"MOVED_TIME": "DESC"}}), nil,
			"Invalid order: field 'MOVED_TIME' is not allowed in order"},
		{"bad direction", deal(map[string]any{"order": map[string]any{"ID": "UP"}}), nil,
			"Invalid order: allowed sort directions are ASC, DESC. But got 'UP' for field 'ID'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, s.WebhookURL()+"crm.stagehistory.list", tt.params)
			if tt.errDesc != "" {
				if code != 400 || body["error"] != "INVALID_ARG_VALUE" || body["error_description"] != tt.errDesc {
					t.Fatalf("%d %v, want 400 INVALID_ARG_VALUE %q", code, body, tt.errDesc)
				}
				return
			}
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			res, _ := body["result"].(map[string]any)
			items, _ := res["items"].([]any)
			var got []float64
			for _, it := range items {
				got = append(got, it.(map[string]any)["ID"].(float64))
			}
			if len(got) != len(tt.wantIDs) {
				t.Fatalf("rows %v, want %v", got, tt.wantIDs)
			}
			for i := range got {
				if got[i] != row0+tt.wantIDs[i] {
					t.Fatalf("rows %v, want %v", got, tt.wantIDs)
				}
			}
		})
	}
}
