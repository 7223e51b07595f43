package push_test

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/push"
)

// A parking reason quotes data (here a status code RetailCRM does not
// know); the alert escapes it, since notifications render BBCode.
func TestParkedItemAlertEscapesTheReason(t *testing.T) {
	h := newTest(t)
	const code = "[URL=https://evil.example]x[/URL]"
	h.mapping.Stages["FINAL_INVOICE"] = code
	h.movedTo("FINAL_INVOICE")
	e := h.engine(h.st, func(d *push.Deps) { d.NotifyUserIDs = []int64{7} })
	if _, err := e.Run(h.ctx, push.Options{}); err != nil {
		t.Fatal(err)
	}
	notes := h.bx.Notifications()
	if len(notes) != 1 || !strings.Contains(notes[0].Message, bitrix.EscapeMarkup(code)) || !bitrix.MarkupInert(notes[0].Message) {
		t.Fatalf("notifications %+v", notes)
	}
}

// The alert is worded in the configured locale: Russian by default.
func TestParkedItemAlertInTheLocale(t *testing.T) {
	t.Parallel()
	for locale, want := range map[string]string{
		"":   "crmsync push отложил 1 элемент; подробности: crmsync status --failed:\n- ",
		"en": "crmsync push parked 1 item(s); see crmsync status --failed:\n- ",
	} {
		h := newHarness(t)
		h.mapping.Stages["FINAL_INVOICE"] = "no-such-status"
		h.movedTo("FINAL_INVOICE")
		e := h.engine(h.st, func(d *push.Deps) { d.Locale, d.NotifyUserIDs = locale, []int64{7} })
		if _, err := e.Run(h.ctx, push.Options{}); err != nil {
			t.Fatal(err)
		}
		notes := h.bx.Notifications()
		if len(notes) != 1 || !strings.HasPrefix(notes[0].Message, want) {
			t.Errorf("locale %q: notifications %+v, want one starting %q", locale, notes, want)
		}
	}
}
