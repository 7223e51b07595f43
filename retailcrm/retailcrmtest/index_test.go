package retailcrmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/retailcrm"
)

// The index tests drive a fake with random creates (explicit and taken
// ids, odd and unparsable createdAt values, shared externalIds), manager
// and API edits, deletes, customer changes, store access changes and a
// clock that sometimes goes back, and answer random requests both through
// the handlers (indexes, blocks, binary searches) and by the brute force the
// fake used before it had indexes: every order or record read, every date
// parsed. The two answers must be the same bytes.

var (
	testSites = []string{"shop", "outlet", "third"}
	// createdAt values: both layouts, a fraction of a second (Go's parser
	// takes one), an ambiguous and a skipped local time (Europe/Berlin's
	// DST changes), and values that do not parse.
	createdPool = []string{
		"", "2024-03-01 10:00:00", "2024-03-01 23:59:59", "2024-03-02 00:00:00", "2024-03-02",
		"2024-03-02 12:30:00", "2024-03-03 08:00:00.250", "2024-03-03 08:00:00", "2024-03-03",
		"2024-10-27 02:30:00", "2024-03-31 02:30:00", "2023-12-31 23:59:59", "garbage", "2024-13-45 00:00:00", "2024-03-0",
	}
	// bounds of createdAtFrom/To and startDate/endDate.
	boundPool = []string{
		"2024-03-01 10:00:00", "2024-03-01", "2024-03-02", "2024-03-02 00:00:00", "2024-03-02 12:30:00",
		"2024-03-03 08:00:00", "2024-03-03 08:00:00.1", "2024-03-03", "2024-10-27 02:30:00", "2024-10-27",
		"2024-03-31", "2023-01-01", "2030-01-01", "2024-03-01 10:00:03", "2024-03-01 10:00:10", "nope",
	}
	externalPool = []string{"", "", "web-1", "web-2", "web-3", "a b", "web-1/x"}
	clockStart   = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
)

func rawDate(s string) retailcrm.DateTime {
	var d retailcrm.DateTime
	if err := json.Unmarshal([]byte(strconv.Quote(s)), &d); err != nil {
		panic(err)
	}
	return d
}

// world is a fake under test with its clock.
type world struct {
	s   *Server
	now time.Time
}

func newWorld(t *rapid.T) *world {
	w := &world{now: clockStart}
	w.s = NewServer(Options{Sites: testSites, Timezone: "Europe/Berlin", Now: func() time.Time { return w.now }})
	w.s.index.split = rapid.IntRange(2, 9).Draw(t, "split")
	return w
}

// serve answers r through the handlers, as a client would get it.
func (w *world) serve(r *http.Request) (int, string) {
	rec := httptest.NewRecorder()
	w.s.serveHTTP(rec, r)
	return rec.Code, rec.Body.String()
}

// reference answers r by brute force.
func (w *world) reference(r *http.Request, ref func(http.ResponseWriter, *http.Request, string)) (int, string) {
	rec := httptest.NewRecorder()
	ref(rec, r, w.s.APIKey())
	return rec.Code, rec.Body.String()
}

func (w *world) get(path string, q url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
	r.Header.Set("X-API-KEY", w.s.APIKey())
	return r
}

func (w *world) orderIDs() []int64 {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	ids := make([]int64, 0, len(w.s.orders))
	for id := range w.s.orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (w *world) drawOrderID(t *rapid.T, label string) int64 {
	ids := w.orderIDs()
	if len(ids) == 0 || rapid.IntRange(0, 9).Draw(t, label+"-missing") == 0 {
		return rapid.Int64Range(0, 400).Draw(t, label+"-any")
	}
	return rapid.SampledFrom(ids).Draw(t, label)
}

// step makes one random change.
func (w *world) step(t *rapid.T) {
	s := w.s
	switch rapid.IntRange(0, 11).Draw(t, "op") {
	case 0, 1, 2, 3:
		o := retailcrm.Order{
			ExternalID: rapid.SampledFrom(externalPool).Draw(t, "ext"),
			Site:       rapid.SampledFrom(testSites).Draw(t, "site"),
			CreatedAt:  rawDate(rapid.SampledFrom(createdPool).Draw(t, "created")),
		}
		if rapid.Bool().Draw(t, "explicit-id") {
			o.ID = rapid.Int64Range(1, 300).Draw(t, "id")
		}
		if rapid.Bool().Draw(t, "with-customer") {
			o.Customer = &retailcrm.Customer{ID: rapid.Int64Range(0, 5).Draw(t, "customer"), FirstName: "A"}
		}
		if rapid.Bool().Draw(t, "by-user") {
			s.CreateOrderByUser(o)
		} else {
			s.CreateOrder(o)
		}
	case 4, 5:
		id := w.drawOrderID(t, "update")
		created := rapid.SampledFrom(createdPool).Draw(t, "new-created")
		site := rapid.SampledFrom(append([]string{""}, testSites...)).Draw(t, "new-site")
		ext := rapid.SampledFrom(externalPool).Draw(t, "new-ext")
		what := rapid.IntRange(0, 4).Draw(t, "what")
		status := rapid.SampledFrom([]string{"new", "complete", "assembling"}).Draw(t, "status")
		_ = s.UpdateOrderBy(rapid.SampledFrom([]string{retailcrm.SourceUser, retailcrm.SourceAPI, "code"}).Draw(t, "source"), id, func(o *retailcrm.Order) {
			switch what {
			case 0:
				o.CreatedAt = rawDate(created)
			case 1:
				o.Site = site
			case 2:
				o.ExternalID = ext
			case 3:
				o.Status = status
			}
			o.ManagerComment += "x"
		})
	case 6:
		id := w.drawOrderID(t, "edit")
		form := url.Values{"by": {"id"}, "site": {rapid.SampledFrom(testSites).Draw(t, "edit-site")},
			"order": {fmt.Sprintf(`{"status":%q,"managerComment":"c%d"}`, rapid.SampledFrom([]string{"new", "complete"}).Draw(t, "edit-status"), id)}}
		r := httptest.NewRequest(http.MethodPost, "/api/v5/orders/"+strconv.FormatInt(id, 10)+"/edit", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-API-KEY", s.APIKey())
		w.serve(r)
	case 7:
		_ = s.DeleteOrder(w.drawOrderID(t, "delete"))
	case 8:
		if rapid.Bool().Draw(t, "add-customer") {
			s.AddCustomer(retailcrm.Customer{FirstName: "C", Site: rapid.SampledFrom(testSites).Draw(t, "customer-site")})
		} else {
			name := rapid.SampledFrom([]string{"B", "C", "D"}).Draw(t, "name")
			_ = s.UpdateCustomer(rapid.Int64Range(1, 6).Draw(t, "update-customer"), func(c *retailcrm.Customer) { c.FirstName = name })
		}
	case 9:
		if rapid.Bool().Draw(t, "selective") {
			avail := rapid.SliceOfDistinct(rapid.SampledFrom(testSites), func(s string) string { return s }).Draw(t, "avail")
			s.SetCredentials(Options{}.withDefaults().Scopes, retailcrm.SiteAccessSelective, avail)
		} else {
			s.SetCredentials(Options{}.withDefaults().Scopes, retailcrm.SiteAccessFull, nil)
		}
	case 10, 11:
		// Mostly forward; now and then back, so history dates are out of
		// order and the window falls back to a scan.
		d := time.Duration(rapid.IntRange(-3, 40).Draw(t, "tick")) * time.Second
		if d < 0 && rapid.IntRange(0, 4).Draw(t, "back") != 0 {
			d = -d
		}
		w.now = w.now.Add(d)
	}
}

// drawOrdersQuery is a random /api/v5/orders query.
func drawOrdersQuery(t *rapid.T, w *world) url.Values {
	q := url.Values{}
	if rapid.IntRange(0, 3).Draw(t, "has-ids") == 0 {
		for range rapid.IntRange(1, 12).Draw(t, "n-ids") {
			q.Add("filter[ids][]", strconv.FormatInt(w.drawOrderID(t, "qid"), 10))
		}
		if rapid.IntRange(0, 20).Draw(t, "bad-id") == 0 {
			q.Add("filter[ids][]", "x")
		}
	}
	for _, site := range rapid.SliceOfN(rapid.SampledFrom(append(testSites, "elsewhere")), 0, 3).Draw(t, "sites") {
		q.Add("filter[sites][]", site)
	}
	if rapid.Bool().Draw(t, "has-from") {
		q.Set("filter[createdAtFrom]", rapid.SampledFrom(boundPool).Draw(t, "from"))
	}
	if rapid.Bool().Draw(t, "has-to") {
		q.Set("filter[createdAtTo]", rapid.SampledFrom(boundPool).Draw(t, "to"))
	}
	drawPaging(t, q)
	return q
}

func drawPaging(t *rapid.T, q url.Values) {
	switch rapid.IntRange(0, 6).Draw(t, "limit") {
	case 0:
	case 1:
		q.Set("limit", "50")
	case 2:
		q.Set("limit", "100")
	case 3:
		q.Set("limit", rapid.SampledFrom([]string{"30", "250", "x", "0"}).Draw(t, "bad-limit"))
	default:
		q.Set("limit", "20")
	}
	if rapid.IntRange(0, 3).Draw(t, "has-page") != 0 {
		q.Set("page", strconv.Itoa(rapid.IntRange(0, 12).Draw(t, "page")))
	}
}

func TestIndexesAgreeWithBruteForce(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t)
		defer w.s.Close()
		for range rapid.IntRange(1, 120).Draw(t, "steps") {
			for range rapid.IntRange(1, 8).Draw(t, "changes") {
				w.step(t)
			}
			w.check(t)
		}
	})
}

// check answers one random request both ways.
func (w *world) check(t *rapid.T) {
	var r *http.Request
	var ref func(http.ResponseWriter, *http.Request, string)
	switch rapid.IntRange(0, 4).Draw(t, "request") {
	case 0:
		r, ref = w.get("/api/v5/orders", drawOrdersQuery(t, w)), w.refOrders
	case 1:
		q := url.Values{}
		for range rapid.IntRange(0, 3).Draw(t, "n-st-ids") {
			q.Add("ids[]", strconv.FormatInt(w.drawOrderID(t, "st-id"), 10))
		}
		for range rapid.IntRange(0, 3).Draw(t, "n-st-ext") {
			q.Add("externalIds[]", rapid.SampledFrom(externalPool).Draw(t, "st-ext"))
		}
		r, ref = w.get("/api/v5/orders/statuses", q), w.refStatuses
	case 2:
		q := url.Values{}
		seg := rapid.SampledFrom([]string{"web-1", "web-2", "web-3", "a b"}).Draw(t, "get-ext")
		if rapid.Bool().Draw(t, "get-by-id") {
			q.Set("by", "id")
			seg = strconv.FormatInt(w.drawOrderID(t, "get-id"), 10)
		}
		if rapid.Bool().Draw(t, "get-site") {
			q.Set("site", rapid.SampledFrom(testSites).Draw(t, "get-site-code"))
		}
		r = w.get("/api/v5/orders/"+url.PathEscape(seg), q)
		ref = func(rw http.ResponseWriter, r *http.Request, key string) { w.refOrderGet(rw, r, seg) }
	case 3, 4:
		entity, param, log := "order", "filter[orderId]", &w.s.orderHist
		if rapid.IntRange(0, 3).Draw(t, "customers") == 0 {
			entity, param, log = "customer", "filter[customerId]", &w.s.custHist
		}
		q := url.Values{}
		w.s.mu.Lock()
		last := log.lastID()
		w.s.mu.Unlock()
		since := rapid.IntRange(0, 3).Draw(t, "has-since") != 0
		if since {
			q.Set("filter[sinceId]", strconv.FormatInt(rapid.Int64Range(0, last+2).Draw(t, "since"), 10))
		}
		if rapid.IntRange(0, 3).Draw(t, "has-entity") == 0 {
			q.Set(param, strconv.FormatInt(rapid.Int64Range(0, 12).Draw(t, "entity"), 10))
		}
		if rapid.IntRange(0, 2).Draw(t, "has-start") == 0 {
			q.Set("filter[startDate]", drawHistoryBound(t, w, "start"))
		}
		if rapid.IntRange(0, 2).Draw(t, "has-end") == 0 {
			q.Set("filter[endDate]", drawHistoryBound(t, w, "end"))
		}
		drawPaging(t, q)
		if since && q.Has("page") && rapid.IntRange(0, 5).Draw(t, "keep-page") != 0 {
			q.Del("page") // mostly the valid walk; sometimes the 400
		}
		r = w.get("/api/v5/"+entity+"s/history", q)
		ref = func(rw http.ResponseWriter, r *http.Request, key string) { w.refHistory(rw, r, key, entity, param) }
	}
	wantCode, want := w.reference(r.Clone(r.Context()), ref)
	gotCode, got := w.serve(r)
	if gotCode != wantCode || got != want {
		t.Fatalf("%s %s\n got %d %s\nwant %d %s", r.Method, r.URL, gotCode, got, wantCode, want)
	}
	// The helpers that read the history by order.
	id := w.drawOrderID(t, "api-changes")
	w.s.mu.Lock()
	n, last := 0, int64(0)
	for i := range w.s.orderHist.recs {
		h := &w.s.orderHist.recs[i]
		if h.entityID == id && h.source == retailcrm.SourceAPI && h.byKey != "" && h.byKey != otherIntegrationKey {
			n++
		}
		last = h.id
	}
	w.s.mu.Unlock()
	if got := w.s.APIChanges(id); got != n {
		t.Fatalf("APIChanges(%d) = %d, want %d", id, got, n)
	}
	if got := w.s.LastHistoryID(); got != last {
		t.Fatalf("LastHistoryID() = %d, want %d", got, last)
	}
}

// drawHistoryBound is a history date bound near the records' dates.
func drawHistoryBound(t *rapid.T, w *world, label string) string {
	if rapid.IntRange(0, 9).Draw(t, label+"-odd") == 0 {
		return rapid.SampledFrom([]string{"2024-03-01", "2024-03-02", "nope", "2024-03-01 10:00:05.5"}).Draw(t, label+"-odd-value")
	}
	end := int(w.now.Sub(clockStart)/time.Second) + 5
	d := time.Duration(rapid.IntRange(min(-5, end-10), end).Draw(t, label)) * time.Second
	return clockStart.Add(d).In(w.s.loc).Format(retailcrm.LayoutDateTime)
}

// refOrders is the list as the fake answered it before the index: every
// order read in id order, every createdAt parsed per request.
func (w *world) refOrders(rw http.ResponseWriter, r *http.Request, _ string) {
	s := w.s
	q := r.URL.Query()
	limit, perr := limitParam(q)
	var pageNo int
	if perr == nil {
		pageNo, perr = pageParam(q)
	}
	var ids []int64
	if perr == nil {
		ids, perr = intListParam(q, "filter[ids][]")
	}
	var from, to time.Time
	var hasFrom, hasTo bool
	if perr == nil {
		from, hasFrom, perr = orderDateParam(q, "filter[createdAtFrom]", false, s.loc, s.opts.OrderDates)
	}
	if perr == nil {
		to, hasTo, perr = orderDateParam(q, "filter[createdAtTo]", true, s.loc, s.opts.OrderDates)
	}
	if perr != nil {
		writeParamError(rw, perr)
		return
	}
	sites := q["filter[sites][]"]
	all := w.orderIDs()
	s.mu.Lock()
	defer s.mu.Unlock()
	match := func(o *retailcrm.Order) bool {
		if !s.siteVisibleLocked(o.Site) || (len(sites) > 0 && !slices.Contains(sites, o.Site)) {
			return false
		}
		if hasFrom || hasTo {
			at, err := o.CreatedAt.In(s.loc)
			if err != nil || (hasFrom && at.Before(from)) || (hasTo && at.After(to)) {
				return false
			}
		}
		return true
	}
	var found []*retailcrm.Order
	for _, id := range all {
		if o := s.orders[id]; (len(ids) == 0 || slices.Contains(ids, id)) && match(o) {
			found = append(found, o)
		}
	}
	lo, hi, pagination := pageBounds(len(found), limit, pageNo)
	orders := []map[string]any{}
	for _, o := range found[lo:hi] {
		orders = append(orders, orderJSON(o, shapeList))
	}
	writeJSON(rw, http.StatusOK, map[string]any{"success": true, "pagination": pagination, "orders": orders})
}

// ordersByExternal lists the orders with externalId ext in id order.
func (w *world) ordersByExternal(ext string) []*retailcrm.Order {
	var out []*retailcrm.Order
	for _, id := range w.orderIDs() {
		w.s.mu.Lock()
		if o := w.s.orders[id]; o.ExternalID == ext {
			out = append(out, o)
		}
		w.s.mu.Unlock()
	}
	return out
}

func (w *world) refStatuses(rw http.ResponseWriter, r *http.Request, _ string) {
	s := w.s
	q := r.URL.Query()
	ids, perr := intListParam(q, "ids[]")
	if perr != nil {
		writeParamError(rw, perr)
		return
	}
	var byExt []*retailcrm.Order
	for _, e := range q["externalIds[]"] {
		byExt = append(byExt, w.ordersByExternal(e)...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var orders []*retailcrm.Order
	for _, id := range ids {
		orders = append(orders, s.orders[id])
	}
	orders = append(orders, byExt...)
	writeJSON(rw, http.StatusOK, map[string]any{"success": true, "orders": s.orderStatusesLocked(orders)})
}

func (w *world) refOrderGet(rw http.ResponseWriter, r *http.Request, seg string) {
	s := w.s
	q := r.URL.Query()
	site := q.Get("site")
	var o *retailcrm.Order
	if q.Get("by") == "id" {
		id, err := strconv.ParseInt(seg, 10, 64)
		s.mu.Lock()
		if o = s.orders[id]; err != nil || (o != nil && site != "" && o.Site != site) {
			o = nil
		}
		s.mu.Unlock()
	} else {
		for _, c := range w.ordersByExternal(seg) {
			if site == "" || c.Site == site {
				o = c
				break
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o == nil || !s.siteVisibleLocked(o.Site) {
		writeError(rw, http.StatusNotFound, "Not found", nil)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{"success": true, "order": orderJSON(o, shapeList)})
}

// refHistory is /history as the fake answered it before the indexes: every
// record read and filtered.
func (w *world) refHistory(rw http.ResponseWriter, r *http.Request, key, entity, entityParam string) {
	s := w.s
	hp, ok := s.historyParams(rw, r, entityParam)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.orderHist.recs
	if entity == "customer" {
		all = s.custHist.recs
	}
	var found []*histRec
	for i := range all {
		h := &all[i]
		if h.id > hp.sinceID && (!hp.hasEntity || h.entityID == hp.entityID) &&
			(!hp.hasFrom || !h.at.Before(hp.from)) && (!hp.hasTo || !h.at.After(hp.to)) &&
			(h.site == "" || s.siteVisibleLocked(h.site)) {
			found = append(found, h)
		}
	}
	lo, hi, pagination := pageBounds(len(found), hp.limit, hp.pageNo)
	s.writeHistoryLocked(rw, found[lo:hi], entity, key, pagination)
}
