package retailcrmtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"golang.org/x/time/rate"
)

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	opts   Options
	loc    *time.Location
	closed chan struct{}
	once   sync.Once

	mu sync.Mutex
	// state
	orders       map[int64]*retailcrm.Order
	index        orderIndex // the orders' list keys, in id order
	byExternal   idLists    // order ids by externalId
	customers    map[int64]*retailcrm.Customer
	orderHist    histLog
	custHist     histLog
	nextOrderID  int64
	nextCustID   int64
	statuses     map[string]retailcrm.Status
	groups       map[string]retailcrm.StatusGroup
	methods      map[string]retailcrm.OrderMethod
	deliveries   map[string]retailcrm.DeliveryType
	paymentTypes map[string]retailcrm.PaymentType
	products     map[string]retailcrm.ProductStatus
	sites        map[string]retailcrm.Site
	scopes       []string
	siteAccess   string
	sitesAvail   []string

	// ids of order lines and payments, account-wide
	nextLineID, nextPaymentID int64
	// paymentStatuses say which payments count as paid (paymentComplete).
	paymentStatuses map[string]retailcrm.PaymentStatus
	orderTypes      map[string]retailcrm.OrderType
	// users, corporate customers, merges (people.go)
	people peopleState
	// traffic
	counts map[string]int
	total  int
	log    []Request
	faults []*Fault
	served map[FaultKind]int
	rng    *rand.Rand
	// the trigger (trigger.go)
	trigger                                  *Trigger
	triggerCh                                chan triggerCall
	triggerDone                              chan struct{}
	triggerOK, triggerFailed, triggerDropped int
	limiter                                  *rate.Limiter
}

// Request is one request as the fake received it.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values
	Header http.Header
}

// NewServer starts a fake; call Close when done.
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	loc, err := time.LoadLocation(opts.Timezone)
	if err != nil {
		panic(fmt.Sprintf("retailcrmtest: time zone %q: %v", opts.Timezone, err))
	}
	s := &Server{
		opts:         opts,
		loc:          loc,
		closed:       make(chan struct{}),
		orders:       map[int64]*retailcrm.Order{},
		byExternal:   idLists{},
		customers:    map[int64]*retailcrm.Customer{},
		nextOrderID:  1,
		nextCustID:   1,
		orderHist:    newHistLog(),
		custHist:     newHistLog(),
		statuses:     map[string]retailcrm.Status{},
		groups:       map[string]retailcrm.StatusGroup{},
		methods:      map[string]retailcrm.OrderMethod{},
		deliveries:   map[string]retailcrm.DeliveryType{},
		paymentTypes: map[string]retailcrm.PaymentType{},
		products:     map[string]retailcrm.ProductStatus{},
		sites:        map[string]retailcrm.Site{},
		scopes:       append([]string(nil), opts.Scopes...),
		siteAccess:   retailcrm.SiteAccessFull,
		sitesAvail:   append([]string(nil), opts.Sites...),
		counts:       map[string]int{},
		served:       map[FaultKind]int{},
		rng:          rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
	s.nextLineID, s.nextPaymentID = 1, 1
	s.paymentStatuses = map[string]retailcrm.PaymentStatus{}
	s.orderTypes = map[string]retailcrm.OrderType{}
	s.people = newPeopleState()
	if opts.RPS > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.RPS), max(1, int(opts.RPS)))
	}
	s.seedReferences()
	var h http.Handler = http.HandlerFunc(s.serveHTTP)
	if opts.Middleware != nil {
		h = opts.Middleware(h)
	}
	s.srv = httptest.NewServer(h)
	if opts.Trigger != nil {
		s.SetTrigger(opts.Trigger)
	}
	return s
}

// New starts a fake that is closed when t ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// URL is the base URL to give the client (no /api suffix).
func (s *Server) URL() string { return s.srv.URL }

// APIKey is the key the fake expects.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Location is the account time zone.
func (s *Server) Location() *time.Location { return s.loc }

// Close stops the server; slow answers in flight end at once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.mu.Lock()
		done := s.triggerDone
		s.mu.Unlock()
		if done != nil {
			<-done
		}
	})
}

// Requests returns how many requests reached path (e.g.
// "/api/v5/orders/history"), faulted ones included. Edit calls of every
// order count under "/api/v5/orders/{id}/edit" and single-order reads under
// "/api/v5/orders/{id}".
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// TotalRequests returns the number of requests received.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RequestLog returns a copy of every request received, in order.
func (s *Server) RequestLog() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	copy(out, s.log)
	return out
}

// ResetCounters clears the request counters and log.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.total = 0
	s.log = nil
}

// counterKey folds per-order paths into one counter.
func counterKey(path string) string {
	if id, tail, ok := orderPath(path); ok && id != "" && id != "statuses" && id != "history" {
		if tail == "/edit" {
			return "/api/v5/orders/{id}/edit"
		}
		if tail == "" {
			return "/api/v5/orders/{id}"
		}
	}
	if id, ok := strings.CutPrefix(path, usersPrefix); ok && id != "" && !strings.Contains(id, "/") {
		return "/api/v5/users/{id}"
	}
	if rest, ok := strings.CutPrefix(path, corporatePrefix); ok && strings.HasSuffix(rest, "/companies") {
		return "/api/v5/customers-corporate/{id}/companies"
	}
	return path
}

func (s *Server) record(r *http.Request) {
	_ = r.ParseForm() // fills PostForm for form bodies; errors show up in handlers
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.counts[r.URL.Path]++
	if k := counterKey(r.URL.Path); k != r.URL.Path {
		s.counts[k]++
	}
	s.log = append(s.log, Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  cloneValues(r.URL.Query()),
		Form:   cloneValues(r.PostForm),
		Header: r.Header.Clone(),
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"success":false,"errorMsg":"fake: encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string, errs map[string]string) {
	body := map[string]any{"success": false, "errorMsg": msg}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}
