package retailcrmtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// client returns a client for s without rate limit or retries.
func client(t *testing.T, s *retailcrmtest.Server) *retailcrm.Client {
	t.Helper()
	c, err := retailcrm.New(s.URL(), s.APIKey(), retailcrm.WithRate(0),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 1}), retailcrm.WithLocation(s.Location()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	s.AddUser(retailcrm.User{ID: 14, Active: true, IsManager: true, FirstName: "Ольга", LastName: "Петрова", Email: "o.petrova@shop.example"})
	s.AddUser(retailcrm.User{ID: 15, Active: true, IsManager: true, FirstName: "Игорь", Email: "igor@shop.example"})
	s.AddUser(retailcrm.User{ID: 3, Active: false, IsAdmin: true, Email: "owner@shop.example"})
	for i := range 42 {
		s.AddUser(retailcrm.User{Active: true, Email: fmt.Sprintf("u%d@shop.example", i)})
	}
	c := client(t, s)
	p, err := c.Users(ctx, retailcrm.UsersFilter{IsManager: new(true)})
	if err != nil || len(p.Users) != 2 || p.Users[0].ID != 14 || p.Users[0].Name() != "Ольга Петрова" || p.Pagination.TotalCount != 2 {
		t.Fatalf("managers: %v %+v", err, p)
	}
	p, err = c.Users(ctx, retailcrm.UsersFilter{Email: "IGOR@shop.example"})
	if err != nil || len(p.Users) != 1 || p.Users[0].ID != 15 {
		t.Errorf("by e-mail: %v %+v", err, p)
	}
	p, err = c.Users(ctx, retailcrm.UsersFilter{Active: new(false)})
	if err != nil || len(p.Users) != 1 || p.Users[0].ID != 3 || p.Users[0].Active {
		t.Errorf("inactive: %v %+v", err, p)
	}
	s.ResetCounters()
	all, err := c.AllUsers(ctx, retailcrm.UsersFilter{Limit: 20})
	if err != nil || len(all) != 45 || s.Requests("/api/v5/users") != 3 {
		t.Errorf("all users: %v, %d users in %d requests", err, len(all), s.Requests("/api/v5/users"))
	}
	u, err := c.User(ctx, 14)
	if err != nil || u.Email != "o.petrova@shop.example" || !u.IsManager {
		t.Errorf("user 14: %v %+v", err, u)
	}
	if _, err := c.User(ctx, 999); !errors.Is(err, retailcrm.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if s.Requests("/api/v5/users/{id}") != 2 {
		t.Errorf("user reads counted %d", s.Requests("/api/v5/users/{id}"))
	}
	// Strict: limits, flags and the scope.
	for _, q := range []string{"limit=25", "filter[active]=yes", "filter[isManager]=true", "page=0"} {
		if a := call(t, s, "GET", "/api/v5/users?"+q, s.APIKey(), nil, ""); a.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", q, a.status)
		}
	}
	if a := call(t, s, "POST", "/api/v5/users", s.APIKey(), nil, formType); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /users: %d", a.status)
	}
	noUsers := retailcrmtest.New(t, retailcrmtest.Options{Scopes: []string{"order_read", "customer_read", "reference_read"}})
	for _, call := range []func(c *retailcrm.Client) error{
		func(c *retailcrm.Client) error { _, err := c.Users(ctx, retailcrm.UsersFilter{}); return err },
		func(c *retailcrm.Client) error { _, err := c.User(ctx, 1); return err },
	} {
		var apiErr *retailcrm.APIError
		if err := call(client(t, noUsers)); !errors.Is(err, retailcrm.ErrAccessDenied) || !errors.As(err, &apiErr) ||
			apiErr.HTTPStatus != http.StatusForbidden || apiErr.Scope != retailcrm.ScopeUserRead {
			t.Errorf("without user_read: %v", err)
		}
	}
}

// b2b seeds a corporate customer with two companies and a contact person,
// and one order of it.
func b2b(t *testing.T) (*retailcrmtest.Server, retailcrm.CorporateCustomer, retailcrm.Order) {
	t.Helper()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	s.AddCustomer(retailcrm.Customer{FirstName: "Anna"})
	cc := s.AddCorporateCustomer(retailcrm.CorporateCustomer{ExternalID: "b2b-1", NickName: "Кухни и Ко", ManagerID: 14,
		Companies: []retailcrm.Company{
			{Name: "ООО «Кухни и Ко»", Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity,
				LegalName: "ООО «Кухни и Ко»", INN: "7707083893", KPP: "773601001", OGRN: "1027700132195"}},
			{Name: "ИП Соколова", Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentEnterpreneur,
				LegalName: "ИП Соколова Анна Викторовна", INN: "500100732259", OGRNIP: "304500116000157"}},
		},
		CustomerContacts: []retailcrm.CorporateContact{{Customer: &retailcrm.Customer{FirstName: "Иван", Email: "ivan@kuhni.example",
			Phones: []retailcrm.Phone{{Number: "+79161234567"}}}}},
	})
	contact := cc.CustomerContacts[0].Customer.ID
	o := s.CreateOrder(retailcrm.Order{OrderType: "eshop-legal", TotalSumm: decimal.NewFromInt(50000),
		Customer: &retailcrm.Customer{Type: retailcrm.CustomerTypeCorporate, ID: cc.ID}, Contact: &retailcrm.Customer{ID: contact}})
	return s, cc, o
}

func TestCorporateCustomers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, cc, o := b2b(t)
	c := client(t, s)
	if cc.ID != 2 || len(cc.Companies) != 2 || !cc.Companies[0].IsMain || cc.MainCompany.ID != cc.Companies[0].ID ||
		cc.CustomerContacts[0].Customer.ID != 3 || cc.MainCustomerContact == nil {
		t.Fatalf("stored %+v", cc)
	}

	// The order as the API serves it: the corporate customer, the person,
	// the main company and its legal details.
	got, err := c.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Corporate() || got.Customer.ID != cc.ID || got.Customer.NickName != "Кухни и Ко" || got.Customer.FirstName != "" ||
		got.Contact == nil || got.Contact.ID != 3 || got.Contact.Email != "ivan@kuhni.example" ||
		got.Company == nil || got.Company.ID != cc.Companies[0].ID || got.Company.Contragent.INN != "7707083893" ||
		got.Contragent == nil || got.Contragent.KPP != "773601001" {
		t.Errorf("corporate order %s", got.Raw)
	}
	// An individual's order with a legal entity's details stays individual.
	ind := s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{ID: 1},
		Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, INN: "7728168971", KPP: "770401001"}})
	if got, err := c.Order(ctx, ind.ID); err != nil || got.Corporate() || got.Company != nil || got.Contragent.INN != "7728168971" ||
		got.Contact == nil || got.Contact.ID != 1 {
		t.Errorf("individual order: %v %s", err, got.Raw)
	}

	list, err := c.CorporateCustomersByID(ctx, []int64{cc.ID, 1, 999})
	if err != nil || len(list) != 1 || list[0].NickName != "Кухни и Ко" || list[0].MainCompany == nil ||
		list[0].MainCompany.Name != "ООО «Кухни и Ко»" || len(list[0].Companies) != 0 || list[0].OrdersCount != 1 {
		t.Errorf("list: %v %+v", err, list)
	}
	companies, err := c.CorporateCompanies(ctx, cc.ID, retailcrmtest.DefaultSite)
	if err != nil || len(companies) != 2 || companies[1].Contragent.OGRNIP != "304500116000157" || companies[0].Customer.ID != cc.ID {
		t.Errorf("companies: %v %+v", err, companies)
	}
	added, err := s.AddCompany(cc.ID, retailcrm.Company{Name: "ООО «Ресторан Вкус»", Contragent: &retailcrm.Contragent{
		Type: retailcrm.ContragentLegalEntity, INN: "7728168971", KPP: "770401001"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.CorporateCustomersHistory(ctx, retailcrm.HistoryFilter{})
	if err != nil || len(h.History) != 2 {
		t.Fatalf("history: %v %+v", err, h)
	}
	if r := h.History[0]; !r.Created || r.Field != "id" || r.NewValue.String() != fmt.Sprint(cc.ID) || len(r.Customer.Companies) != 2 ||
		r.Customer.Companies[0].Contragent.INN != "7707083893" || r.Customer.CustomerContacts[0].Customer.ID != 3 || r.OwnChange() {
		t.Errorf("created record %+v", r)
	}
	if r := h.History[1]; r.Field != "company" || r.NewValue.ID() != added.ID || r.Company.Contragent.KPP != "770401001" ||
		r.CustomerID() != cc.ID || r.User == nil || r.User.ID != retailcrmtest.DefaultUserID {
		t.Errorf("company record %+v", r)
	}
	if _, err := s.AddCompany(999, retailcrm.Company{}); err == nil {
		t.Error("company of an unknown customer accepted")
	}

	// Strict: by, unknown customers, an externalId by default, the scope.
	for path, want := range map[string]int{
		"/api/v5/customers-corporate/" + fmt.Sprint(cc.ID) + "/companies?by=id": 200,
		"/api/v5/customers-corporate/b2b-1/companies":                           200,
		"/api/v5/customers-corporate/" + fmt.Sprint(cc.ID) + "/companies":       404, // by defaults to externalId
		"/api/v5/customers-corporate/999/companies?by=id":                       404,
		"/api/v5/customers-corporate/b2b-1/companies?by=code":                   400,
		"/api/v5/customers-corporate/b2b-1/companies?site=other":                404,
		"/api/v5/customers-corporate?limit=10":                                  400,
		"/api/v5/customers-corporate/history?filter[sinceId]=1&page=1":          400,
	} {
		if a := call(t, s, "GET", path, s.APIKey(), nil, ""); a.status != want {
			t.Errorf("%s: %d, want %d: %s", path, a.status, want, a.raw)
		}
	}
	noCustomers := retailcrmtest.New(t, retailcrmtest.Options{Scopes: []string{"order_read", "reference_read", "user_read"}})
	nc := client(t, noCustomers)
	for name, call := range map[string]func() error{
		"list":      func() error { _, err := nc.CorporateCustomers(ctx, retailcrm.IDsFilter{}); return err },
		"history":   func() error { _, err := nc.CorporateCustomersHistory(ctx, retailcrm.HistoryFilter{}); return err },
		"companies": func() error { _, err := nc.CorporateCompanies(ctx, 1, ""); return err },
		"customers": func() error { _, err := nc.Customers(ctx, retailcrm.IDsFilter{}); return err },
	} {
		var apiErr *retailcrm.APIError
		if err := call(); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusForbidden || apiErr.Scope != retailcrm.ScopeCustomerRead {
			t.Errorf("%s without customer_read: %v", name, err)
		}
	}
}

// TestCorporateChanges: a renamed corporate customer and a company whose
// legal details changed are written to /customers-corporate/history, one
// record per value (the company beside the company.* ones), and the
// customer's orders carry the new name and company.
func TestCorporateChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, cc, o := b2b(t)
	c := client(t, s)
	head := s.LastCorporateHistoryID()
	if err := s.UpdateCorporateCustomer(cc.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = "Кухни и Ко Групп" }); err != nil {
		t.Fatal(err)
	}
	co := cc.Companies[0].ID
	if err := s.UpdateCompany(cc.ID, co, func(c *retailcrm.Company) {
		c.Contragent.LegalName = "ООО «Кухни и Ко Групп»"
		c.Contragent.KPP = "773601002"
	}); err != nil {
		t.Fatal(err)
	}
	h, err := c.CorporateCustomersHistory(ctx, retailcrm.HistoryFilter{SinceID: head})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, r := range h.History {
		fields = append(fields, r.Field)
		if r.CustomerID() != cc.ID || r.Source != retailcrm.SourceUser || r.OwnChange() {
			t.Errorf("record %+v", r)
		}
		if strings.HasPrefix(r.Field, "company.") && (r.Company == nil || r.Company.ID != co || r.Company.Contragent.KPP != "773601002") {
			t.Errorf("company record without the changed company: %+v", r)
		}
	}
	if want := []string{"nick_name", "company.contragent.legal_name", "company.contragent.kpp"}; !slices.Equal(fields, want) {
		t.Errorf("fields %q, want %q", fields, want)
	}
	if r := h.History[0]; r.OldValue.String() != "Кухни и Ко" || r.NewValue.String() != "Кухни и Ко Групп" {
		t.Errorf("nick_name values %s → %s", r.OldValue.String(), r.NewValue.String())
	}
	got, err := c.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Customer.NickName != "Кухни и Ко Групп" || got.Company.Contragent.LegalName != "ООО «Кухни и Ко Групп»" || got.Company.Contragent.KPP != "773601002" {
		t.Errorf("the order did not follow: %s", got.Raw)
	}
	if err := s.UpdateCorporateCustomer(999, func(*retailcrm.CorporateCustomer) {}); err == nil {
		t.Error("unknown corporate customer accepted")
	}
	if err := s.UpdateCompany(cc.ID, 999, func(*retailcrm.Company) {}); err == nil {
		t.Error("unknown company accepted")
	}
}

// A merge moves the merged customer's orders to the surviving one (order
// records of source "combine"), deletes the merged customer with a record
// naming the survivor in combinedTo, and leaves the survivor's own data as
// it was.
func TestMergeCustomers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c := client(t, s)
	into := s.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com", Phones: []retailcrm.Phone{{Number: "+79990000001"}}})
	from := s.AddCustomer(retailcrm.Customer{FirstName: "Аня", Email: "anya@example.com", ExternalID: "web-7",
		Phones: []retailcrm.Phone{{Number: "+79990000002"}}})
	o1 := s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{ID: from.ID}, TotalSumm: decimal.NewFromInt(100)})
	o2 := s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{ID: from.ID}, TotalSumm: decimal.NewFromInt(50)})
	o3 := s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{ID: into.ID}, TotalSumm: decimal.NewFromInt(10)})
	orderHead, custHead := s.LastHistoryID(), lastHistoryID(t, c.CustomersHistory)

	if err := s.MergeCustomers(from.ID, into.ID); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]int64{{into.ID, into.ID}, {from.ID, into.ID}, {into.ID, 999}} {
		if err := s.MergeCustomers(bad[0], bad[1]); err == nil {
			t.Errorf("merge %d into %d accepted", bad[0], bad[1])
		}
	}

	ch, err := c.CustomersHistory(ctx, retailcrm.HistoryFilter{SinceID: custHead})
	if err != nil || len(ch.History) != 1 {
		t.Fatalf("customers history: %v %+v", err, ch)
	}
	r := ch.History[0]
	old, _ := r.OldValue.Decimal()
	if !r.Deleted || r.Source != retailcrm.SourceCombine || r.Field != "id" || old.IntPart() != from.ID || !r.NewValue.IsNull() ||
		r.MergedInto() != into.ID || r.CombinedTo.Site != retailcrmtest.DefaultSite || r.Customer.ID != from.ID ||
		r.Customer.Email != "anya@example.com" || r.Customer.Phones[0].Number != "+79990000002" || r.User != nil {
		t.Errorf("merge record %+v", r)
	}
	oh, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: orderHead})
	if err != nil || len(oh.History) != 2 {
		t.Fatalf("orders history: %v %+v", err, oh)
	}
	for i, want := range []int64{o1.ID, o2.ID} {
		r := oh.History[i]
		if r.OrderID() != want || r.Source != retailcrm.SourceCombine || r.Field != "customer" || r.OldValue.ID() != from.ID ||
			r.NewValue.ID() != into.ID || r.Deleted {
			t.Errorf("order record %d: %+v", i, r)
		}
	}
	orders, err := c.OrdersByID(ctx, []int64{o1.ID, o2.ID, o3.ID})
	if err != nil || len(orders) != 3 {
		t.Fatal(err)
	}
	for _, o := range orders {
		if o.Customer.ID != into.ID || o.Customer.Email != "anna@example.com" {
			t.Errorf("order %d: customer %+v", o.ID, o.Customer)
		}
	}
	got, err := c.CustomersByID(ctx, []int64{from.ID, into.ID})
	if err != nil || len(got) != 1 || got[0].ID != into.ID || got[0].OrdersCount != 3 || !got[0].TotalSumm.Equal(decimal.NewFromInt(160)) ||
		len(got[0].Phones) != 1 || got[0].Email != "anna@example.com" {
		t.Errorf("customers after the merge: %v %+v", err, got)
	}
	if _, ok := s.Customer(from.ID); ok {
		t.Error("merged customer still stored")
	}
	if id, ok := s.MergedInto(from.ID); !ok || id != into.ID {
		t.Errorf("MergedInto = %d %v", id, ok)
	}
}

// The contact person of a corporate order follows a merge too.
func TestMergeMovesContactPersons(t *testing.T) {
	t.Parallel()
	s, cc, o := b2b(t)
	person := cc.CustomerContacts[0].Customer.ID
	if err := s.MergeCustomers(person, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Order(o.ID)
	stored, _ := s.CorporateCustomer(cc.ID)
	if !got.Corporate() || got.Customer.ID != cc.ID || got.Contact.ID != 1 || stored.CustomerContacts[0].Customer.ID != 1 ||
		stored.MainCustomerContact.Customer.ID != 1 {
		t.Errorf("order %+v, corporate contacts %+v", got.Contact, stored.CustomerContacts)
	}
	p, err := client(t, s).OrdersHistory(context.Background(), retailcrm.HistoryFilter{OrderID: o.ID})
	if err != nil || p.History[len(p.History)-1].Field != "contact" || p.History[len(p.History)-1].Source != retailcrm.SourceCombine {
		t.Errorf("contact record: %v %+v", err, p)
	}
}

// A phone added to a customer is recorded with the number as a plain
// string, as in the recorded customers history.
func TestPhoneRecordsCarryTheNumber(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	cust := s.AddCustomer(retailcrm.Customer{FirstName: "Anna"})
	if err := s.UpdateCustomer(cust.ID, func(c *retailcrm.Customer) { c.Phones = []retailcrm.Phone{{Number: "+79001234567"}} }); err != nil {
		t.Fatal(err)
	}
	a := call(t, s, "GET", "/api/v5/customers/history?filter[sinceId]=1", s.APIKey(), nil, "")
	rec := a.body["history"].([]any)[0].(map[string]any)
	if rec["field"] != "phones" || rec["newValue"] != "+79001234567" || rec["oldValue"] != nil {
		t.Errorf("phone record %v", rec)
	}
}

// An order deleted in RetailCRM: a deleted record with the old id, gone
// from every read.
func TestDeletedOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c := client(t, s)
	o := s.CreateOrder(retailcrm.Order{ExternalID: "web-1", Customer: &retailcrm.Customer{FirstName: "Anna"}})
	head := s.LastHistoryID()
	if err := s.DeleteOrder(o.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrder(o.ID); err == nil {
		t.Error("deleted twice")
	}
	p, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: head})
	if err != nil || len(p.History) != 1 {
		t.Fatalf("%v %+v", err, p)
	}
	r := p.History[0]
	old, _ := r.OldValue.Decimal()
	if !r.Deleted || r.Field != "id" || old.IntPart() != o.ID || !r.NewValue.IsNull() || r.OrderID() != o.ID ||
		r.Order.ExternalID != "web-1" || r.Source != retailcrm.SourceUser || r.User.ID != retailcrmtest.DefaultUserID {
		t.Errorf("deleted record %+v", r)
	}
	if _, err := c.Order(ctx, o.ID); !errors.Is(err, retailcrm.ErrNotFound) {
		t.Errorf("deleted order read: %v", err)
	}
	if got, err := c.OrdersByID(ctx, []int64{o.ID}); err != nil || len(got) != 0 {
		t.Errorf("deleted order listed: %v %+v", err, got)
	}
}

// lastHistoryID walks a history (read: the client's OrdersHistory,
// CustomersHistory, ...) from the start and returns its last record's id.
func lastHistoryID[P interface{ LastID() int64 }](tb testing.TB, read func(context.Context, retailcrm.HistoryFilter) (P, error)) int64 {
	tb.Helper()
	var last int64
	for {
		p, err := read(context.Background(), retailcrm.HistoryFilter{SinceID: last})
		if err != nil {
			tb.Fatal(err)
		}
		id := p.LastID() // 0 for an empty page: the walk has caught up
		if id == 0 {
			return last
		}
		last = id
	}
}
