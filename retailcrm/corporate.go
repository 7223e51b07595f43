package retailcrm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
)

// Customer types: an order's customer.type says which kind of customer
// bought. A corporate order's customer is the corporate customer (nickName,
// no person's name); the person is the order's contact and the organisation
// its company.
const (
	CustomerTypeIndividual = "customer"
	CustomerTypeCorporate  = "customer_corporate"
)

// Corporate reports whether the order was placed by a corporate customer.
func (o *Order) Corporate() bool {
	return o.Customer != nil && o.Customer.Type == CustomerTypeCorporate
}

// CorporateCustomer is a B2B customer (GET /api/v5/customers-corporate,
// history snapshots). Companies are carried in full only by the snapshot of
// the created history record; the list names the main company by {id,
// name}: read the companies with CorporateCompanies.
type CorporateCustomer struct {
	Type                string             `json:"type,omitempty"`
	ID                  int64              `json:"id"`
	ExternalID          string             `json:"externalId,omitempty"`
	NickName            string             `json:"nickName,omitempty"`
	Site                string             `json:"site,omitempty"`
	CreatedAt           DateTime           `json:"createdAt"`
	ManagerID           int64              `json:"managerId,omitempty"`
	CustomerContacts    []CorporateContact `json:"customerContacts,omitempty"`
	MainCustomerContact *CorporateContact  `json:"mainCustomerContact,omitempty"`
	Companies           []Company          `json:"companies,omitempty"`
	MainCompany         *Company           `json:"mainCompany,omitempty"`
	OrdersCount         int64              `json:"ordersCount,omitempty"`
	TotalSumm           decimal.Decimal    `json:"totalSumm"`
	CustomFields        CustomFields       `json:"customFields,omitempty"`
}

// CorporateContact is a contact person of a corporate customer: an
// individual customer (Customer, often only its id) and the companies the
// person acts for.
type CorporateContact struct {
	ID        int64            `json:"id"`
	IsMain    bool             `json:"isMain,omitempty"`
	Customer  *Customer        `json:"customer,omitempty"`
	Companies []ContactCompany `json:"companies,omitempty"`
}

// ContactCompany links a contact person to a company ({id, company{id,
// name}}).
type ContactCompany struct {
	ID      int64    `json:"id"`
	Company *Company `json:"company,omitempty"`
}

// CorporateHistoryRecord is one change of a corporate customer
// (/api/v5/customers-corporate/history). Customer is the snapshot: full on
// the created record, {id, site} otherwise. Company and CustomerContact name
// the company or contact person a company.* or contact.* record concerns.
type CorporateHistoryRecord struct {
	HistoryChange
	Customer        *CorporateCustomer `json:"customer,omitempty"`
	CombinedTo      *CorporateCustomer `json:"combinedTo,omitempty"`
	Company         *Company           `json:"company,omitempty"`
	CustomerContact *CorporateContact  `json:"customerContact,omitempty"`
}

// CustomerID returns the id of the record's corporate customer, or 0.
func (r *CorporateHistoryRecord) CustomerID() int64 {
	if r.Customer == nil {
		return 0
	}
	return r.Customer.ID
}

// CorporateCustomersHistory reads one page of
// /api/v5/customers-corporate/history, walked by sinceId like the other
// histories (HistoryFilter.CustomerID selects one corporate customer).
func (c *Client) CorporateCustomersHistory(ctx context.Context, f HistoryFilter) (*CorporateHistoryPage, error) {
	return getHistory[CorporateHistoryRecord](ctx, c, "/api/v5/customers-corporate/history", f, "filter[customerId]", f.CustomerID)
}

// IDsFilter selects entities of a list endpoint by internal id.
type IDsFilter struct {
	IDs []int64
	// Limit is 20, 50 or 100; 0 means 100.
	Limit int
	// Page is 1-based; 0 sends none (page 1).
	Page int
}

func (f IDsFilter) query() (url.Values, error) {
	q := url.Values{}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if !validLimit(limit) {
		return nil, fmt.Errorf("retailcrm: limit %d: %w", limit, errBadLimit)
	}
	if len(f.IDs) > limit {
		return nil, fmt.Errorf("retailcrm: %d ids do not fit one page of %d", len(f.IDs), limit)
	}
	q.Set("limit", strconv.Itoa(limit))
	if f.Page < 0 {
		return nil, errors.New("retailcrm: negative page")
	}
	if f.Page > 0 {
		q.Set("page", strconv.Itoa(f.Page))
	}
	for _, id := range f.IDs {
		q.Add("filter[ids][]", strconv.FormatInt(id, 10))
	}
	return q, nil
}

// CorporateCustomersPage is one answer of /api/v5/customers-corporate.
type CorporateCustomersPage struct {
	CustomersCorporate []CorporateCustomer `json:"customersCorporate"`
	Pagination         Pagination          `json:"pagination"`
}

type corporateCustomersResponse struct {
	envelope
	CorporateCustomersPage
}

// CorporateCustomers reads one page of /api/v5/customers-corporate.
func (c *Client) CorporateCustomers(ctx context.Context, f IDsFilter) (*CorporateCustomersPage, error) {
	r, err := getPage[corporateCustomersResponse](ctx, c, "/api/v5/customers-corporate", f.query)
	if err != nil {
		return nil, err
	}
	return &r.CorporateCustomersPage, nil
}

// CorporateCustomersByID reads the given corporate customers, 100 ids per
// request; missing (deleted, merged) ids are skipped; the result is in id
// order.
func (c *Client) CorporateCustomersByID(ctx context.Context, ids []int64) ([]CorporateCustomer, error) {
	return byIDs(ids, 100, func(chunk []int64) ([]CorporateCustomer, error) {
		p, err := c.CorporateCustomers(ctx, IDsFilter{IDs: chunk})
		if err != nil {
			return nil, err
		}
		return p.CustomersCorporate, nil
	}, func(x *CorporateCustomer) int64 { return x.ID })
}

type companiesResponse struct {
	envelope
	Companies  []Company  `json:"companies"`
	Pagination Pagination `json:"pagination"`
}

// CorporateCompanies reads every company of the corporate customer with
// internal id (GET /api/v5/customers-corporate/{id}/companies?by=id), with
// their legal details (contragent). site is the customer's store; pass it
// when the key covers several stores.
func (c *Client) CorporateCompanies(ctx context.Context, id int64, site string) ([]Company, error) {
	if id <= 0 {
		return nil, fmt.Errorf("retailcrm: corporate customer id %d", id)
	}
	path := "/api/v5/customers-corporate/" + strconv.FormatInt(id, 10) + "/companies"
	return allPages(func(page int) ([]Company, Pagination, error) {
		q := url.Values{"by": {"id"}, "limit": {"100"}, "page": {strconv.Itoa(page)}}
		if site != "" {
			q.Set("site", site)
		}
		var r companiesResponse
		if err := c.get(ctx, path, q, &r); err != nil {
			return nil, Pagination{}, err
		}
		return r.Companies, r.Pagination, nil
	})
}

// CustomersPage is one answer of /api/v5/customers.
type CustomersPage struct {
	Customers  []Customer `json:"customers"`
	Pagination Pagination `json:"pagination"`
}

type customersResponse struct {
	envelope
	CustomersPage
}

// Customers reads one page of /api/v5/customers (individual customers).
func (c *Client) Customers(ctx context.Context, f IDsFilter) (*CustomersPage, error) {
	r, err := getPage[customersResponse](ctx, c, "/api/v5/customers", f.query)
	if err != nil {
		return nil, err
	}
	return &r.CustomersPage, nil
}

// CustomersByID reads the given customers, 100 ids per request; missing
// ids (a customer deleted or merged into another) are skipped; the result
// is in id order.
func (c *Client) CustomersByID(ctx context.Context, ids []int64) ([]Customer, error) {
	return byIDs(ids, 100, func(chunk []int64) ([]Customer, error) {
		p, err := c.Customers(ctx, IDsFilter{IDs: chunk})
		if err != nil {
			return nil, err
		}
		return p.Customers, nil
	}, func(x *Customer) int64 { return x.ID })
}

func uniqueIDs(ids []int64) []int64 {
	u := slices.Clone(ids)
	slices.Sort(u)
	return slices.Compact(u)
}

// MergedInto returns the id of the customer this one was merged into
// (combinedTo), or 0 when the record is not a merge.
func (r *CustomerHistoryRecord) MergedInto() int64 {
	if r.CombinedTo == nil {
		return 0
	}
	return r.CombinedTo.ID
}

// MergedInto returns the id of the order this one was merged into
// (combinedTo), or 0.
func (r *HistoryRecord) MergedInto() int64 {
	if r.CombinedTo == nil {
		return 0
	}
	return r.CombinedTo.ID
}
