package serve

import (
	"net/url"
	"testing"
)

// FuzzParseBitrixEvent: whatever arrives at /hooks/bitrix, the parser
// neither panics nor reports an event without a name, and a form the queue
// server would send comes back with its event and token unchanged.
func FuzzParseBitrixEvent(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "event=ONCRMDEALUPDATE&data[FIELDS][ID]=7&auth[application_token]=x", "ONCRMDEALUPDATE", "tok")
	f.Add("application/json", `{"event":"ONCRMTIMELINECOMMENTADD","auth":{"application_token":"t"}}`, "e", "t")
	f.Add("application/json; charset=utf-8", `{"event":1}`, "", "")
	f.Add("", "%zz&event", "ONCRMLEADADD", "a&b=c")
	f.Fuzz(func(t *testing.T, contentType, body, event, token string) {
		if ev, ok := parseBitrixEvent(contentType, []byte(body)); ok && ev.Event == "" {
			t.Fatalf("ok without an event name: %q %q", contentType, body)
		}
		form := url.Values{"event": {event}, "data[FIELDS][ID]": {"1"}, "auth[application_token]": {token}}
		ev, ok := parseBitrixEvent("application/x-www-form-urlencoded", []byte(form.Encode()))
		if ok != (event != "") || ev.Event != event || (ok && ev.Auth.ApplicationToken != token) {
			t.Fatalf("form %q read as %+v, %v", form.Encode(), ev, ok)
		}
	})
}
