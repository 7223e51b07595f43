package bitrixtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// receiver is a handler URL that records the forms it is sent.
type receiver struct {
	mu     sync.Mutex
	forms  []url.Values
	types  []string
	status int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil || req.Method != http.MethodPost {
			t.Errorf("handler got %s %q: %v", req.Method, body, err)
		}
		r.mu.Lock()
		r.forms = append(r.forms, form)
		r.types = append(r.types, req.Header.Get("Content-Type"))
		r.mu.Unlock()
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]url.Values(nil), r.forms...)
}

func waitDeliveries(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestEventMethodsNeedApplication: on an inbound webhook the portal refuses
// event.bind, event.get and event.unbind (they work only in an
// application's context), and nothing gets bound.
func TestEventMethodsNeedApplication(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	for _, m := range []string{"event.bind", "event.get", "event.unbind"} {
		a := call(t, s, m, map[string]any{"event": "ONCRMDEALUPDATE", "handler": "https://crmsync.example.com/hooks/bitrix"})
		if a.status != 403 || a.body["error"] != "WRONG_AUTH_TYPE" {
			t.Errorf("%s: %d %s, want 403 WRONG_AUTH_TYPE", m, a.status, a.errText())
		}
	}
	if h := s.EventHandlers(); len(h) != 0 {
		t.Errorf("bound: %v", h)
	}
}

// TestEventBindInApplicationContext: event.bind as documented: required
// parameters, unknown events refused, a second bind of the same handler
// refused, event.get lists the bindings, event.unbind counts what it removed.
func TestEventBindInApplicationContext(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	s.ActAsApplication("apptoken0123")
	h := "https://crmsync.example.com/hooks/bitrix"
	for _, tc := range []struct {
		name   string
		params map[string]any
		status int
		code   string
	}{
		{"bind", map[string]any{"event": "OnCrmDealUpdate", "handler": h}, 200, ""},
		{"again", map[string]any{"event": "ONCRMDEALUPDATE", "handler": h}, 400, "ERROR_CORE"},
		{"comment", map[string]any{"EVENT": "ONCRMTIMELINECOMMENTADD", "HANDLER": h}, 200, ""},
		{"unknown event", map[string]any{"event": "ONCRMNOSUCHTHING", "handler": h}, 400, "ERROR_EVENT_NOT_FOUND"},
		{"no handler", map[string]any{"event": "ONCRMDEALUPDATE"}, 400, "ERROR_REQUIRED_PARAMETERS_MISSING"},
	} {
		a := call(t, s, "event.bind", tc.params)
		if a.status != tc.status || (tc.code != "" && a.body["error"] != tc.code) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.status, a.errText(), tc.status, tc.code)
		}
	}
	list, _ := mustOK(t, call(t, s, "event.get", nil)).([]any)
	if len(list) != 2 {
		t.Fatalf("event.get: %v", list)
	}
	first, _ := list[0].(map[string]any)
	if first["event"] != "ONCRMDEALUPDATE" || first["handler"] != h || first["auth_type"] != "0" {
		t.Errorf("event.get: %v", first)
	}
	res, _ := mustOK(t, call(t, s, "event.unbind", map[string]any{"event": "ONCRMDEALUPDATE", "handler": h})).(map[string]any)
	if res["count"] != json.Number("1") {
		t.Errorf("event.unbind: %v", res)
	}
	if got := s.EventHandlers(); len(got) != 1 || got[0].Event != "ONCRMTIMELINECOMMENTADD" || !got[0].Bound {
		t.Errorf("after unbind: %v", got)
	}
}

// TestOutboundEventsDelivered: a deal changed through the API or by a person
// and a timeline comment written by anyone reach every handler bound to the
// event, later (from the queue), as the documented form with the token;
// events nobody subscribed to are not sent.
func TestOutboundEventsDelivered(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	s.SeedStage("DEAL_STAGE", "NEW", "New", "", 10)
	s.SeedStage("DEAL_STAGE", "WON", "Won", "S", 20)
	deal := s.SeedDeal(map[string]any{"TITLE": "Order 1", "STAGE_ID": "NEW"})
	contact := s.SeedContact(map[string]any{"NAME": "Anna"})
	r := newReceiver(t, 200)
	token := s.AddOutboundWebhook(r.srv.URL+"/hooks/bitrix", "ONCRMDEALUPDATE", "ONCRMTIMELINECOMMENTADD")
	if len(token) < 16 {
		t.Fatalf("token %q", token)
	}

	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"TITLE": "Order 1a"}}))
	if err := s.MoveDeal(deal, "WON", 7); err != nil {
		t.Fatal(err)
	}
	comment := s.AddComment("deal", deal, 7, "Call the customer")
	mustOK(t, call(t, s, "crm.contact.update", map[string]any{"id": contact, "fields": map[string]any{"NAME": "Anne"}}))
	waitDeliveries(t, s)

	got := r.got()
	if len(got) != 3 {
		t.Fatalf("%d deliveries, want 3: %v", len(got), got)
	}
	byEvent := map[string][]url.Values{}
	for _, f := range got {
		byEvent[f.Get("event")] = append(byEvent[f.Get("event")], f)
		if f.Get("auth[application_token]") != token || f.Get("auth[domain]") == "" || f.Get("auth[member_id]") == "" || f.Get("event_handler_id") == "" {
			t.Errorf("auth: %v", f)
		}
		if ts, err := strconv.ParseInt(f.Get("ts"), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("ts %q", f.Get("ts"))
		}
	}
	for _, f := range byEvent["ONCRMDEALUPDATE"] {
		if f.Get("data[FIELDS][ID]") != strconv.FormatInt(deal, 10) {
			t.Errorf("deal update: %v", f)
		}
	}
	if len(byEvent["ONCRMDEALUPDATE"]) != 2 || len(byEvent["ONCRMTIMELINECOMMENTADD"]) != 1 ||
		byEvent["ONCRMTIMELINECOMMENTADD"][0].Get("data[ID]") != strconv.FormatInt(comment, 10) {
		t.Errorf("events: %v", byEvent)
	}
	for _, ct := range r.types {
		if ct != "application/x-www-form-urlencoded" {
			t.Errorf("content type %q", ct)
		}
	}
	for _, d := range s.Deliveries() {
		if d.Status != 200 || d.Err != nil {
			t.Errorf("delivery: %+v", d)
		}
	}
}

// TestOutboundEventsToBoundAndFailingHandlers: handlers bound with
// event.bind get the application's token; a handler that answers 500 or
// is gone is recorded as such and holds nothing up.
func TestOutboundEventsToBoundAndFailingHandlers(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	deal := s.SeedDeal(map[string]any{"TITLE": "Order 2"})
	ok, failing := newReceiver(t, 200), newReceiver(t, 500)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	s.ActAsApplication("apptoken0123")
	for _, h := range []string{ok.srv.URL, failing.srv.URL, gone.URL} {
		mustOK(t, call(t, s, "event.bind", map[string]any{"event": "ONCRMTIMELINECOMMENTADD", "handler": h}))
	}
	mustOK(t, call(t, s, "crm.timeline.comment.add", map[string]any{"fields": map[string]any{"ENTITY_TYPE": "deal", "ENTITY_ID": deal, "COMMENT": "hi"}}))
	waitDeliveries(t, s)
	if got := ok.got(); len(got) != 1 || got[0].Get("auth[application_token]") != "apptoken0123" {
		t.Errorf("bound handler got %v", got)
	}
	status := map[string]int{}
	errs := 0
	for _, d := range s.Deliveries() {
		status[d.Handler] = d.Status
		if d.Err != nil {
			errs++
		}
	}
	if status[ok.srv.URL] != 200 || status[failing.srv.URL] != 500 || status[gone.URL] != 0 || errs != 1 {
		t.Errorf("deliveries: %+v", s.Deliveries())
	}
}
