package bitrixtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Outbound events (docs/api-notes.md, "Events and outbound webhooks"): when
// a deal, lead, contact or company is added or updated, a deal deleted or a
// timeline comment added — through the API or by a person (MoveDeal,
// DeleteDeal, AddComment) — the portal POSTs a form to every handler bound
// to the event, from its queue, some time later:
//
//	event=ONCRMDEALUPDATE&event_handler_id=1&data[FIELDS][ID]=759&ts=1736405807
//	&auth[domain]=…&auth[client_endpoint]=…&auth[server_endpoint]=…
//	&auth[member_id]=…&auth[application_token]=…
//
// (onCrmTimelineCommentAdd carries data[ID], the comment's id.) Handlers
// come from two places: an outbound webhook an administrator creates in
// Developer resources (AddOutboundWebhook), and event.bind, which the docs
// allow only in an application's context: on an inbound webhook, event.bind,
// event.get and event.unbind answer 403 WRONG_AUTH_TYPE, unless the test
// calls ActAsApplication.

// eventHub is the fake's event queue and its bound handlers; guarded by
// Server.mu.
type eventHub struct {
	app      bool   // the webhook acts in an application's context
	appToken string // that application's token
	memberID string
	handlers []*boundHandler
	nextID   int64
	// deliveries are the finished POSTs, in the order they ended.
	deliveries []Delivery
	// pending counts the deliveries still on their way.
	pending int
	client  *http.Client
}

type boundHandler struct {
	id      int64
	event   string // upper case
	handler string
	token   string
	bound   bool // by event.bind (listed by event.get), else an outbound webhook
}

// Delivery is one POST the fake sent to a handler.
type Delivery struct {
	Event   string
	Handler string
	// Form is the body as sent (application/x-www-form-urlencoded).
	Form url.Values
	// Status is the handler's HTTP answer, 0 when none came (Err).
	Status int
	Err    error
}

// EventHandler is a handler bound on the fake portal.
type EventHandler struct {
	ID      int64
	Event   string
	Handler string
	// Bound is true for a handler bound by event.bind, false for an
	// outbound webhook.
	Bound bool
}

// knownEvents are the events the fake sends; event.bind refuses others as
// the portal refuses an unknown one (ERROR_EVENT_NOT_FOUND).
var knownEvents = []string{
	"ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE",
	"ONCRMLEADADD", "ONCRMLEADUPDATE",
	"ONCRMCONTACTADD", "ONCRMCONTACTUPDATE",
	"ONCRMCOMPANYADD", "ONCRMCOMPANYUPDATE",
	"ONCRMTIMELINECOMMENTADD",
}

func (h *eventHub) init() {
	if h.client == nil {
		h.client = &http.Client{Timeout: 10 * time.Second}
	}
}

// AddOutboundWebhook acts as an administrator creating an outbound webhook
// (Developer resources → Outbound webhook) for handler and events, and
// returns the token the portal shows for it: every event's form carries it
// as auth[application_token].
func (s *Server) AddOutboundWebhook(handler string, events ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events.init()
	token := fmt.Sprintf("%016x%016x", s.rng.Uint64(), s.rng.Uint64())
	for _, e := range events {
		s.events.nextID++
		s.events.handlers = append(s.events.handlers, &boundHandler{id: s.events.nextID, event: strings.ToUpper(e), handler: handler, token: token})
	}
	return token
}

// ActAsApplication makes the webhook's calls run in the context of an
// installed application whose token is appToken: event.bind, event.get and
// event.unbind then work, and the handlers they bind receive appToken. The
// real portal gives that context only to OAuth calls of an application,
// never to an inbound webhook; a test uses it to cover a client that has it.
func (s *Server) ActAsApplication(appToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events.init()
	s.events.app, s.events.appToken = true, appToken
}

// EventHandlers lists the bound handlers, both kinds.
func (s *Server) EventHandlers() []EventHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EventHandler, 0, len(s.events.handlers))
	for _, h := range s.events.handlers {
		out = append(out, EventHandler{ID: h.id, Event: h.event, Handler: h.handler, Bound: h.bound})
	}
	return out
}

// WaitDeliveries waits until every event raised so far has reached its
// handlers (or failed to), or ctx ends.
func (s *Server) WaitDeliveries(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := s.events.pending
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("bitrixtest: %d event deliveries still on their way: %w", n, ctx.Err())
		}
	}
}

// Deliveries returns the finished deliveries in the order they ended.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events.deliveries)
}

// emit queues event for every handler bound to it; s.mu is held. The POSTs
// go out from goroutines of their own, as the portal sends them from its
// queue server after the change is written.
func (s *Server) emit(event string, data url.Values) {
	if len(s.events.handlers) == 0 {
		return
	}
	base, _ := url.Parse(s.ts.URL)
	if s.events.memberID == "" {
		s.events.memberID = fmt.Sprintf("%016x%016x", s.rng.Uint64(), s.rng.Uint64())
	}
	for _, h := range s.events.handlers {
		if h.event != event {
			continue
		}
		form := url.Values{}
		form.Set("event", event)
		form.Set("event_handler_id", strconv.FormatInt(h.id, 10))
		for k, v := range data {
			form[k] = slices.Clone(v)
		}
		form.Set("ts", strconv.FormatInt(s.clock.Now().Unix(), 10))
		form.Set("auth[domain]", base.Host)
		form.Set("auth[client_endpoint]", s.ts.URL+"/rest/")
		form.Set("auth[server_endpoint]", "https://oauth.bitrix.info/rest/")
		form.Set("auth[member_id]", s.events.memberID)
		form.Set("auth[application_token]", h.token)
		s.events.pending++
		go s.deliver(h.handler, event, form)
	}
}

func (s *Server) deliver(handler, event string, form url.Values) {
	d := Delivery{Event: event, Handler: handler, Form: form}
	req, err := http.NewRequest(http.MethodPost, handler, bytes.NewBufferString(form.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var resp *http.Response
		resp, err = s.events.client.Do(req)
		if err == nil {
			d.Status = resp.StatusCode
			resp.Body.Close()
		}
	}
	d.Err = err
	s.mu.Lock()
	s.events.deliveries = append(s.events.deliveries, d)
	s.events.pending--
	s.mu.Unlock()
}

// fieldsID is a CRM entity event's data: data[FIELDS][ID].
func fieldsID(id int64) url.Values {
	return url.Values{"data[FIELDS][ID]": {strconv.FormatInt(id, 10)}}
}

// errWrongAuthType is the portal's answer to a method that needs an
// application's context, called with an inbound webhook (the code and
// status as documented for such methods; the wording for event.* is
// UNCONFIRMED, docs/api-notes.md).
func errWrongAuthType() *apiErr {
	return codeErr(403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")
}

func registerEventHandlers() {
	handlers["event.bind"] = appOnly((*Server).eventBind)
	handlers["event.get"] = appOnly((*Server).eventGet)
	handlers["event.unbind"] = appOnly((*Server).eventUnbind)
}

// appOnly answers a method that needs an application's context with
// WRONG_AUTH_TYPE unless the portal plays one (an inbound webhook is not).
func appOnly(h handler) handler {
	return func(s *Server, p map[string]any) (*result, *apiErr) {
		if !s.events.app {
			return nil, errWrongAuthType()
		}
		return h(s, p)
	}
}

// eventParams reads the event (upper case) and handler parameters of
// event.bind and event.unbind, "" where left out.
func eventParams(p map[string]any) (event, handler string) {
	ev, _ := getCI(p, "event")
	hd, _ := getCI(p, "handler")
	return strings.ToUpper(strings.TrimSpace(Str(ev))), strings.TrimSpace(Str(hd))
}

func (s *Server) eventBind(p map[string]any) (*result, *apiErr) {
	event, handler := eventParams(p)
	if event == "" || handler == "" {
		return nil, codeErr(400, "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameters missing")
	}
	if t, _ := getCI(p, "event_type"); strings.EqualFold(Str(t), "offline") {
		return nil, codeErr(400, "ERROR_CORE", "bitrixtest: offline events are not supported")
	}
	if !slices.Contains(knownEvents, event) {
		return nil, codeErr(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
	}
	for _, h := range s.events.handlers {
		if h.bound && h.event == event && h.handler == handler {
			return nil, codeErr(400, "ERROR_CORE", "Handler already binded")
		}
	}
	s.events.nextID++
	s.events.handlers = append(s.events.handlers, &boundHandler{id: s.events.nextID, event: event, handler: handler, token: s.events.appToken, bound: true})
	return ok(true)
}

func (s *Server) eventGet(map[string]any) (*result, *apiErr) {
	out := []any{}
	for _, h := range s.events.handlers {
		if h.bound {
			out = append(out, map[string]any{"event": h.event, "handler": h.handler, "auth_type": "0", "offline": 0})
		}
	}
	return ok(out)
}

// eventUnbind removes the application's handlers matching the parameters
// given; a parameter left out matches every handler (event-unbind.md).
func (s *Server) eventUnbind(p map[string]any) (*result, *apiErr) {
	event, handler := eventParams(p)
	n := 0
	s.events.handlers = slices.DeleteFunc(s.events.handlers, func(h *boundHandler) bool {
		del := h.bound && (event == "" || h.event == event) && (handler == "" || h.handler == handler)
		if del {
			n++
		}
		return del
	})
	return ok(map[string]any{"count": n})
}
