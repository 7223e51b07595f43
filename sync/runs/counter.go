package runs

import (
	"context"
	"fmt"
	"net/http"
	stdsync "sync"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/metrics"
)

// The APIs a Counter counts, by the names of the summaries' fields
// (bitrix_requests, retailcrm_requests) and the metrics file.
const (
	APIBitrix    = "bitrix"
	APIRetailCRM = "retailcrm"
)

// Counter counts requests per API. It is the one way requests are counted:
// the engines wrap their clients with RetailCRM and Bitrix (one count per
// request the engine makes, the clients' own retries not included: the
// summaries' *_requests), and the command wraps the clients' HTTP
// transports with Transport (every attempt, with the limit answers: the
// metrics file). The zero value is ready to use; it is safe for concurrent
// use.
type Counter struct {
	mu   stdsync.Mutex
	apis map[string]*metrics.API
}

// Add counts n requests to api.
func (c *Counter) Add(api string, n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tally(api).Requests += int64(n)
}

func (c *Counter) tally(api string) *metrics.API {
	if c.apis == nil {
		c.apis = map[string]*metrics.API{}
	}
	a := c.apis[api]
	if a == nil {
		a = &metrics.API{}
		c.apis[api] = a
	}
	return a
}

// Requests is how many requests to api were counted.
func (c *Counter) Requests(api string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.apis[api]; a != nil {
		return int(a.Requests)
	}
	return 0
}

// Total is how many requests were counted, all APIs.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, a := range c.apis {
		n += int(a.Requests)
	}
	return n
}

// Snapshot copies the counts per API.
func (c *Counter) Snapshot() map[string]metrics.API {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]metrics.API, len(c.apis))
	for k, v := range c.apis {
		out[k] = *v
	}
	return out
}

// Transport wraps next (nil: http.DefaultTransport) so that every HTTP
// request to api is counted, with the limit and server-error answers.
func (c *Counter) Transport(api string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return countingTransport{api: api, next: next, c: c}
}

type countingTransport struct {
	api  string
	next http.RoundTripper
	c    *Counter
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	a := t.c.tally(t.api)
	a.Requests++
	if err == nil {
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable:
			a.RateLimited++
		case resp.StatusCode == http.StatusTooManyRequests:
			a.TimeLimited++
		case resp.StatusCode >= 500:
			a.ServerError++
		}
	}
	return resp, err
}

// RetailCRM is a RetailCRM client whose requests are counted: one per call,
// one per 100 ids of OrdersByID. It has every method pull and push call;
// each is passed to the wrapped client, which needs only those its engine
// uses (a call it lacks fails).
type RetailCRM struct {
	next any
	c    *Counter
}

// RetailCRM wraps next (a *retailcrm.Client, or an engine's narrower
// interface) so that its requests are counted.
func (c *Counter) RetailCRM(next any) *RetailCRM { return &RetailCRM{next: next, c: c} }

// Unwrap returns the wrapped client (to ask it for optional methods).
func (r *RetailCRM) Unwrap() any { return r.next }

func lacks(next any, method string) error {
	return fmt.Errorf("runs: the RetailCRM client %T has no %s", next, method)
}

// OrdersHistory reads a page of the order history.
func (r *RetailCRM) OrdersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error) {
	c, ok := r.next.(interface {
		OrdersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error)
	})
	if !ok {
		return nil, lacks(r.next, "OrdersHistory")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.OrdersHistory(ctx, f)
}

// HistoryHead reads a page of the orders or customers history for its
// record count, last id and the server's clock; a client without the
// ids-only read is asked for the whole page.
func (r *RetailCRM) HistoryHead(ctx context.Context, stream string, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
	if c, ok := r.next.(interface {
		HistoryHead(context.Context, string, retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error)
	}); ok {
		r.c.Add(APIRetailCRM, 1)
		return c.HistoryHead(ctx, stream, f)
	}
	switch stream {
	case retailcrm.StreamOrders:
		p, err := r.OrdersHistory(ctx, f)
		if err != nil {
			return nil, err
		}
		return &retailcrm.HistoryHeadPage{Records: len(p.History), LastID: p.LastID(), GeneratedAt: p.GeneratedAt}, nil
	case retailcrm.StreamCustomers:
		p, err := r.CustomersHistory(ctx, f)
		if err != nil {
			return nil, err
		}
		return &retailcrm.HistoryHeadPage{Records: len(p.History), LastID: p.LastID(), GeneratedAt: p.GeneratedAt}, nil
	}
	return nil, fmt.Errorf("runs: unknown history stream %q", stream)
}

// CustomersHistory reads a page of the customer history.
func (r *RetailCRM) CustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CustomersHistoryPage, error) {
	c, ok := r.next.(interface {
		CustomersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.CustomersHistoryPage, error)
	})
	if !ok {
		return nil, lacks(r.next, "CustomersHistory")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.CustomersHistory(ctx, f)
}

// Orders reads a page of orders.
func (r *RetailCRM) Orders(ctx context.Context, f retailcrm.OrdersFilter) (*retailcrm.OrdersPage, error) {
	c, ok := r.next.(interface {
		Orders(context.Context, retailcrm.OrdersFilter) (*retailcrm.OrdersPage, error)
	})
	if !ok {
		return nil, lacks(r.next, "Orders")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.Orders(ctx, f)
}

// OrdersByID reads orders by id, 100 ids a request.
func (r *RetailCRM) OrdersByID(ctx context.Context, ids []int64) ([]retailcrm.Order, error) {
	c, ok := r.next.(interface {
		OrdersByID(context.Context, []int64) ([]retailcrm.Order, error)
	})
	if !ok {
		return nil, lacks(r.next, "OrdersByID")
	}
	r.c.Add(APIRetailCRM, (len(ids)+retailcrm.MaxOrderIDs-1)/retailcrm.MaxOrderIDs)
	return c.OrdersByID(ctx, ids)
}

// EditOrder writes a patch to an order.
func (r *RetailCRM) EditOrder(ctx context.Context, id int64, site string, p retailcrm.OrderPatch) (*retailcrm.EditResult, error) {
	c, ok := r.next.(interface {
		EditOrder(context.Context, int64, string, retailcrm.OrderPatch) (*retailcrm.EditResult, error)
	})
	if !ok {
		return nil, lacks(r.next, "EditOrder")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.EditOrder(ctx, id, site, p)
}

// Settings reads the account settings.
func (r *RetailCRM) Settings(ctx context.Context) (*retailcrm.Settings, error) {
	c, ok := r.next.(interface {
		Settings(context.Context) (*retailcrm.Settings, error)
	})
	if !ok {
		return nil, lacks(r.next, "Settings")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.Settings(ctx)
}

// Statuses reads the order status reference.
func (r *RetailCRM) Statuses(ctx context.Context) (map[string]retailcrm.Status, error) {
	c, ok := r.next.(interface {
		Statuses(context.Context) (map[string]retailcrm.Status, error)
	})
	if !ok {
		return nil, lacks(r.next, "Statuses")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.Statuses(ctx)
}

// ProductStatuses reads the product status reference.
func (r *RetailCRM) ProductStatuses(ctx context.Context) (map[string]retailcrm.ProductStatus, error) {
	c, ok := r.next.(interface {
		ProductStatuses(context.Context) (map[string]retailcrm.ProductStatus, error)
	})
	if !ok {
		return nil, lacks(r.next, "ProductStatuses")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.ProductStatuses(ctx)
}

// DeliveryTypes reads the delivery type reference.
func (r *RetailCRM) DeliveryTypes(ctx context.Context) (map[string]retailcrm.DeliveryType, error) {
	c, ok := r.next.(interface {
		DeliveryTypes(context.Context) (map[string]retailcrm.DeliveryType, error)
	})
	if !ok {
		return nil, lacks(r.next, "DeliveryTypes")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.DeliveryTypes(ctx)
}

// PaymentTypes reads the payment type reference.
func (r *RetailCRM) PaymentTypes(ctx context.Context) (map[string]retailcrm.PaymentType, error) {
	c, ok := r.next.(interface {
		PaymentTypes(context.Context) (map[string]retailcrm.PaymentType, error)
	})
	if !ok {
		return nil, lacks(r.next, "PaymentTypes")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.PaymentTypes(ctx)
}

// PaymentStatuses reads the payment status reference.
func (r *RetailCRM) PaymentStatuses(ctx context.Context) (map[string]retailcrm.PaymentStatus, error) {
	c, ok := r.next.(interface {
		PaymentStatuses(context.Context) (map[string]retailcrm.PaymentStatus, error)
	})
	if !ok {
		return nil, lacks(r.next, "PaymentStatuses")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.PaymentStatuses(ctx)
}

// Sites reads the store reference.
func (r *RetailCRM) Sites(ctx context.Context) (map[string]retailcrm.Site, error) {
	c, ok := r.next.(interface {
		Sites(context.Context) (map[string]retailcrm.Site, error)
	})
	if !ok {
		return nil, lacks(r.next, "Sites")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.Sites(ctx)
}

// Users reads a page of RetailCRM users.
func (r *RetailCRM) Users(ctx context.Context, f retailcrm.UsersFilter) (*retailcrm.UsersPage, error) {
	c, ok := r.next.(interface {
		Users(context.Context, retailcrm.UsersFilter) (*retailcrm.UsersPage, error)
	})
	if !ok {
		return nil, lacks(r.next, "Users")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.Users(ctx, f)
}

// CorporateCustomersHistory reads a page of the corporate customer history.
func (r *RetailCRM) CorporateCustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CorporateHistoryPage, error) {
	c, ok := r.next.(interface {
		CorporateCustomersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.CorporateHistoryPage, error)
	})
	if !ok {
		return nil, lacks(r.next, "CorporateCustomersHistory")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.CorporateCustomersHistory(ctx, f)
}

// CorporateCustomersByID reads corporate customers by id, 100 ids a
// request.
func (r *RetailCRM) CorporateCustomersByID(ctx context.Context, ids []int64) ([]retailcrm.CorporateCustomer, error) {
	c, ok := r.next.(interface {
		CorporateCustomersByID(context.Context, []int64) ([]retailcrm.CorporateCustomer, error)
	})
	if !ok {
		return nil, lacks(r.next, "CorporateCustomersByID")
	}
	r.c.Add(APIRetailCRM, (len(ids)+99)/100)
	return c.CorporateCustomersByID(ctx, ids)
}

// CorporateCompanies reads the companies of a corporate customer (one
// request; a customer with more than a page of companies is rare).
func (r *RetailCRM) CorporateCompanies(ctx context.Context, id int64, site string) ([]retailcrm.Company, error) {
	c, ok := r.next.(interface {
		CorporateCompanies(context.Context, int64, string) ([]retailcrm.Company, error)
	})
	if !ok {
		return nil, lacks(r.next, "CorporateCompanies")
	}
	r.c.Add(APIRetailCRM, 1)
	return c.CorporateCompanies(ctx, id, site)
}

// Bitrix is a Bitrix24 client whose HTTP requests are counted (a batch of
// up to 50 commands is one, as BatchResult.Requests says).
type Bitrix struct {
	next any
	c    *Counter
}

// Bitrix wraps next (a *bitrix.Client, or an engine's narrower interface)
// so that its requests are counted.
func (c *Counter) Bitrix(next any) *Bitrix { return &Bitrix{next: next, c: c} }

// Batch sends a batch.
func (b *Bitrix) Batch(ctx context.Context, batch *bitrix.Batch) (*bitrix.BatchResult, error) {
	c, ok := b.next.(interface {
		Batch(context.Context, *bitrix.Batch) (*bitrix.BatchResult, error)
	})
	if !ok {
		return nil, fmt.Errorf("runs: the Bitrix24 client %T has no Batch", b.next)
	}
	res, err := c.Batch(ctx, batch)
	if res != nil {
		b.c.Add(APIBitrix, res.Requests)
	}
	return res, err
}

// SetProductRows sets (or, with no rows, clears) the product rows of a
// deal or lead with one plain call.
func (b *Bitrix) SetProductRows(ctx context.Context, e bitrix.Entity, id bitrix.ID, rows []bitrix.ProductRow) error {
	c, ok := b.next.(interface {
		SetProductRows(context.Context, bitrix.Entity, bitrix.ID, []bitrix.ProductRow) error
	})
	if !ok {
		return fmt.Errorf("runs: the Bitrix24 client %T has no SetProductRows", b.next)
	}
	b.c.Add(APIBitrix, 1)
	return c.SetProductRows(ctx, e, id, rows)
}

// StageHistoryList reads a page of the stage history.
func (b *Bitrix) StageHistoryList(ctx context.Context, entityTypeID int, req bitrix.ListRequest) (*bitrix.StageHistoryPage, error) {
	c, ok := b.next.(interface {
		StageHistoryList(context.Context, int, bitrix.ListRequest) (*bitrix.StageHistoryPage, error)
	})
	if !ok {
		return nil, fmt.Errorf("runs: the Bitrix24 client %T has no StageHistoryList", b.next)
	}
	b.c.Add(APIBitrix, 1)
	return c.StageHistoryList(ctx, entityTypeID, req)
}
