package retailcrmtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	stdsync "sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

type hookRecorder struct {
	mu   stdsync.Mutex
	got  []*http.Request
	body []string
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, r)
	h.body = append(h.body, string(b))
	h.mu.Unlock()
	if r.URL.Query().Get("fail") != "" {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (h *hookRecorder) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		l := len(h.got)
		h.mu.Unlock()
		if l >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d trigger calls, want %d", l, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTriggerCallsTheURLOnOrderChanges(t *testing.T) {
	t.Parallel()
	var h hookRecorder
	hook := httptest.NewServer(&h)
	defer hook.Close()
	s := New(t, Options{Trigger: &Trigger{URL: hook.URL + "/hooks/retailcrm/tok"}})

	o := s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Anna"}})
	h.wait(t, 1)
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerComment = "call back" }); err != nil {
		t.Fatal(err)
	}
	h.wait(t, 2)
	if err := s.UpdateOrder(o.ID, func(*retailcrm.Order) {}); err != nil { // no change: no call
		t.Fatal(err)
	}
	if err := s.DeleteOrder(o.ID); err != nil {
		t.Fatal(err)
	}
	h.wait(t, 3)
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) != 3 {
		t.Fatalf("%d calls, want 3 (create, edit, delete; none for an edit that changed nothing)", len(h.got))
	}
	for i, r := range h.got {
		if r.Method != http.MethodPost || r.URL.Path != "/hooks/retailcrm/tok" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("call %d: %s %s %s", i, r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if v, _ := url.ParseQuery(h.body[i]); v.Get("order_id") != "1" {
			t.Errorf("call %d body %q", i, h.body[i])
		}
	}
	if ok, failed, dropped := s.TriggerCalls(); ok != 3 || failed != 0 || dropped != 0 {
		t.Errorf("TriggerCalls %d %d %d", ok, failed, dropped)
	}
}

func TestTriggerGETAndFailures(t *testing.T) {
	t.Parallel()
	var h hookRecorder
	hook := httptest.NewServer(&h)
	defer hook.Close()
	s := New(t, Options{})
	s.CreateOrder(retailcrm.Order{}) // before the trigger: no call
	s.SetTrigger(&Trigger{URL: hook.URL + "/x?fail=1", Method: http.MethodGet,
		Params: func(o retailcrm.Order) url.Values { return url.Values{"number": {o.Number}} }})
	s.CreateOrder(retailcrm.Order{})
	h.wait(t, 1)
	h.mu.Lock()
	r := h.got[0]
	h.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Query().Get("number") != "2A" {
		t.Errorf("GET call: %s %s", r.Method, r.URL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, failed, _ := s.TriggerCalls(); failed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 500 answer was not counted as failed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.SetTrigger(nil)
	s.CreateOrder(retailcrm.Order{})
	time.Sleep(50 * time.Millisecond)
	if ok, failed, _ := s.TriggerCalls(); ok+failed != 1 {
		t.Errorf("calls after switching the trigger off: %d", ok+failed)
	}
}
