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

// The client methods the wrappers pass calls on to, one interface each: a
// wrapped client needs only those its engine calls.
type (
	ordersHistoryReader interface {
		OrdersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error)
	}
	historyHeadReader interface {
		HistoryHead(context.Context, string, retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error)
	}
	customersHistoryReader interface {
		CustomersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.CustomersHistoryPage, error)
	}
	ordersReader interface {
		Orders(context.Context, retailcrm.OrdersFilter) (*retailcrm.OrdersPage, error)
	}
	ordersByIDReader interface {
		OrdersByID(context.Context, []int64) ([]retailcrm.Order, error)
	}
	orderEditor interface {
		EditOrder(context.Context, int64, string, retailcrm.OrderPatch) (*retailcrm.EditResult, error)
	}
	settingsReader interface {
		Settings(context.Context) (*retailcrm.Settings, error)
	}
	statusesReader interface {
		Statuses(context.Context) (map[string]retailcrm.Status, error)
	}
	usersReader interface {
		Users(context.Context, retailcrm.UsersFilter) (*retailcrm.UsersPage, error)
	}
	corporateHistoryReader interface {
		CorporateCustomersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.CorporateHistoryPage, error)
	}
	corporateByIDReader interface {
		CorporateCustomersByID(context.Context, []int64) ([]retailcrm.CorporateCustomer, error)
	}
	corporateCompaniesReader interface {
		CorporateCompanies(context.Context, int64, string) ([]retailcrm.Company, error)
	}
	batchSender interface {
		Batch(context.Context, *bitrix.Batch) (*bitrix.BatchResult, error)
	}
	productRowsSetter interface {
		SetProductRows(context.Context, bitrix.Entity, bitrix.ID, []bitrix.ProductRow) error
	}
	stageHistoryReader interface {
		StageHistoryList(context.Context, int, bitrix.ListRequest) (*bitrix.StageHistoryPage, error)
	}
)

// wrapped is a client whose requests are counted under api; client names
// it in errors.
type wrapped struct {
	next        any
	c           *Counter
	api, client string
}

// try passes a call on to the wrapped client, counted as n requests, when
// it is an I (the interface of the method called); ok is false, and
// nothing counted, when it is not.
func try[I, R any](w wrapped, n int, call func(I) (R, error)) (res R, ok bool, err error) {
	c, ok := w.next.(I)
	if !ok {
		return res, false, nil
	}
	w.c.Add(w.api, n)
	res, err = call(c)
	return res, true, err
}

// forward is try for a method every client of the engine is expected to
// have: a client that lacks it fails, naming the method.
func forward[I, R any](w wrapped, method string, n int, call func(I) (R, error)) (R, error) {
	res, ok, err := try(w, n, call)
	if !ok {
		return res, fmt.Errorf("runs: the %s client %T has no %s", w.client, w.next, method)
	}
	return res, err
}

// Optional passes a call on to r's client, counted as n requests, when
// it is an I: an engine's way to a read only some clients have (a narrow
// client in tests). ok is false, and nothing counted, when it is not.
func Optional[I, R any](r *RetailCRM, n int, call func(I) (R, error)) (res R, ok bool, err error) {
	return try(r.w, n, call)
}

// RetailCRM is a RetailCRM client whose requests are counted: one per call,
// one per 100 ids of OrdersByID. It has every method pull and push call;
// each is passed to the wrapped client, which needs only those its engine
// uses (a call it lacks fails).
type RetailCRM struct{ w wrapped }

// RetailCRM wraps next (a *retailcrm.Client, or an engine's narrower
// interface) so that its requests are counted.
func (c *Counter) RetailCRM(next any) *RetailCRM {
	return &RetailCRM{wrapped{next: next, c: c, api: APIRetailCRM, client: "RetailCRM"}}
}

// Unwrap returns the wrapped client (to ask it for optional methods).
func (r *RetailCRM) Unwrap() any { return r.w.next }

// OrdersHistory reads a page of the order history.
func (r *RetailCRM) OrdersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error) {
	return forward(r.w, "OrdersHistory", 1, func(c ordersHistoryReader) (*retailcrm.OrdersHistoryPage, error) { return c.OrdersHistory(ctx, f) })
}

// HistoryHead reads a page of the orders or customers history for its
// record count, last id, page count and the server's clock; a client without the
// ids-only read is asked for the whole page.
func (r *RetailCRM) HistoryHead(ctx context.Context, stream string, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
	if head, ok, err := try(r.w, 1, func(c historyHeadReader) (*retailcrm.HistoryHeadPage, error) {
		return c.HistoryHead(ctx, stream, f)
	}); ok {
		return head, err
	}
	switch stream {
	case retailcrm.StreamOrders:
		p, err := r.OrdersHistory(ctx, f)
		if err != nil {
			return nil, err
		}
		return p.Head(), nil
	case retailcrm.StreamCustomers:
		p, err := r.CustomersHistory(ctx, f)
		if err != nil {
			return nil, err
		}
		return p.Head(), nil
	}
	return nil, fmt.Errorf("runs: unknown history stream %q", stream)
}

// CustomersHistory reads a page of the customer history.
func (r *RetailCRM) CustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CustomersHistoryPage, error) {
	return forward(r.w, "CustomersHistory", 1, func(c customersHistoryReader) (*retailcrm.CustomersHistoryPage, error) {
		return c.CustomersHistory(ctx, f)
	})
}

// Orders reads a page of orders.
func (r *RetailCRM) Orders(ctx context.Context, f retailcrm.OrdersFilter) (*retailcrm.OrdersPage, error) {
	return forward(r.w, "Orders", 1, func(c ordersReader) (*retailcrm.OrdersPage, error) { return c.Orders(ctx, f) })
}

// perHundred is how many requests reading n ids takes, 100 a request.
func perHundred(n int) int { return (n + retailcrm.MaxOrderIDs - 1) / retailcrm.MaxOrderIDs }

// OrdersByID reads orders by id, 100 ids a request.
func (r *RetailCRM) OrdersByID(ctx context.Context, ids []int64) ([]retailcrm.Order, error) {
	return forward(r.w, "OrdersByID", perHundred(len(ids)), func(c ordersByIDReader) ([]retailcrm.Order, error) { return c.OrdersByID(ctx, ids) })
}

// EditOrder writes a patch to an order.
func (r *RetailCRM) EditOrder(ctx context.Context, id int64, site string, p retailcrm.OrderPatch) (*retailcrm.EditResult, error) {
	return forward(r.w, "EditOrder", 1, func(c orderEditor) (*retailcrm.EditResult, error) { return c.EditOrder(ctx, id, site, p) })
}

// Settings reads the account settings.
func (r *RetailCRM) Settings(ctx context.Context) (*retailcrm.Settings, error) {
	return forward(r.w, "Settings", 1, func(c settingsReader) (*retailcrm.Settings, error) { return c.Settings(ctx) })
}

// Statuses reads the order status reference.
func (r *RetailCRM) Statuses(ctx context.Context) (map[string]retailcrm.Status, error) {
	return forward(r.w, "Statuses", 1, func(c statusesReader) (map[string]retailcrm.Status, error) { return c.Statuses(ctx) })
}

// Users reads a page of RetailCRM users.
func (r *RetailCRM) Users(ctx context.Context, f retailcrm.UsersFilter) (*retailcrm.UsersPage, error) {
	return forward(r.w, "Users", 1, func(c usersReader) (*retailcrm.UsersPage, error) { return c.Users(ctx, f) })
}

// CorporateCustomersHistory reads a page of the corporate customer history.
func (r *RetailCRM) CorporateCustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CorporateHistoryPage, error) {
	return forward(r.w, "CorporateCustomersHistory", 1, func(c corporateHistoryReader) (*retailcrm.CorporateHistoryPage, error) {
		return c.CorporateCustomersHistory(ctx, f)
	})
}

// CorporateCustomersByID reads corporate customers by id, 100 ids a
// request.
func (r *RetailCRM) CorporateCustomersByID(ctx context.Context, ids []int64) ([]retailcrm.CorporateCustomer, error) {
	return forward(r.w, "CorporateCustomersByID", perHundred(len(ids)), func(c corporateByIDReader) ([]retailcrm.CorporateCustomer, error) {
		return c.CorporateCustomersByID(ctx, ids)
	})
}

// CorporateCompanies reads the companies of a corporate customer (one
// request; a customer with more than a page of companies is rare).
func (r *RetailCRM) CorporateCompanies(ctx context.Context, id int64, site string) ([]retailcrm.Company, error) {
	return forward(r.w, "CorporateCompanies", 1, func(c corporateCompaniesReader) ([]retailcrm.Company, error) {
		return c.CorporateCompanies(ctx, id, site)
	})
}

// Bitrix is a Bitrix24 client whose HTTP requests are counted (a batch of
// up to 50 commands is one, as BatchResult.Requests says).
type Bitrix struct{ w wrapped }

// Bitrix wraps next (a *bitrix.Client, or an engine's narrower interface)
// so that its requests are counted.
func (c *Counter) Bitrix(next any) *Bitrix {
	return &Bitrix{wrapped{next: next, c: c, api: APIBitrix, client: "Bitrix24"}}
}

// Batch sends a batch; it counts the requests the batch took, known after.
func (b *Bitrix) Batch(ctx context.Context, batch *bitrix.Batch) (*bitrix.BatchResult, error) {
	return forward(b.w, "Batch", 0, func(c batchSender) (*bitrix.BatchResult, error) {
		res, err := c.Batch(ctx, batch)
		if res != nil {
			b.w.c.Add(APIBitrix, res.Requests)
		}
		return res, err
	})
}

// SetProductRows sets (or, with no rows, clears) the product rows of a
// deal or lead with one plain call.
func (b *Bitrix) SetProductRows(ctx context.Context, e bitrix.Entity, id bitrix.ID, rows []bitrix.ProductRow) error {
	_, err := forward(b.w, "SetProductRows", 1, func(c productRowsSetter) (struct{}, error) { return struct{}{}, c.SetProductRows(ctx, e, id, rows) })
	return err
}

// StageHistoryList reads a page of the stage history.
func (b *Bitrix) StageHistoryList(ctx context.Context, entityTypeID int, req bitrix.ListRequest) (*bitrix.StageHistoryPage, error) {
	return forward(b.w, "StageHistoryList", 1, func(c stageHistoryReader) (*bitrix.StageHistoryPage, error) {
		return c.StageHistoryList(ctx, entityTypeID, req)
	})
}
