package retailcrmtest

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// Trigger is a RetailCRM trigger on the "order changed" event whose action
// is "send an HTTP request" (docs/api-notes.md, "Triggers with an HTTP
// action"): the administrator picks the URL, the HTTP method and the request
// parameters, each parameter's value a template over the order. The fake calls URL after
// every change to an order (created, edited by a manager, another
// integration or the API, deleted), from a queue of its own, as the service
// runs triggers after the change is saved. UNCONFIRMED: whether a change
// made through the API by the calling integration's own key fires triggers
// (the fake fires them; a trigger's condition can exclude them), and how a
// POST carries the parameters (the fake sends them form-encoded).
type Trigger struct {
	URL string
	// Method is GET or POST (default); GET puts the parameters in the query.
	Method string
	// Params are the request parameters for an order; default
	// order_id={{ order.id }}.
	Params func(o retailcrm.Order) url.Values
}

// triggerQueue is the calls waiting for delivery; when full a call is
// dropped (a trigger's call may be lost; polling makes up for it).
const triggerQueue = 1024

type triggerCall struct {
	t     Trigger
	order retailcrm.Order
}

// SetTrigger switches the trigger on (nil: off) from now on.
func (s *Server) SetTrigger(t *Trigger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trigger = t
	if t != nil && s.triggerCh == nil {
		s.triggerCh = make(chan triggerCall, triggerQueue)
		s.triggerDone = make(chan struct{})
		go s.deliverTriggers(s.triggerCh, s.triggerDone)
	}
}

// TriggerCalls reports the trigger's calls: answered 2xx, failed (another
// answer or no answer) and dropped from a full queue.
func (s *Server) TriggerCalls() (ok, failed, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.triggerOK, s.triggerFailed, s.triggerDropped
}

// fireTriggerLocked queues the trigger's call for order o.
func (s *Server) fireTriggerLocked(o *retailcrm.Order) {
	if s.trigger == nil {
		return
	}
	select {
	case s.triggerCh <- triggerCall{t: *s.trigger, order: *cloneOrder(o)}:
	default:
		s.triggerDropped++
	}
}

func (s *Server) deliverTriggers(ch <-chan triggerCall, done chan<- struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closed
		cancel()
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-s.closed:
			return
		case c := <-ch:
			ok := callTrigger(ctx, client, c)
			s.mu.Lock()
			if ok {
				s.triggerOK++
			} else {
				s.triggerFailed++
			}
			s.mu.Unlock()
		}
	}
}

func callTrigger(ctx context.Context, client *http.Client, c triggerCall) bool {
	params := url.Values{"order_id": {strconv.FormatInt(c.order.ID, 10)}}
	if c.t.Params != nil {
		params = c.t.Params(c.order)
	}
	method, target := c.t.Method, c.t.URL
	var body *strings.Reader
	if method == "" {
		method = http.MethodPost
	}
	if method == http.MethodGet {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + params.Encode()
		body = strings.NewReader("")
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return false
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
