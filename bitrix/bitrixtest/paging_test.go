package bitrixtest

import (
	"net/url"
	"strconv"
	"testing"
)

// The fake pages as docs/api-notes.md ("Lists and paging") describes: 50
// rows a page, total counted, next only while more rows follow; start=-1
// only on the methods whose documentation shows it (total 0, no next).
func TestListPagingAndStartMinusOne(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	dealID := s.SeedDeal(map[string]any{"TITLE": "owner"})
	for i := range 120 {
		s.SeedDeal(map[string]any{"TITLE": "d" + strconv.Itoa(i), "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "7"})
		s.SeedContact(map[string]any{"NAME": "c" + strconv.Itoa(i), "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "7"})
		s.SeedLead(map[string]any{"TITLE": "l" + strconv.Itoa(i)})
		s.AddComment("deal", dealID, 1, "comment "+strconv.Itoa(i))
		if err := s.MoveDeal(dealID, []string{"PREPARATION", "NEW"}[i%2], 1); err != nil {
			t.Fatal(err)
		}
	}
	originFilter := map[string]any{"ORIGINATOR_ID": "retailcrm", "@ORIGIN_ID": []string{"7"}}
	tests := []struct {
		name   string
		method string
		params map[string]any
		// want: rows on the page, total (-1: absent), next (-1: absent);
		// or the error code.
		rows, total, next int
		errCode           string
	}{
		{"deals first page", "crm.deal.list", map[string]any{"filter": originFilter, "order": map[string]any{"ID": "ASC"}}, 50, 120, 50, ""},
		{"deals second page", "crm.deal.list", map[string]any{"filter": originFilter, "order": map[string]any{"ID": "ASC"}, "start": 50}, 50, 120, 100, ""},
		{"deals last page", "crm.deal.list", map[string]any{"filter": originFilter, "order": map[string]any{"ID": "ASC"}, "start": 100}, 20, 120, -1, ""},
		{"deals past the end", "crm.deal.list", map[string]any{"filter": originFilter, "start": 150}, 0, 120, -1, ""},
		{"contacts by origin", "crm.contact.list", map[string]any{"filter": originFilter, "start": 0}, 50, 120, 50, ""},
		{"deal list refuses start -1", "crm.deal.list", map[string]any{"filter": originFilter, "start": -1}, 0, 0, 0, "INVALID_ARG_VALUE"},
		{"contact list refuses start -1", "crm.contact.list", map[string]any{"start": "-1"}, 0, 0, 0, "INVALID_ARG_VALUE"},
		{"stage history refuses start -1", "crm.stagehistory.list", map[string]any{"entityTypeId": 2, "start": -1}, 0, 0, 0, "INVALID_ARG_VALUE"},
		{"stage history pages", "crm.stagehistory.list", map[string]any{"entityTypeId": 2, "order": map[string]any{"ID": "ASC"}, "start": 200}, 41, 241, -1, ""}, // 121 created + 120 moves
		{"comments refuse start -1", "crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_ID": dealID, "ENTITY_TYPE": "deal"}, "start": -1}, 0, 0, 0, "INVALID_ARG_VALUE"},
		{"comments page", "crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_ID": dealID, "ENTITY_TYPE": "deal"}}, 50, 120, 50, ""},
		{"lead list takes start -1", "crm.lead.list", map[string]any{"order": map[string]any{"ID": "ASC"}, "filter": map[string]any{">ID": 0}, "start": -1}, 50, 0, -1, ""},
		{"lead list counts otherwise", "crm.lead.list", map[string]any{"order": map[string]any{"ID": "ASC"}, "start": 0}, 50, 120, 50, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body := post(t, s.WebhookURL()+tt.method, tt.params)
			if tt.errCode != "" {
				if code != 400 || body["error"] != tt.errCode {
					t.Fatalf("%d %v, want 400 %s", code, body, tt.errCode)
				}
				return
			}
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			checkPage(t, body, tt.rows, tt.total, tt.next)
		})
	}

	// In a batch, the same paging lands in result_total and result_next,
	// and a refused start=-1 fails only its own command.
	q := url.Values{"filter[ORIGINATOR_ID]": {"retailcrm"}, "filter[@ORIGIN_ID][0]": {"7"}, "order[ID]": {"ASC"}}
	page2 := url.Values{"start": {"50"}}
	for k, v := range q {
		page2[k] = v
	}
	fast := url.Values{"start": {"-1"}}
	for k, v := range q {
		fast[k] = v
	}
	code, body := post(t, s.WebhookURL()+"batch", map[string]any{"halt": 0, "cmd": map[string]any{
		"p0": "crm.deal.list?" + q.Encode(), "p1": "crm.deal.list?" + page2.Encode(), "f": "crm.deal.list?" + fast.Encode(),
		"l": "crm.lead.list?start=-1"}})
	if code != 200 {
		t.Fatalf("batch: %d %v", code, body)
	}
	res, _ := body["result"].(map[string]any)
	totals, _ := res["result_total"].(map[string]any)
	nexts, _ := res["result_next"].(map[string]any)
	errs, _ := res["result_error"].(map[string]any)
	if totals["p0"] != float64(120) || nexts["p0"] != float64(50) || nexts["p1"] != float64(100) {
		t.Errorf("batch paging: total %v, next %v", totals, nexts)
	}
	if e, _ := errs["f"].(map[string]any); e["error"] != "INVALID_ARG_VALUE" {
		t.Errorf("batch start=-1 on crm.deal.list: errors %v", errs)
	}
	if _, has := nexts["l"]; has || totals["l"] != float64(0) {
		t.Errorf("batch start=-1 on crm.lead.list: total %v, next %v", totals["l"], nexts["l"])
	}
}

func checkPage(t *testing.T, body map[string]any, rows, total, next int) {
	t.Helper()
	var n int
	switch r := body["result"].(type) {
	case []any:
		n = len(r)
	case map[string]any: // crm.stagehistory.list: {"items": [...]}
		items, _ := r["items"].([]any)
		n = len(items)
	}
	if n != rows {
		t.Errorf("%d rows, want %d", n, rows)
	}
	if got, has := body["total"]; total < 0 && has || total >= 0 && got != float64(total) {
		t.Errorf("total %v, want %d", got, total)
	}
	if got, has := body["next"]; next < 0 && has || next >= 0 && got != float64(next) {
		t.Errorf("next %v, want %d", got, next)
	}
}
