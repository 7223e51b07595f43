// Package bitrixtest is a strict, stateful fake Bitrix24 portal for tests:
// inbound-webhook paths, the per-portal leaky bucket, batch with PHP query
// strings and $result references, legacy string-typed rows, multifield update
// semantics, operating-time budgets and seeded fault injection.
//
// Its API has the shape of retailcrmtest's: New(t, opts) or NewServer(opts),
// Options{Seed, Now, ...}, InjectFault(Fault{Kind, Method, Count,
// Probability, Status, Delay}) with the same FaultKind names where the idea
// is the same (FaultRateLimit, FaultServerError, FaultTruncated, FaultSlow,
// FaultDrop), ClearFaults, URL and Close.
package bitrixtest

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a fake portal. Zero values give a cloud portal on a
// non-Enterprise plan: 2 requests per second drain, block above 50.
type Options struct {
	UserID int64  // webhook user, default 1
	Secret string // webhook code, default "fakesecret0123"
	Rate   float64
	Burst  int
	// Unlimited switches the leaky bucket off.
	Unlimited bool
	// Now is the fake's clock: the leaky bucket, operating time, dates it
	// writes; default time.Now. A test shares a *Clock's Now with the
	// client under test.
	Now func() time.Time
	// Seed makes probabilistic faults repeatable.
	Seed uint64
	// OperatingCost is the virtual execution time charged per call of a
	// method (seconds), OperatingLimit the budget per 10 minutes after which
	// the method answers 429 OPERATION_TIME_LIMIT.
	OperatingCost  map[string]float64
	OperatingLimit map[string]float64
	// OperatingWindow is the span the budget is counted over, kept as ten
	// buckets; default 10 minutes (b24restdocs:limits.md). A test shortens it to see a
	// method blocked and released within seconds.
	OperatingWindow time.Duration
	// CommentsLeaveActivity keeps a timeline comment from moving its
	// entity's LAST_ACTIVITY_TIME: the docs do not say a comment moves it
	// (docs/api-notes.md), so crmsync must find comments without it.
	CommentsLeaveActivity bool
	// OmitOperating leaves operating and operating_reset_at out of every
	// time object, as a portal with the limiter off does; OmitOperatingReset
	// leaves out only operating_reset_at, as some real answers do
	// (docs/api-notes.md, "Errors and operating time"). The budget still
	// applies.
	OmitOperating      bool
	OmitOperatingReset bool
	// Scopes are the webhook's scopes (the scope method lists them); a
	// method of any other scope answers 401 insufficient_scope
	// (b24restdocs:error-codes.md). Default crm, task, im, bizproc, user
	// (DefaultScopes): catalog.* needs "catalog" added. user.get also
	// runs under user_basic or user_brief, which show fewer fields
	// (user_brief: no EMAIL).
	Scopes []string
	// MissingMethods answer 404 ERROR_METHOD_NOT_FOUND, as on a portal whose
	// module is off (e.g. "tasks.task.add").
	MissingMethods []string
	// Middleware, when set, wraps the fake's HTTP handler (a benchmark
	// times the requests in flight without a proxy's extra hop).
	Middleware func(http.Handler) http.Handler
}

// Enterprise returns options of an Enterprise plan (250 / 5 per second).
func Enterprise() Options { return Options{Rate: 5, Burst: 250} }

// Server is the fake portal.
type Server struct {
	mu    sync.Mutex
	opts  Options
	clock clockSource
	rng   *rand.Rand
	ts    *httptest.Server
	old   *httptest.Server // renamed-portal redirector

	level     float64
	lastDrain time.Time
	ops       map[string]map[int64]float64 // method → minute bucket → seconds
	faults    []*Fault
	badTimes  []BadTime
	stats     Stats
	data      *store
	events    eventHub
}

// Stats count the traffic the fake saw.
type Stats struct {
	Requests          int            // HTTP requests, all methods (batch = 1)
	PerMethod         map[string]int // HTTP requests per method
	BatchCommands     int            // commands run inside batches
	CommandsPerMethod map[string]int // batch commands per method
	QueryLimit503     int            // QUERY_LIMIT_EXCEEDED answers by the bucket
	OperationLimit429 int
	// OperationLimitInBatch counts batch commands refused with
	// OPERATION_TIME_LIMIT in result_error.
	OperationLimitInBatch int
	Unauthorized          int
	FaultsInjected        int
	Redirects             int
}

// clockSource is what the fake reads the time from: Options.Now, or a
// *Clock in the package's own tests.
type clockSource interface{ Now() time.Time }

// nowFunc adapts Options.Now.
type nowFunc func() time.Time

func (f nowFunc) Now() time.Time { return f() }

// NewServer starts a fake portal; Close it when done.
func NewServer(opts Options) *Server {
	if opts.UserID == 0 {
		opts.UserID = 1
	}
	if opts.Secret == "" {
		opts.Secret = "fakesecret0123"
	}
	if opts.Rate == 0 {
		opts.Rate = 2
	}
	if opts.Burst == 0 {
		opts.Burst = 50
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Scopes == nil {
		opts.Scopes = DefaultScopes()
	}
	s := &Server{
		opts:  opts,
		clock: nowFunc(opts.Now),
		rng:   rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		ops:   map[string]map[int64]float64{},
		stats: Stats{PerMethod: map[string]int{}, CommandsPerMethod: map[string]int{}},
	}
	s.lastDrain = s.clock.Now()
	s.data = newStore(s)
	var h http.Handler = http.HandlerFunc(s.serve)
	if opts.Middleware != nil {
		h = opts.Middleware(h)
	}
	s.ts = httptest.NewServer(h)
	return s
}

// New starts a fake closed by t.Cleanup. When t can report errors (a
// *testing.T), the test fails at its end for every datetime or date sent in
// a form the documentation does not give (see BadTimes) and every value
// written to a list field that names none of its items (BadEnumValues).
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	s := NewServer(opts)
	t.Cleanup(s.Close)
	if tb, ok := t.(interface{ Errorf(string, ...any) }); ok {
		t.Cleanup(func() {
			for _, b := range s.BadTimes() {
				tb.Errorf("bitrixtest: %s", b)
			}
			for _, b := range s.BadEnumValues() {
				tb.Errorf("bitrixtest: %s", b)
			}
		})
	}
	return s
}

// Close stops the fake (and the redirector, if started).
func (s *Server) Close() {
	_ = s.WaitDeliveries(context.Background()) // they end within their client's timeout
	s.mu.Lock()
	if c := s.events.client; c != nil {
		c.CloseIdleConnections()
	}
	s.mu.Unlock()
	s.ts.Close()
	s.mu.Lock()
	old := s.old
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// URL is the portal's base URL.
func (s *Server) URL() string { return s.ts.URL }

// WebhookURL is the inbound-webhook URL with the right secret.
func (s *Server) WebhookURL() string {
	return s.ts.URL + "/rest/" + itoa(s.opts.UserID) + "/" + s.opts.Secret + "/"
}

// Secret returns the webhook code.
func (s *Server) Secret() string { return s.opts.Secret }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.PerMethod = copyCounts(s.stats.PerMethod)
	st.CommandsPerMethod = copyCounts(s.stats.CommandsPerMethod)
	return st
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SetLimits changes the leaky bucket (rate <= 0: unlimited).
func (s *Server) SetLimits(rate float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Unlimited = rate <= 0
	s.opts.Rate, s.opts.Burst = rate, burst
}

// apiErr is an error envelope with its status.
type apiErr struct {
	status int
	code   any // string, or a number for the odd legacy case
	desc   string
}

func legacyErr(desc string) *apiErr { return &apiErr{status: 400, code: "", desc: desc} }

func codeErr(status int, code, desc string) *apiErr {
	return &apiErr{status: status, code: code, desc: desc}
}

func (e *apiErr) body() map[string]any {
	return map[string]any{"error": e.code, "error_description": e.desc}
}

// result is a handler's success: the value plus list paging.
type result struct {
	value   any
	total   int
	hasTot  bool
	next    int
	hasNext bool
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	userID, secret, method, ok := splitPath(r.URL.Path)
	if !ok {
		writeJSON(w, 404, map[string]any{"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}, nil)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))

	s.mu.Lock()
	s.stats.Requests++
	s.stats.PerMethod[method]++
	start := s.clock.Now()
	if userID != itoa(s.opts.UserID) || secret != s.opts.Secret {
		s.stats.Unauthorized++
		t := s.timeObject(method, start, 0)
		s.mu.Unlock()
		// A webhook user id and code the portal does not know (a wrong or
		// regenerated secret): docs/api-notes.md, Errors and operating time.
		writeJSON(w, 401, map[string]any{"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}, t)
		return
	}
	fault := s.pickFault(method)
	if fault != nil && fault.Kind.before() {
		s.stats.FaultsInjected++
		s.mu.Unlock()
		fault.write(w)
		return
	}
	if !s.allow() {
		s.stats.QueryLimit503++
		t := s.timeObject(method, start, 0)
		s.mu.Unlock()
		writeJSON(w, 503, map[string]any{"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}, t)
		return
	}
	if e := s.checkOperating(method); e != nil {
		s.stats.OperationLimit429++
		t := s.timeObject(method, start, 0)
		s.mu.Unlock()
		writeJSON(w, e.status, e.body(), t)
		return
	}
	params, perr := readParams(r, body, method)
	if perr == nil && method == "batch" {
		params[orderKey] = cmdOrder(body, strings.Contains(r.Header.Get("Content-Type"), "application/json"), r.URL.RawQuery)
	}
	var status int
	var out map[string]any
	if perr != nil {
		status, out = perr.status, perr.body()
	} else {
		res, e := s.dispatch(method, params)
		if e != nil {
			status, out = e.status, e.body()
		} else {
			status, out = 200, map[string]any{"result": res.value}
			if res.hasTot {
				out["total"] = res.total
			}
			if res.hasNext {
				out["next"] = res.next
			}
		}
	}
	out["time"] = s.timeObject(method, start, s.charge(method))
	if fault != nil {
		s.stats.FaultsInjected++
	}
	s.mu.Unlock()

	if fault != nil {
		fault.after(r.Context(), w, status, out)
		return
	}
	writeJSON(w, status, out, nil)
}

// splitPath parses /rest/{user}/{secret}/{method}[.json].
func splitPath(p string) (user, secret, method string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) != 4 || parts[0] != "rest" {
		return "", "", "", false
	}
	method = strings.ToLower(strings.TrimSuffix(parts[3], ".json"))
	return parts[1], parts[2], method, method != ""
}

// readParams merges the query string and the body (JSON or form) as the
// portal does; crm.duplicate.findbycomm reads only a POST body.
func readParams(r *http.Request, body []byte, method string) (map[string]any, *apiErr) {
	p := map[string]any{}
	if method != "crm.duplicate.findbycomm" {
		for k, v := range ParseQuery(r.URL.RawQuery) {
			p[k] = v
		}
	}
	if r.Method != http.MethodPost || len(strings.TrimSpace(string(body))) == 0 {
		return p, nil
	}
	ct := r.Header.Get("Content-Type")
	if strings.Contains(ct, "application/json") {
		m, err := decodeJSONObject(body)
		if err != nil {
			return nil, codeErr(400, "INVALID_REQUEST", "Invalid JSON body")
		}
		for k, v := range m {
			p[k] = v
		}
		return p, nil
	}
	for k, v := range ParseQuery(string(body)) {
		p[k] = v
	}
	return p, nil
}

func decodeJSONObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func writeJSON(w http.ResponseWriter, status int, body map[string]any, t any) {
	if t != nil {
		body["time"] = t
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = 500
		b = []byte(`{"error":"INTERNAL_SERVER_ERROR","error_description":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// allow runs the leaky bucket: the level drains at Rate per second, and a
// request that would lift it above Burst is refused (and not counted).
func (s *Server) allow() bool {
	if s.opts.Unlimited || s.opts.Rate <= 0 {
		return true
	}
	now := s.clock.Now()
	if el := now.Sub(s.lastDrain).Seconds(); el > 0 {
		s.level = max(0, s.level-el*s.opts.Rate)
		s.lastDrain = now
	}
	if s.level+1 > float64(s.opts.Burst)+1e-9 {
		return false
	}
	s.level++
	return true
}

// opBuckets is how many buckets the operating window holds: one-minute
// buckets over 10 minutes on a real portal (b24restdocs:limits.md).
const opBuckets = 10

// opBucket is the span of one operating-time bucket.
func (s *Server) opBucket() time.Duration {
	if s.opts.OperatingWindow > 0 {
		return max(s.opts.OperatingWindow/opBuckets, time.Millisecond)
	}
	return time.Minute
}

// Operating time: buckets kept for the window (b24restdocs:limits.md).
func (s *Server) opSum(method string, now time.Time) (sum float64, oldest int64) {
	cur := now.UnixNano() / int64(s.opBucket())
	oldest = -1
	for minute, sec := range s.ops[method] {
		if minute <= cur-opBuckets {
			delete(s.ops[method], minute)
			continue
		}
		sum += sec
		if oldest < 0 || minute < oldest {
			oldest = minute
		}
	}
	return sum, oldest
}

func (s *Server) checkOperating(method string) *apiErr {
	limit, ok := s.opts.OperatingLimit[method]
	if !ok || limit <= 0 {
		return nil
	}
	if sum, _ := s.opSum(method, s.clock.Now()); sum >= limit {
		return codeErr(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
	}
	return nil
}

// charge books the method's cost and returns it.
func (s *Server) charge(method string) float64 {
	cost := s.opts.OperatingCost[method]
	if cost <= 0 {
		return 0
	}
	minute := s.clock.Now().UnixNano() / int64(s.opBucket())
	if s.ops[method] == nil {
		s.ops[method] = map[int64]float64{}
	}
	s.ops[method][minute] += cost
	return cost
}

func (s *Server) timeObject(method string, start time.Time, processing float64) map[string]any {
	now := s.clock.Now()
	sum, oldest := s.opSum(method, now)
	bucket := int64(s.opBucket())
	resetAt := now.Add(opBuckets * time.Duration(bucket)).Unix()
	if oldest >= 0 {
		// The portal sends whole unix seconds; round up so a client that
		// waits for it is never early.
		resetAt = ((oldest+opBuckets)*bucket + int64(time.Second) - 1) / int64(time.Second)
	}
	st := float64(start.UnixNano()) / 1e9
	fin := float64(now.UnixNano())/1e9 + processing
	t := map[string]any{
		"start": st, "finish": fin, "duration": fin - st, "processing": processing,
		"date_start": start.Format(dateTimeLayout), "date_finish": now.Format(dateTimeLayout),
		"operating_reset_at": resetAt, "operating": sum,
	}
	if s.opts.OmitOperating {
		delete(t, "operating")
	}
	if s.opts.OmitOperating || s.opts.OmitOperatingReset {
		delete(t, "operating_reset_at")
	}
	return t
}

// dispatch runs one method with s.mu held.
func (s *Server) dispatch(method string, p map[string]any) (*result, *apiErr) {
	if method == "batch" {
		return s.batch(p)
	}
	s.checkTimes(method, p)
	s.data.method = method
	h, ok := handlers[method]
	if !ok || slices.Contains(s.opts.MissingMethods, method) {
		return nil, codeErr(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
	}
	if sc := methodScope(method); sc != "" && !slices.Contains(s.opts.Scopes, sc) && !(sc == "user" && s.userScope() != "") {
		return nil, codeErr(401, "insufficient_scope", "The request requires higher privileges than provided by the webhook token")
	}
	return h(s, p)
}

// methodScope is the webhook scope a method needs ("" for scope, batch and
// the like, which every webhook may call).
func methodScope(method string) string {
	prefix, _, _ := strings.Cut(method, ".")
	switch prefix {
	case "crm", "im", "bizproc", "user", "catalog":
		return prefix
	case "tasks", "task":
		return "task"
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
