package retailcrm_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func sampleOrder() retailcrm.Order {
	return retailcrm.Order{
		ExternalID:  "web-77",
		OrderMethod: "phone",
		FirstName:   "Anna",
		Phone:       "+79001234567",
		Email:       "anna@example.com",
		Summ:        dec("1890.10"),
		TotalSumm:   dec("2090.10"),
		Customer: &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com",
			Phones: []retailcrm.Phone{{Number: "+79001234567"}}},
		Items: []retailcrm.Item{{ID: 1, InitialPrice: dec("945.05"), Quantity: dec("2"),
			Offer: &retailcrm.Offer{ID: 9, Name: "Tea"}}},
		Delivery: &retailcrm.Delivery{Code: "courier", Cost: dec("200"),
			Address: &retailcrm.Address{City: "Moscow", Text: "Tverskaya 1"}},
		Payments:     retailcrm.Payments{{ID: 5, Type: "cash", Amount: dec("0.1")}, {ID: 3, Type: "bank-card", Amount: dec("2090")}},
		CustomFields: retailcrm.CustomFields{"nps": []byte("9")},
	}
}

func TestOrderRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := newFake(t, retailcrmtest.Options{})
	stored := fake.CreateOrder(sampleOrder())

	got, err := c.Order(ctx, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Orders(ctx, retailcrm.OrdersFilter{IDs: []int64{stored.ID}})
	if err != nil || len(page.Orders) != 1 {
		t.Fatalf("list: %v %+v", err, page)
	}
	hist, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{})
	if err != nil || len(hist.History) != 1 {
		t.Fatalf("history: %v", err)
	}
	snap := hist.History[0].Order
	opts := cmp.Options{
		cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
		cmp.Comparer(func(a, b retailcrm.DateTime) bool { return a.String() == b.String() }),
	}
	// Payments come back sorted by id from both the object and array shapes.
	if diff := cmp.Diff(got, &page.Orders[0], opts); diff != "" {
		t.Errorf("get vs list (-get +list):\n%s", diff)
	}
	if diff := cmp.Diff(got.Payments, snap.Payments, opts); diff != "" {
		t.Errorf("payments list vs snapshot:\n%s", diff)
	}
	if got.Payments[0].ID != 3 || !got.TotalSumm.Equal(dec("2090.10")) || got.Delivery.Cost.String() != "200" ||
		got.Customer.Phones[0].Number != "+79001234567" || got.CustomFields.String("nps") != "9" ||
		got.Items[0].Offer.Name != "Tea" || got.Currency != "RUB" {
		t.Errorf("order = %+v", got)
	}
	if snap.Currency != "" || snap.CustomFields.String("nps") != "9" {
		t.Errorf("snapshot = %+v", snap)
	}
}

func TestOrdersListFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var now time.Time
	clock := func() time.Time { return now }
	fake, c := newFake(t, retailcrmtest.Options{Sites: []string{"shop", "outlet"}, Now: clock})
	moscow := fake.Location()
	base := time.Date(2024, 3, 1, 10, 0, 0, 0, moscow)
	var ids []int64
	for i := range 45 {
		now = base.Add(time.Duration(i) * time.Hour)
		site := "shop"
		if i%3 == 0 {
			site = "outlet"
		}
		ids = append(ids, fake.CreateOrder(retailcrm.Order{Site: site}).ID)
	}
	tests := []struct {
		name   string
		filter retailcrm.OrdersFilter
		want   int
		total  int64
	}{
		{"ids", retailcrm.OrdersFilter{IDs: ids[:7]}, 7, 7},
		{"sites", retailcrm.OrdersFilter{Sites: []string{"outlet"}}, 15, 15},
		{"page 2 of 20", retailcrm.OrdersFilter{Limit: 20, Page: 2}, 20, 45},
		{"page 3 of 20", retailcrm.OrdersFilter{Limit: 20, Page: 3}, 5, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c.Orders(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Orders) != tt.want || p.Pagination.TotalCount != tt.total {
				t.Errorf("got %d orders, pagination %+v; want %d of %d", len(p.Orders), p.Pagination, tt.want, tt.total)
			}
		})
	}
	if _, err := c.Orders(ctx, retailcrm.OrdersFilter{IDs: make([]int64, 101)}); err == nil {
		t.Error("101 ids accepted for one page")
	}
}

func TestEditValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := newFake(t, retailcrmtest.Options{Sites: []string{"shop", "outlet"}})
	o := fake.CreateOrder(retailcrm.Order{Site: "outlet"})
	tests := []struct {
		name   string
		site   string
		patch  retailcrm.OrderPatch
		status int
		is     error
	}{
		{"unknown status", "outlet", retailcrm.OrderPatch{Status: "no-such"}, 400, retailcrm.ErrValidation},
		{"site missing with several stores", "", retailcrm.OrderPatch{Status: "complete"}, 400, retailcrm.ErrValidation},
		{"wrong site", "shop", retailcrm.OrderPatch{Status: "complete"}, 404, retailcrm.ErrNotFound},
		{"unknown store", "nowhere", retailcrm.OrderPatch{Status: "complete"}, 403, retailcrm.ErrAuth},
	}
	for _, tt := range tests {
		_, err := c.EditOrder(ctx, o.ID, tt.site, tt.patch)
		var apiErr *retailcrm.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatus != tt.status || !errors.Is(err, tt.is) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		if tt.name == "unknown status" && apiErr != nil && apiErr.Errors["status"] == "" {
			t.Errorf("no per-field error: %+v", apiErr)
		}
	}
	if got, _ := fake.Order(o.ID); got.Status != "new" || fake.APIChanges(o.ID) != 0 {
		t.Errorf("a rejected edit changed the order: %+v", got)
	}
	if _, err := c.EditOrder(ctx, o.ID, "outlet", retailcrm.OrderPatch{}); err == nil {
		t.Error("empty patch sent")
	}
	res, err := c.EditOrder(ctx, o.ID, "outlet", retailcrm.OrderPatch{Status: "complete", StatusComment: "paid"})
	if err != nil || res.Order.Status != "complete" || res.Order.StatusComment != "paid" {
		t.Fatalf("edit: %v %+v", err, res)
	}
	last := fake.RequestLog()[len(fake.RequestLog())-1]
	if last.Method != http.MethodPost || last.Form.Get("by") != "id" || last.Form.Get("site") != "outlet" ||
		last.Form.Get("order") != `{"status":"complete","statusComment":"paid"}` ||
		last.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("edit request = %+v", last)
	}
	st, err := c.OrderStatuses(ctx, []int64{o.ID})
	if err != nil || len(st) != 1 || st[0].Status != "complete" || st[0].Group != "complete" {
		t.Errorf("statuses: %v %+v", err, st)
	}
}

func TestReferencesAndAccountFromFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := newFake(t, retailcrmtest.Options{Timezone: "Asia/Novosibirsk"})
	fake.AddStatus(retailcrm.Status{Code: "returned", Name: "Возврат", Group: "cancel", Active: true})
	st, err := c.Statuses(ctx)
	if err != nil || st["returned"].Group != "cancel" || st["new"].Group != "new" {
		t.Fatalf("statuses: %v %+v", err, st)
	}
	groups, err := c.StatusGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range groups["cancel"].Statuses {
		found = found || s == "returned"
	}
	if !found {
		t.Errorf("group cancel = %+v", groups["cancel"])
	}
	if m, err := c.OrderMethods(ctx); err != nil || m["phone"].Code != "phone" {
		t.Errorf("methods: %v %+v", err, m)
	}
	if d, err := c.DeliveryTypes(ctx); err != nil || len(d) != 2 {
		t.Errorf("delivery: %v %+v", err, d)
	}
	if p, err := c.PaymentTypes(ctx); err != nil || len(p) != 2 {
		t.Errorf("payment: %v %+v", err, p)
	}
	if s, err := c.Sites(ctx); err != nil || s["shop"].Code != "shop" {
		t.Errorf("sites: %v %+v", err, s)
	}
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loc, err := s.Location(); err != nil || loc.String() != "Asia/Novosibirsk" {
		t.Errorf("location %v %v", loc, err)
	}
	fake.SetCredentials([]string{"order_read"}, retailcrm.SiteAccessSelective, []string{"shop"})
	cr, err := c.Credentials(ctx)
	if err != nil || cr.SiteAccess != retailcrm.SiteAccessSelective || len(cr.SitesAvailable) != 1 {
		t.Errorf("credentials: %v %+v", err, cr)
	}
	if got := cr.MissingScopes("order_read", "order_write", "reference_read"); len(got) != 2 {
		t.Errorf("missing = %v", got)
	}
	_, err = c.Statuses(ctx)
	assertAPIError(t, err, http.StatusForbidden, "Access denied.", []error{retailcrm.ErrAuth}, nil)
}

func TestOrdersByID(t *testing.T) {
	fake, c := parallelFake(t)
	var ids []int64
	for range 230 {
		ids = append(ids, fake.CreateOrder(retailcrm.Order{}).ID)
	}
	ids = append(ids, ids[5], 99999) // a duplicate and a missing id
	got, err := c.OrdersByID(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 230 || got[0].ID != 1 || got[229].ID != 230 {
		t.Errorf("got %d orders", len(got))
	}
	if n := fake.Requests("/api/v5/orders"); n != 3 {
		t.Errorf("requests = %d, want 3 (100 ids each)", n)
	}
}

// The createdAt bounds go out as whole days, widened so that the answer
// holds every order of the window however the service reads a date; the
// overlap is cut locally with CreatedWithin.
func TestOrdersCreatedWindowEveryReading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		reading retailcrmtest.DateReading
		total   int64
	}{
		{"whole day", retailcrmtest.DatesWholeDay, 38},
		{"midnight", retailcrmtest.DatesMidnight, 15},
		{"dates only", retailcrmtest.DatesOnly, 38},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var now time.Time
			fake, c := newFake(t, retailcrmtest.Options{Now: func() time.Time { return now }, OrderDates: tt.reading})
			moscow := fake.Location()
			base := time.Date(2024, 3, 1, 10, 0, 0, 0, moscow)
			for i := range 45 { // hourly from 2024-03-01 10:00 to 03-03 06:00
				now = base.Add(time.Duration(i) * time.Hour)
				fake.CreateOrder(retailcrm.Order{})
			}
			// 10:00..13:00 Moscow given as UTC instants: converted, not reinterpreted.
			from, to := base.UTC(), base.Add(3*time.Hour).UTC()
			p, err := c.Orders(ctx, retailcrm.OrdersFilter{CreatedAtFrom: from, CreatedAtTo: to})
			if err != nil {
				t.Fatal(err)
			}
			q := fake.RequestLog()[0].Query
			if q.Get("filter[createdAtFrom]") != "2024-03-01" || q.Get("filter[createdAtTo]") != "2024-03-02" {
				t.Errorf("bounds sent as %v", q)
			}
			var within int
			for _, o := range p.Orders {
				ok, err := o.CreatedWithin(moscow, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					within++
				}
			}
			if within != 4 || p.Pagination.TotalCount != tt.total {
				t.Errorf("%d of %d orders within the window, want 4 of %d", within, p.Pagination.TotalCount, tt.total)
			}
		})
	}
}

// The fake is as strict as the documentation allows: a bound that is not
// Y-m-d (or Y-m-d H:i:s where the reading takes one) is a 400.
func TestFakeRejectsWrongDateFormats(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		reading retailcrmtest.DateReading
		value   string
		ok      bool
	}{
		{retailcrmtest.DatesWholeDay, "2024-03-01", true},
		{retailcrmtest.DatesWholeDay, "2024-03-01 10:00:00", true},
		{retailcrmtest.DatesWholeDay, "2024-03-01T10:00:00+03:00", false},
		{retailcrmtest.DatesWholeDay, "01.03.2024", false},
		{retailcrmtest.DatesMidnight, "2024-03-01 10:00:00", true},
		{retailcrmtest.DatesOnly, "2024-03-01", true},
		{retailcrmtest.DatesOnly, "2024-03-01 10:00:00", false},
	} {
		fake := retailcrmtest.New(t, retailcrmtest.Options{OrderDates: tt.reading})
		u := fake.URL() + "/api/v5/orders?filter%5BcreatedAtTo%5D=" + url.QueryEscape(tt.value)
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("X-API-KEY", fake.APIKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusOK; got != tt.ok {
			t.Errorf("reading %d, %q: HTTP %d", tt.reading, tt.value, resp.StatusCode)
		}
	}
}
