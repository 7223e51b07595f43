package bitrixtest

import (
	"testing"
	"time"
)

// The fake stores a comment's text as a portal may: line ends as \n, no
// whitespace at either end; and, with CommentsLeaveActivity, a comment
// leaves the deal's LAST_ACTIVITY_TIME alone.
func TestCommentsKeepPortalWhitespaceAndActivity(t *testing.T) {
	t.Parallel()
	for _, quiet := range []bool{false, true} {
		clock := NewClock(time.Time{})
		s := New(t, Options{Unlimited: true, Now: clock.Now, CommentsLeaveActivity: quiet})
		deal := s.SeedDeal(map[string]any{"TITLE": "d"})
		before := s.Deals()[0].Str("LAST_ACTIVITY_TIME")
		clock.Advance(time.Hour)
		code, body := post(t, s.WebhookURL()+"crm.timeline.comment.add", map[string]any{"fields": map[string]any{
			"ENTITY_TYPE": "deal", "ENTITY_ID": deal, "COMMENT": "  Call first\r\nthen ship \r\n"}})
		if code != 200 {
			t.Fatalf("add: %d %v", code, body)
		}
		_, body = post(t, s.WebhookURL()+"crm.timeline.comment.list", map[string]any{
			"filter": map[string]any{"ENTITY_TYPE": "deal", "ENTITY_ID": deal}, "select": []string{"ID", "COMMENT"}})
		rows, _ := body["result"].([]any)
		if len(rows) != 1 {
			t.Fatalf("list: %v", body)
		}
		if got := rows[0].(map[string]any)["COMMENT"]; got != "Call first\nthen ship" {
			t.Errorf("stored comment %q", got)
		}
		after := s.Deals()[0].Str("LAST_ACTIVITY_TIME")
		if moved := after != before; moved == quiet {
			t.Errorf("CommentsLeaveActivity %v: LAST_ACTIVITY_TIME %q → %q", quiet, before, after)
		}
	}
}
