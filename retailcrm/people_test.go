package retailcrm_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// The recorded answers of users, customers and corporate customers
// (testdata/retailcrm, from api-client-php's tests) decode into the typed
// fields crmsync reads.
func TestPeopleFixtures(t *testing.T) {
	c := parallelFixtures(t)
	ctx := context.Background()

	t.Run("users", func(t *testing.T) {
		p, err := c.Users(ctx, retailcrm.UsersFilter{Active: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Users) != 1 || p.Pagination.TotalCount != 8 {
			t.Fatalf("users %+v", p)
		}
		u := p.Users[0]
		if u.ID != 28 || u.Email != "programmer@retailcrm.ru" || !u.Active || !u.IsManager || !u.IsAdmin ||
			u.Name() != "programmer" || len(u.Groups) != 2 || u.Groups[0].Code != "manager" || u.CreatedAt.String() != "2020-05-25 12:49:00" {
			t.Errorf("user %+v", u)
		}
		one, err := c.User(ctx, 28)
		if err != nil || one.ID != 28 || one.Email != u.Email || one.Status != "free" {
			t.Errorf("user 28: %v %+v", err, one)
		}
	})

	t.Run("customers", func(t *testing.T) {
		p, err := c.Customers(ctx, retailcrm.IDsFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Customers) != 1 || len(p.Customers[0].Phones) != 1 || p.Customers[0].Phones[0].Number != "89229112322" ||
			p.Customers[0].Contragent == nil || p.Customers[0].Contragent.Type != retailcrm.ContragentIndividual {
			t.Errorf("customers %+v", p.Customers)
		}
	})

	t.Run("customers history", func(t *testing.T) {
		p, err := c.CustomersHistory(ctx, retailcrm.HistoryFilter{SinceID: 2691})
		if err != nil {
			t.Fatal(err)
		}
		deleted, created := 0, 0
		for _, r := range p.History {
			if r.MergedInto() != 0 {
				t.Errorf("record %d: merged into %d", r.ID, r.MergedInto())
			}
			if r.Created {
				created++
			}
			if !r.Deleted {
				continue
			}
			deleted++
			// A deleted customer: field "id", the old id as a number, a full
			// snapshot of what was deleted.
			old, _ := r.OldValue.Decimal()
			if r.Field != "id" || old.IntPart() != r.Customer.ID || !r.NewValue.IsNull() || r.Source != retailcrm.SourceUser ||
				r.User == nil || r.User.ID != 23 || r.Customer.Type != retailcrm.CustomerTypeIndividual || r.Customer.FirstName == "" {
				t.Errorf("deleted record %d: %+v", r.ID, r)
			}
		}
		if deleted != 10 || created != 9 {
			t.Errorf("%d deleted, %d created records", deleted, created)
		}
		// A phone added: the number as a plain string.
		for _, r := range p.History {
			if r.ID == 2696 && (r.Field != "phones" || r.NewValue.String() != "9515120000" || !r.OldValue.IsNull()) {
				t.Errorf("phone record %+v", r)
			}
		}
	})

	t.Run("corporate customers history", func(t *testing.T) {
		p, err := c.CorporateCustomersHistory(ctx, retailcrm.HistoryFilter{SinceID: 4241, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.History) != 7 || p.LastID() != 4249 {
			t.Fatalf("%d records up to %d", len(p.History), p.LastID())
		}
		byID := map[int64]retailcrm.CorporateHistoryRecord{}
		for _, r := range p.History {
			byID[r.ID] = r
			if r.CustomerID() == 0 {
				t.Errorf("record %d without customer", r.ID)
			}
		}
		if r := byID[4242]; r.Field != "contact" || r.NewValue.ID() != 944 || r.CustomerContact == nil || r.CustomerContact.Customer.ID != 5042 {
			t.Errorf("contact record %+v", r)
		}
		if r := byID[4246]; r.Field != "company" || r.NewValue.ID() != 771 || r.Company == nil || r.Company.Contragent == nil ||
			r.Company.Contragent.INN != "5921305044" || r.Company.Contragent.KPP != "027043442" ||
			r.Company.Contragent.OGRN != "1180284568463" || r.Company.Contragent.Type != retailcrm.ContragentLegalEntity ||
			r.Company.Contragent.LegalName != "Test Company" {
			t.Errorf("company record %+v", r.Company)
		}
		full := byID[4249]
		cc := full.Customer
		if !full.Created || !full.OwnChange() || cc.Type != retailcrm.CustomerTypeCorporate || cc.NickName != "Test Corp Company" ||
			cc.ManagerID != 24 || len(cc.Companies) != 1 || cc.Companies[0].ID != 772 || cc.Companies[0].Contragent.Type != retailcrm.ContragentLegalEntity ||
			len(cc.CustomerContacts) != 1 || cc.CustomerContacts[0].Customer.ID != 5039 || cc.MainCompany.ID != 772 {
			t.Errorf("created record %+v", cc)
		}
	})

	t.Run("corporate customers", func(t *testing.T) {
		p, err := c.CorporateCustomers(ctx, retailcrm.IDsFilter{IDs: []int64{5041}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.CustomersCorporate) != 1 {
			t.Fatalf("%+v", p)
		}
		cc := p.CustomersCorporate[0]
		if cc.ID != 5041 || cc.NickName != "Test Corporate Customer" || cc.MainCompany == nil || cc.MainCompany.Name != "Test Company" ||
			cc.MainCustomerContact == nil || cc.MainCustomerContact.Customer.ID != 5042 ||
			cc.MainCustomerContact.Companies[0].Company.ID != 771 || len(cc.Companies) != 0 {
			t.Errorf("corporate customer %+v", cc)
		}
		companies, err := c.CorporateCompanies(ctx, 5043, "aliexpress")
		if err != nil {
			t.Fatal(err)
		}
		if len(companies) != 1 || companies[0].ID != 772 || !companies[0].IsMain || companies[0].Customer == nil ||
			companies[0].Customer.ID != 5043 || companies[0].Customer.Type != retailcrm.CustomerTypeCorporate ||
			companies[0].Contragent.Type != retailcrm.ContragentLegalEntity {
			t.Errorf("companies %+v", companies)
		}
	})
}

// combinedTo and deleted records decode into the history types: the shape
// is documented (the history guide's example of combinedTo), no recorded
// answer has one.
func TestMergeAndDeletionRecordsDecode(t *testing.T) {
	t.Parallel()
	var cust retailcrm.CustomerHistoryRecord
	if err := json.Unmarshal([]byte(`{"id": 9, "createdAt": "2025-06-01 10:00:00", "deleted": true, "source": "combine",
		"field": "id", "oldValue": 974, "newValue": null, "customer": {"type": "customer", "id": 974, "site": "shop"},
		"combinedTo": {"id": 123, "externalId": "ee-22-xx", "site": "mishki-online"}}`), &cust); err != nil {
		t.Fatal(err)
	}
	if cust.MergedInto() != 123 || !cust.Deleted || cust.Source != retailcrm.SourceCombine || cust.CombinedTo.ExternalID != "ee-22-xx" {
		t.Errorf("customer merge record %+v", cust)
	}
	var ord retailcrm.HistoryRecord
	if err := json.Unmarshal([]byte(`{"id": 10, "createdAt": "2025-06-01 10:00:00", "deleted": true, "source": "user",
		"user": {"id": 19}, "field": "id", "oldValue": 55, "newValue": null, "order": {"id": 55, "site": "shop", "status": "new"}}`), &ord); err != nil {
		t.Fatal(err)
	}
	if !ord.Deleted || ord.OrderID() != 55 || ord.MergedInto() != 0 {
		t.Errorf("order deletion record %+v", ord)
	}
	var corp retailcrm.CorporateHistoryRecord
	if err := json.Unmarshal([]byte(`{"id": 11, "createdAt": "2025-06-01 10:00:00", "deleted": true, "source": "combine",
		"field": "id", "oldValue": 5041, "newValue": null, "customer": {"id": 5041}, "combinedTo": {"id": 5043}}`), &corp); err != nil {
		t.Fatal(err)
	}
	if corp.CombinedTo == nil || corp.CombinedTo.ID != 5043 || corp.CustomerID() != 5041 {
		t.Errorf("corporate merge record %+v", corp)
	}
}

// Each new call has a scope in EndpointScope, so an "Access denied."
// answer names what to allow.
func TestPeopleEndpointScopes(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/api/v5/users":                              retailcrm.ScopeUserRead,
		"/api/v5/users/28":                           retailcrm.ScopeUserRead,
		"/api/v5/customers":                          retailcrm.ScopeCustomerRead,
		"/api/v5/customers-corporate":                retailcrm.ScopeCustomerRead,
		"/api/v5/customers-corporate/history":        retailcrm.ScopeCustomerRead,
		"/api/v5/customers-corporate/5043/companies": retailcrm.ScopeCustomerRead,
		"/api/v5/usersx":                             "",
	} {
		if got := retailcrm.EndpointScope("GET", path); got != want {
			t.Errorf("%s: scope %q, want %q", path, got, want)
		}
	}
	if _, err := fixtureClient(t, testdataDir).User(context.Background(), 0); err == nil || errors.Is(err, retailcrm.ErrNotFound) {
		t.Errorf("user 0: %v", err)
	}
}
