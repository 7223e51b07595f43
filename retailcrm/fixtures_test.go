package retailcrm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// testdataDir holds the copied fixtures (see its README for provenance).
var testdataDir = filepath.Join("..", "testdata", "retailcrm")

// fixtureRoute is one canned answer: status, content type and fixture file.
type fixtureRoute struct {
	status int
	ctype  string
	file   string
}

var fixtureRoutes = map[string]fixtureRoute{
	"GET /api/v5/orders/history":           {200, "application/json", "orders_history.json"},
	"GET /api/v5/orders":                   {200, "application/json", "orders_list.json"},
	"GET /api/v5/orders/6722":              {200, "application/json", "orders_get.json"},
	"POST /api/v5/orders/6722/edit":        {200, "application/json", "orders_edit.json"},
	"GET /api/v5/orders/statuses":          {200, "application/json", "orders_statuses.json"},
	"GET /api/v5/reference/statuses":       {200, "application/json", "reference_statuses.json"},
	"GET /api/v5/reference/status-groups":  {200, "application/json", "reference_status_groups.json"},
	"GET /api/v5/reference/order-methods":  {200, "application/json", "reference_order_methods.json"},
	"GET /api/v5/reference/delivery-types": {200, "application/json", "reference_delivery_types.json"},
	"GET /api/v5/reference/payment-types":  {200, "application/json", "reference_payment_types.json"},
	"GET /api/v5/reference/sites":          {200, "application/json", "reference_sites.json"},
	"GET /api/credentials":                 {200, "application/json", "credentials.json"},
	"GET /api/v5/settings":                 {200, "application/json", "settings.json"},
	"GET /api/v5/orders/1":                 {405, "application/json", "error_405_method_not_allowed.json"},
	"POST /api/v5/orders/1/edit":           {405, "application/json", "error_405_invalid_data.json"},
	"POST /api/v5/orders/2/edit":           {405, "text/html; charset=utf-8", "error_html_405.html"},
	"GET /api/v5/orders/3":                 {405, "text/plain", "error_html_405.html"},

	// Dictionaries read for deal texts (content_test.go); order types are
	// only in this copy of the fixtures.
	"GET /api/v5/reference/payment-statuses": {200, "application/json", "reference_payment_statuses.json"},
	"GET /api/v5/reference/product-statuses": {200, "application/json", "reference_product_statuses.json"},
	"GET /api/v5/reference/order-types":      {200, "application/json", "reference_order_types.json"},

	// People and organisations (people_test.go); only in this copy.
	"GET /api/v5/users":                              {200, "application/json", "users_list.json"},
	"GET /api/v5/users/28":                           {200, "application/json", "users_get.json"},
	"GET /api/v5/customers":                          {200, "application/json", "customers_list.json"},
	"GET /api/v5/customers/history":                  {200, "application/json", "customers_history.json"},
	"GET /api/v5/customers-corporate":                {200, "application/json", "customers_corporate_list.json"},
	"GET /api/v5/customers-corporate/history":        {200, "application/json", "customers_corporate_history.json"},
	"GET /api/v5/customers-corporate/5043/companies": {200, "application/json", "customers_corporate_companies.json"},
}

// fixtureClient serves the fixture files of dir verbatim.
func fixtureClient(t *testing.T, dir string) *retailcrm.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := fixtureRoutes[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, rt.file))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", rt.ctype)
		w.WriteHeader(rt.status)
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	c, err := retailcrm.New(srv.URL, "fixture-key-abcdef", retailcrm.WithRate(0),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 1}), retailcrm.WithLocation(moscow))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	runFixtureChecks(t, testdataDir)
}

// TestSharedFixturesCompat runs the same checks on the shared fixture
// folder, which may have been updated since the copy was taken.
func TestSharedFixturesCompat(t *testing.T) {
	t.Parallel()
	shared := filepath.Join("..", "..", "shared", "fixtures", "retailcrm")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared fixtures not present: %v", err)
	}
	runFixtureChecks(t, shared)
	entries, err := os.ReadDir(shared)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		a, err := os.ReadFile(filepath.Join(shared, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(testdataDir, e.Name()))
		if err != nil {
			t.Errorf("%s: not copied to testdata: %v", e.Name(), err)
			continue
		}
		if string(a) != string(b) {
			t.Errorf("%s: testdata copy differs from the shared fixture", e.Name())
		}
	}
}

func runFixtureChecks(t *testing.T, dir string) {
	c := fixtureClient(t, dir)
	for name, check := range map[string]func(*testing.T, *retailcrm.Client){
		"history":     checkFixtureHistory,
		"list":        checkFixtureList,
		"get":         checkFixtureGet,
		"edit":        checkFixtureEdit,
		"statuses":    checkFixtureOrderStatuses,
		"references":  checkFixtureReferences,
		"credentials": checkFixtureAccount,
		"errors":      checkFixtureErrors,
	} {
		t.Run(name, func(t *testing.T) { check(t, c) })
	}
}

func checkFixtureHistory(t *testing.T, c *retailcrm.Client) {
	p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{SinceID: 2691})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.History) != 100 {
		t.Fatalf("records = %d, want 100", len(p.History))
	}
	created, sources := 0, map[string]int{}
	full, partial := 0, 0
	for i, r := range p.History {
		if i > 0 && r.ID <= p.History[i-1].ID {
			t.Fatalf("ids not ascending at %d", i)
		}
		if r.Created {
			created++
			if r.Field != "status" || !r.OldValue.IsNull() || r.NewValue.Code() != "new" {
				t.Errorf("created record %d: field %q old %s new %s", r.ID, r.Field, r.OldValue.Raw(), r.NewValue.Raw())
			}
			if r.Order == nil || r.Order.Number == "" || r.Order.Customer == nil || len(r.Order.Items) == 0 {
				t.Errorf("created record %d lacks a full snapshot", r.ID)
			}
			full++
		} else if r.Order != nil && r.Order.Number == "" {
			partial++
		}
		sources[r.Source]++
		if (r.User != nil) != (r.Source == retailcrm.SourceUser) {
			t.Errorf("record %d: user %v with source %s", r.ID, r.User, r.Source)
		}
		if r.OwnChange() {
			t.Errorf("record %d: fixture has no apiKey.current true", r.ID)
		}
	}
	if created != 23 {
		t.Errorf("created = %d, want 23", created)
	}
	if sources["user"] != 48 || sources["api"] != 35 || sources["code"] != 17 {
		t.Errorf("sources = %v, want user 48, api 35, code 17", sources)
	}
	if full+partial != 100 {
		t.Errorf("full %d + partial %d snapshots != 100", full, partial)
	}
	if got := p.History[0].ID; got != 7038 {
		t.Errorf("first id = %d", got)
	}
	if got := p.LastID(); got != 7137 {
		t.Errorf("last id = %d", got)
	}
	if p.Pagination.TotalCount != 29733 || p.Pagination.Limit != 100 || p.Pagination.TotalPageCount != 298 {
		t.Errorf("pagination = %+v", p.Pagination)
	}
	byID := map[int64]retailcrm.HistoryRecord{}
	for _, r := range p.History {
		byID[r.ID] = r
	}
	r := byID[7044]
	if r.OldValue.Code() != "new" || r.NewValue.Code() != "client-confirmed" || r.User.ID != 19 ||
		r.Order.ID != 2034 || r.Order.Status != "client-confirmed" || r.Order.Site != "moysklad" || r.Order.ManagerID != 19 {
		t.Errorf("record 7044 = %+v", r)
	}
	pay := byID[7082]
	if pay.Payment == nil || pay.Payment.Amount.String() != "30770.4" || pay.NewValue.ID() != 1435 {
		t.Errorf("record 7082 payment = %+v", pay.Payment)
	}
	if it := byID[7043]; it.Item == nil || it.Item.ID != 3635 || it.Item.Offer.ID != 20277 {
		t.Errorf("record 7043 item = %+v", it.Item)
	}
	// createdAt is not monotonic in id.
	moscow := c.Location()
	a, err1 := byID[7058].CreatedAt.In(moscow)
	b, err2 := byID[7059].CreatedAt.In(moscow)
	if err1 != nil || err2 != nil || !b.Before(a) {
		t.Errorf("7058 %v / 7059 %v: want the later id earlier (%v %v)", a, b, err1, err2)
	}
	first := p.History[0].Order
	if first.TotalSumm.String() != "1395.16" || first.Delivery.Cost.String() != "616.16" || first.Delivery.Code != "russian-post" {
		t.Errorf("first snapshot sums: total %s delivery %s", first.TotalSumm, first.Delivery.Cost)
	}
	if len(first.Customer.Phones) != 3 || first.Customer.Phones[0].Number != "7800553535" {
		t.Errorf("phones = %+v", first.Customer.Phones)
	}
	if first.CustomFields != nil {
		t.Errorf("customFields [] should decode empty, got %v", first.CustomFields)
	}
}

func checkFixtureList(t *testing.T, c *retailcrm.Client) {
	p, err := c.Orders(context.Background(), retailcrm.OrdersFilter{IDs: []int64{7141}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Orders) != 1 || p.Pagination.Limit != 20 || p.Pagination.TotalCount != 1 {
		t.Fatalf("page = %+v", p)
	}
	o := p.Orders[0]
	if o.ID != 7141 || o.Number != "7141C" || o.Status != "assembling" || o.Site != "moysklad" ||
		o.OrderMethod != "phone" || o.Currency != "RUB" || o.ManagerID != 28 || o.Email != "andrey@andrey.ru" {
		t.Errorf("order = %+v", o)
	}
	if len(o.Payments) != 0 {
		t.Errorf("payments {} = %v", o.Payments)
	}
	if o.CustomFields.String("dictionary") != "test2" || o.CustomFields.String("galka") != "false" ||
		o.CustomFields.String("test_number") != "0" {
		t.Errorf("customFields = %v", o.CustomFields)
	}
	if o.Customer.ID != 4924 || o.Customer.Phones[0].Number != "+79515151515" || o.Contact.ID != 4924 ||
		o.Customer.TotalSumm.String() != "10224.4" || o.Customer.OrdersCount != 15 {
		t.Errorf("customer = %+v", o.Customer)
	}
	if o.PurchaseSumm.IntPart() != 60 || len(o.Items) != 1 || o.Items[0].Offer.ID != 61121 || o.Items[0].Quantity.IntPart() != 1 {
		t.Errorf("items = %+v", o.Items)
	}
	if o.Delivery.Address.City != "г. Ростов-на-Дону" {
		t.Errorf("delivery = %+v", o.Delivery)
	}
	at, err := o.CreatedAt.In(c.Location())
	if err != nil || at.UTC().Format(time.RFC3339) != "2021-02-25T06:37:48Z" {
		t.Errorf("createdAt %v (%v)", at, err)
	}
}

func checkFixtureGet(t *testing.T, c *retailcrm.Client) {
	o, err := c.Order(context.Background(), 6722)
	if err != nil {
		t.Fatal(err)
	}
	if o.ExternalID != "8123522898559160" || o.Currency != "RUB" || len(o.Payments) != 1 {
		t.Fatalf("order = %+v", o)
	}
	p := o.Payments[0]
	if p.ID != 4326 || p.Type != "bank-card" || !p.Amount.IsZero() || p.PaidAt.String() != "2020-12-29 17:35:12" {
		t.Errorf("payment = %+v", p)
	}
}

func checkFixtureEdit(t *testing.T, c *retailcrm.Client) {
	comment := "Manager comment"
	res, err := c.EditOrder(context.Background(), 6722, "aliexpress", retailcrm.OrderPatch{ManagerComment: &comment})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != 6722 || res.Order.ManagerComment != comment {
		t.Errorf("edit = %+v", res)
	}
}

func checkFixtureOrderStatuses(t *testing.T, c *retailcrm.Client) {
	st, err := c.OrderStatuses(context.Background(), []int64{6722})
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Status != "delivering" || st[0].Group != "delivery" {
		t.Errorf("statuses = %+v", st)
	}
}

func checkFixtureReferences(t *testing.T, c *retailcrm.Client) {
	ctx := context.Background()
	st, err := c.Statuses(ctx)
	if err != nil || st["new"].Group != "new" || st["3"].Group != "complete" {
		t.Errorf("statuses: %v %+v", err, st["new"])
	}
	g, err := c.StatusGroups(ctx)
	if err != nil || len(g["new"].Statuses) == 0 || g["cancel"].Code != "cancel" {
		t.Errorf("groups: %v %+v", err, g["new"])
	}
	for code, s := range st {
		if s.Code != code {
			t.Errorf("status key %q has code %q", code, s.Code)
		}
	}
	m, err := c.OrderMethods(ctx)
	if err != nil || len(m) == 0 {
		t.Errorf("order methods: %v %d", err, len(m))
	}
	d, err := c.DeliveryTypes(ctx)
	if err != nil || len(d) == 0 {
		t.Errorf("delivery types: %v %d", err, len(d))
	}
	pt, err := c.PaymentTypes(ctx)
	if err != nil || len(pt) == 0 {
		t.Errorf("payment types: %v %d", err, len(pt))
	}
	sites, err := c.Sites(ctx)
	if err != nil || sites["test"].ID != 100 {
		t.Errorf("sites: %v %+v", err, sites["test"])
	}
}

func checkFixtureAccount(t *testing.T, c *retailcrm.Client) {
	ctx := context.Background()
	cr, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cr.SiteAccess != retailcrm.SiteAccessFull || !cr.HasScope("order_read") ||
		strings.Join(cr.MissingScopes("order_read", "order_write", "reference_read"), ",") != "order_write" {
		t.Errorf("credentials = %+v", cr)
	}
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := s.Location()
	if err != nil || loc.String() != "Europe/Moscow" || s.DefaultCurrency != "RUB" {
		t.Errorf("settings = %+v %v %v", s, loc, err)
	}
}

func checkFixtureErrors(t *testing.T, c *retailcrm.Client) {
	ctx := context.Background()
	html, err := os.ReadFile(filepath.Join(testdataDir, "error_html_405.html"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Order(ctx, 1)
	assertAPIError(t, err, 405, "Method Not Allowed", nil, []error{retailcrm.ErrNotAPI, retailcrm.ErrAccountNotFound})
	_, err = c.EditOrder(ctx, 1, "", retailcrm.OrderPatch{Status: "x"})
	assertAPIError(t, err, 405, "Invalid data", nil, nil)
	for _, id := range []int64{2, 3} {
		if id == 2 {
			_, err = c.EditOrder(ctx, id, "", retailcrm.OrderPatch{Status: "x"})
		} else {
			_, err = c.Order(ctx, id)
		}
		assertAPIError(t, err, 405, "not a RetailCRM API endpoint (HTTP 405)",
			[]error{retailcrm.ErrNotAPI, retailcrm.ErrAccountNotFound}, []error{retailcrm.ErrAuth})
		if strings.Contains(err.Error(), "nginx") || strings.Contains(err.Error(), string(html[:10])) {
			t.Errorf("HTML body leaked into %q", err)
		}
	}
}
