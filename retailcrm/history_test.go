package retailcrm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestHistoryWalk walks a long history by sinceId the way pull does and
// checks every record arrives once, in order, and that no request ever
// carried page (the fake would answer 400).
func TestHistoryWalk(t *testing.T) {
	fake, c := parallelFake(t)
	const orders = 120
	for i := range orders {
		o := fake.CreateOrder(retailcrm.Order{ExternalID: fmt.Sprint("ext-", i)})
		if err := fake.UpdateOrder(o.ID, func(o *retailcrm.Order) {
			o.Status = "client-confirmed"
			o.ManagerComment = "call back"
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := fake.LastHistoryID()
	var cursor, seen int64
	pages := 0
	for {
		p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{SinceID: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.History) == 0 {
			break
		}
		pages++
		for _, r := range p.History {
			if r.ID <= cursor {
				t.Fatalf("record %d not after cursor %d", r.ID, cursor)
			}
			cursor = r.ID
			seen++
			if !r.Created && (r.Order == nil || r.Order.Number != "" || r.Order.Site == "") {
				t.Fatalf("record %d: want a partial snapshot, got %+v", r.ID, r.Order)
			}
		}
	}
	if seen != want || cursor != want {
		t.Errorf("seen %d records up to %d, want %d", seen, cursor, want)
	}
	if pages != 4 { // 360 records / 100
		t.Errorf("pages = %d, want 4", pages)
	}
	for _, r := range fake.RequestLog() {
		if r.Path == historyPath && r.Query.Has("page") {
			t.Errorf("history request with page: %v", r.Query)
		}
		if r.Query.Has("apiKey") || r.Form.Has("apiKey") {
			t.Errorf("key sent as a parameter: %s", r.Path)
		}
		if r.Header.Get("X-API-KEY") != fake.APIKey() {
			t.Errorf("X-API-KEY header missing on %s", r.Path)
		}
		if ua := r.Header.Get("User-Agent"); ua != "crmsync/dev" {
			t.Errorf("User-Agent = %q", ua)
		}
	}
	t.Logf("%d history records in %d requests (%.3f requests/record)", seen, fake.Requests(historyPath),
		float64(fake.Requests(historyPath))/float64(seen))
}

// TestFakeRejectsSinceIDWithPage proves the fake enforces the 400 rule the
// client is built to avoid.
func TestFakeRejectsSinceIDWithPage(t *testing.T) {
	t.Parallel()
	fake := retailcrmtest.New(t, retailcrmtest.Options{})
	req, _ := http.NewRequest(http.MethodGet, fake.URL()+historyPath+"?filter[sinceId]=1&page=2&limit=100", nil)
	req.Header.Set("X-API-KEY", fake.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Success  bool   `json:"success"`
		ErrorMsg string `json:"errorMsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || body.Success || body.ErrorMsg == "" {
		t.Errorf("got %d %+v", resp.StatusCode, body)
	}
}

// TestHistoryEchoMarks checks the fields echo filtering relies on: our own
// edit is source api with apiKey.current true; a manager's change is
// source user with user.id; a foreign integration's is current false.
func TestHistoryEchoMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := newFake(t, retailcrmtest.Options{ExtraKeys: []string{"other-integration-key-999"}})
	other, err := retailcrm.New(fake.URL(), "other-integration-key-999", retailcrm.WithRate(0))
	if err != nil {
		t.Fatal(err)
	}
	o := fake.CreateOrder(retailcrm.Order{})
	if err := fake.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "assembling" }); err != nil {
		t.Fatal(err)
	}
	comment := "from crmsync"
	res, err := c.EditOrder(ctx, o.ID, "shop", retailcrm.OrderPatch{Status: "complete", ManagerComment: &comment})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != o.ID || res.Order.Status != "complete" || res.Order.ManagerComment != comment {
		t.Errorf("edit answer = %+v", res)
	}
	if _, err := other.EditOrder(ctx, o.ID, "", retailcrm.OrderPatch{StatusComment: "foreign"}); err != nil {
		t.Fatal(err)
	}
	p, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type mark struct {
		field, source string
		own           bool
		user          int64
	}
	var got []mark
	for _, r := range p.History {
		m := mark{field: r.Field, source: r.Source, own: r.OwnChange()}
		if r.User != nil {
			m.user = r.User.ID
		}
		if r.Source == retailcrm.SourceAPI && r.APIKey == nil {
			t.Errorf("record %d: api record without apiKey", r.ID)
		}
		got = append(got, m)
	}
	want := []mark{
		{"status", "api", false, 0},
		{"status", "user", false, retailcrmtest.DefaultUserID},
		{"status", "api", true, 0},
		{"manager_comment", "api", true, 0},
		{"status_comment", "api", false, 0},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("marks\n got %v\nwant %v", got, want)
	}
	// The other key sees its own change as current and ours as foreign.
	p2, err := other.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: p.History[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	if p2.History[0].OwnChange() || !p2.History[2].OwnChange() {
		t.Errorf("other key's view: %v %v", p2.History[0].OwnChange(), p2.History[2].OwnChange())
	}
	if p.History[2].OldValue.Code() != "assembling" || p.History[2].NewValue.Code() != "complete" ||
		p.History[3].NewValue.String() != comment {
		t.Errorf("values: %s→%s, %s", p.History[2].OldValue.Raw(), p.History[2].NewValue.Raw(), p.History[3].NewValue.Raw())
	}
}

func TestCustomersHistory(t *testing.T) {
	fake, c := parallelFake(t)
	cust := fake.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	if err := fake.UpdateCustomer(cust.ID, func(c *retailcrm.Customer) {
		c.Phones = append(c.Phones, retailcrm.Phone{Number: "+79001234567"})
		c.Email = "ANNA@example.com "
	}); err != nil {
		t.Fatal(err)
	}
	p, err := c.CustomersHistory(context.Background(), retailcrm.HistoryFilter{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.History) != 3 || !p.History[0].Created || p.History[0].Customer.FirstName != "Anna" {
		t.Fatalf("history = %+v", p.History)
	}
	if r := p.History[1]; r.Field != "email" || r.NewValue.String() != "ANNA@example.com " || r.Customer.ID != cust.ID {
		t.Errorf("email record = %+v", r)
	}
	if r := p.History[2]; r.Field != "phones" || r.Source != "user" || r.User.ID != retailcrmtest.DefaultUserID {
		t.Errorf("phone record = %+v", r)
	}
	p, err = c.CustomersHistory(context.Background(), retailcrm.HistoryFilter{SinceID: p.LastID()})
	if err != nil || len(p.History) != 0 {
		t.Errorf("after the head: %v %+v", err, p)
	}
	other := fake.AddCustomer(retailcrm.Customer{FirstName: "Boris"})
	p, err = c.CustomersHistory(context.Background(), retailcrm.HistoryFilter{CustomerID: other.ID})
	if err != nil || len(p.History) != 1 || p.History[0].Customer.ID != other.ID {
		t.Errorf("by customer: %v %+v", err, p)
	}
}

func TestHistoryLimits(t *testing.T) {
	fake, c := parallelFake(t)
	for range 60 {
		fake.CreateOrder(retailcrm.Order{})
	}
	for _, limit := range []int{20, 50, 100} {
		p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{Limit: limit})
		if err != nil || len(p.History) != min(limit, 60) || p.Pagination.Limit != limit {
			t.Errorf("limit %d: %v, %d records, %+v", limit, err, len(p.History), p.Pagination)
		}
	}
	p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{OrderID: 7})
	if err != nil || len(p.History) != 1 || p.History[0].OrderID() != 7 {
		t.Errorf("by order: %v %+v", err, p)
	}
	before := fake.TotalRequests()
	if _, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{Limit: 250}); err == nil {
		t.Error("limit 250 accepted")
	}
	if fake.TotalRequests() != before {
		t.Error("an invalid limit reached the server")
	}
}

// TestHistoryPageByNumber: each history takes page with a startDate window
// (or no filter), 1-based pages of limit records counted in the window, with
// the pagination block of the recorded answer (orders_history.json), as
// backfill reads the last page of a window to find the head
// (docs/api-notes.md); page with sinceId, which the API answers 400, is
// refused by the client without a request.
func TestHistoryPageByNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var now time.Time
	fake, c := newFake(t, retailcrmtest.Options{Now: func() time.Time { return now }})
	start := time.Date(2024, 5, 1, 9, 0, 0, 0, fake.Location())
	now = start
	order := fake.CreateOrder(retailcrm.Order{})
	customer := fake.AddCustomer(retailcrm.Customer{FirstName: "Anna"})
	corporate := fake.AddCorporateCustomer(retailcrm.CorporateCustomer{NickName: "Café"})
	streams := []struct {
		name, path string
		update     func(i int) error // one more record
		last       func() int64      // the history's newest id
		reads      map[string]reader // the client's reads of it
	}{
		{name: "orders", path: "/api/v5/orders/history", last: fake.LastHistoryID,
			update: func(i int) error {
				return fake.UpdateOrder(order.ID, func(o *retailcrm.Order) { o.ManagerComment = fmt.Sprint("call #", i) })
			},
			reads: map[string]reader{"OrdersHistory": headOf(ctx, c.OrdersHistory), "HistoryHead": streamHead(ctx, c, retailcrm.StreamOrders)}},
		{name: "customers", path: "/api/v5/customers/history", last: fake.LastCustomerHistoryID,
			update: func(i int) error {
				return fake.UpdateCustomer(customer.ID, func(c *retailcrm.Customer) { c.LastName = fmt.Sprint("L", i) })
			},
			reads: map[string]reader{"CustomersHistory": headOf(ctx, c.CustomersHistory), "HistoryHead": streamHead(ctx, c, retailcrm.StreamCustomers)}},
		{name: "corporate customers", path: "/api/v5/customers-corporate/history", last: fake.LastCorporateHistoryID,
			update: func(i int) error {
				return fake.UpdateCorporateCustomer(corporate.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = fmt.Sprint("Café ", i) })
			},
			reads: map[string]reader{"CorporateCustomersHistory": headOf(ctx, c.CorporateCustomersHistory)}},
	}
	// Of each history, records up to id 30 an hour before the window, 250 in it.
	for _, s := range streams {
		now = start
		for i := 0; s.last() < 280; i++ {
			if s.last() == 30 {
				now = start.Add(time.Hour)
			}
			if err := s.update(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	const before = 30
	window := start.Add(30 * time.Minute)
	for _, s := range streams {
		for name, read := range s.reads {
			last := s.last()
			for _, tc := range []struct {
				page, records, pages int
				lastID               int64
			}{
				{page: 0, records: 100, pages: 3, lastID: before + 100},
				{page: 1, records: 100, pages: 3, lastID: before + 100},
				{page: 2, records: 100, pages: 3, lastID: before + 200},
				{page: 3, records: 50, pages: 3, lastID: last},
				{page: 4, records: 0, pages: 3},
			} {
				p, err := read(retailcrm.HistoryFilter{StartDate: window, Page: tc.page})
				if err != nil {
					t.Fatalf("%s %s page %d: %v", s.name, name, tc.page, err)
				}
				if p.Records != tc.records || p.Pages != tc.pages || p.LastID != tc.lastID {
					t.Errorf("%s %s page %d: %d records to %d of %d pages, want %d to %d of %d", s.name, name, tc.page,
						p.Records, p.LastID, p.Pages, tc.records, tc.lastID, tc.pages)
				}
			}
			// The whole history: 280 records, 3 pages.
			p, err := read(retailcrm.HistoryFilter{Page: 3})
			if err != nil || p.Records != 80 || p.Pages != 3 || p.LastID != last {
				t.Errorf("%s %s whole history page 3: %+v %v", s.name, name, p, err)
			}
			sent := fake.Requests(s.path)
			for _, f := range []retailcrm.HistoryFilter{{SinceID: 5, Page: 2}, {SinceID: 5, Page: 1}, {Page: -1}} {
				if _, err := read(f); err == nil {
					t.Errorf("%s %s: %+v accepted", s.name, name, f)
				}
			}
			if got := fake.Requests(s.path) - sent; got != 0 {
				t.Errorf("%s %s: %d requests sent for refused filters", s.name, name, got)
			}
		}
	}
	// The pagination block, as recorded in orders_history.json.
	p, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{StartDate: window, Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := (retailcrm.Pagination{Limit: 100, TotalCount: 250, CurrentPage: 2, TotalPageCount: 3}); p.Pagination != want {
		t.Errorf("pagination %+v, want %+v", p.Pagination, want)
	}
	for _, r := range fake.RequestLog() {
		if r.Query.Has("page") && r.Query.Has("filter[sinceId]") {
			t.Errorf("%s?%s sent", r.Path, r.Query.Encode())
		}
	}
}

// reader is one of the client's reads of a history, as the head search
// takes it.
type reader func(f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error)

// headOf is a reader of a read of whole history pages.
func headOf[P interface {
	Head() *retailcrm.HistoryHeadPage
}](ctx context.Context, read func(context.Context, retailcrm.HistoryFilter) (P, error)) reader {
	return func(f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
		p, err := read(ctx, f)
		if err != nil {
			return nil, err
		}
		return p.Head(), nil
	}
}

// streamHead is a reader of Client.HistoryHead.
func streamHead(ctx context.Context, c *retailcrm.Client, stream string) reader {
	return func(f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
		return c.HistoryHead(ctx, stream, f)
	}
}
