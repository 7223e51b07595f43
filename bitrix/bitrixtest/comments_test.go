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

// Writes through the webhook are stamped with its user: an update as the
// deal's MODIFY_BY_ID, a comment and a stage move as its LAST_ACTIVITY_BY;
// a person's comment makes the person the last actor. Push leaves out
// deals whose last actor is the webhook user.
func TestWritesStampTheWebhookUser(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Time{})
	s := New(t, Options{Unlimited: true, Now: clock.Now, UserID: 3})
	deal := s.SeedDeal(map[string]any{"TITLE": "d", "STAGE_ID": "NEW"})
	if err := s.MoveDeal(deal, "PREPARATION", 7); err != nil {
		t.Fatal(err)
	}
	s.AddComment("deal", deal, 7, "Call first")
	field := func(name string) string {
		row, _ := s.Deal(deal)
		return row.Str(name)
	}
	if by, act := field("MODIFY_BY_ID"), field("LAST_ACTIVITY_BY"); by != "7" || act != "7" {
		t.Fatalf("after a person's move and comment MODIFY_BY_ID %q, LAST_ACTIVITY_BY %q; want 7 and 7", by, act)
	}
	clock.Advance(time.Minute)
	if code, body := post(t, s.WebhookURL()+"crm.deal.update", map[string]any{"id": deal,
		"fields": map[string]any{"TITLE": "d2"}}); code != 200 {
		t.Fatalf("update: %d %v", code, body)
	}
	if by, act := field("MODIFY_BY_ID"), field("LAST_ACTIVITY_BY"); by != "3" || act != "7" {
		t.Errorf("after a title update MODIFY_BY_ID %q, LAST_ACTIVITY_BY %q; want 3 and 7", by, act)
	}
	if code, body := post(t, s.WebhookURL()+"crm.deal.update", map[string]any{"id": deal,
		"fields": map[string]any{"STAGE_ID": "WON"}}); code != 200 {
		t.Fatalf("update: %d %v", code, body)
	}
	if act := field("LAST_ACTIVITY_BY"); act != "3" {
		t.Errorf("after a stage move LAST_ACTIVITY_BY %q, want 3", act)
	}
}
