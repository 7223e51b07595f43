package bitrixtest

import (
	"testing"
)

// TestDealMovesOnlyByItemUpdate: crm.deal.update ignores CATEGORY_ID;
// crm.item.update moves the deal to the funnel, at the stage given or at
// the funnel's first stage, with a stage-history row of TYPE_ID 5, and
// refuses a funnel or a stage the portal does not have.
func TestDealMovesOnlyByItemUpdate(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	s.SeedCategory(3, "Wholesale")
	id := s.SeedDeal(map[string]any{"TITLE": "Order 1", "STAGE_ID": "NEW"})
	call := func(method string, body any) (int, map[string]any) {
		t.Helper()
		return post(t, s.WebhookURL()+method, body)
	}
	where := func() (string, string) {
		d, _ := s.Deal(id)
		return d.Str("CATEGORY_ID"), d.Str("STAGE_ID")
	}

	if code, _ := call("crm.deal.update", map[string]any{"id": id, "fields": map[string]any{"CATEGORY_ID": 3, "STAGE_ID": "C3:WON"}}); code != 200 {
		t.Fatalf("crm.deal.update: %d", code)
	}
	if cat, stage := where(); cat != "0" || stage != "NEW" {
		t.Errorf("crm.deal.update moved the deal to %s/%s", cat, stage)
	}

	for _, tt := range []struct {
		name   string
		fields map[string]any
		code   string
	}{
		{"missing funnel", map[string]any{"categoryId": 9}, "CRM_FIELD_ERROR_VALUE_NOT_VALID"},
		{"stage of another funnel", map[string]any{"categoryId": 3, "stageId": "WON"}, "CRM_FIELD_ERROR_VALUE_NOT_VALID"},
		{"unmodelled field", map[string]any{"categoryId": 3, "title": "x"}, ""},
	} {
		code, body := call("crm.item.update", map[string]any{"entityTypeId": 2, "id": id, "fields": tt.fields})
		if code != 400 || body["error"] != tt.code {
			t.Errorf("%s: %d %v", tt.name, code, body)
		}
		if cat, stage := where(); cat != "0" || stage != "NEW" {
			t.Errorf("%s: a refused move left the deal at %s/%s", tt.name, cat, stage)
		}
	}

	code, body := call("crm.item.update", map[string]any{"entityTypeId": 2, "id": id, "fields": map[string]any{"categoryId": 3, "stageId": "C3:PREPARATION"}})
	item, _ := asMap(body["result"])["item"].(map[string]any)
	if code != 200 || item["stageId"] != "C3:PREPARATION" {
		t.Fatalf("move: %d %v", code, body)
	}
	if cat, stage := where(); cat != "3" || stage != "C3:PREPARATION" {
		t.Errorf("moved to %s/%s", cat, stage)
	}
	if code, _ := call("crm.item.update", map[string]any{"entityTypeId": 2, "id": id, "fields": map[string]any{"categoryId": 0}}); code != 200 {
		t.Errorf("move back: %d", code)
	}
	if cat, stage := where(); cat != "0" || stage != "NEW" {
		t.Errorf("a move without a stage went to %s/%s, want the funnel's first stage NEW", cat, stage)
	}
	var moves []HistoryRow
	for _, h := range s.StageHistory() {
		if h.OwnerID == id && h.TypeID == 5 {
			moves = append(moves, h)
		}
	}
	if len(moves) != 2 || moves[0].CategoryID != 3 || moves[0].StageID != "C3:PREPARATION" || moves[1].StageID != "NEW" {
		t.Errorf("stage history of the moves: %+v", moves)
	}
}
