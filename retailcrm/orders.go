package retailcrm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// MaxOrderIDs is how many ids one Orders call can return at limit 100.
const MaxOrderIDs = 100

// OrdersFilter selects orders for /api/v5/orders.
type OrdersFilter struct {
	IDs   []int64
	Sites []string
	// CreatedAtFrom and CreatedAtTo (an inclusive last instant) bound
	// createdAt, in the client's account zone (WithLocation). They are sent
	// as whole days, CreatedAtTo as the day after its own, because the
	// documentation leaves open whether the service takes a time and whether
	// a date means its start or the whole day: the list holds every order of
	// the bounds, plus orders of the edge days outside them, which the
	// caller filters by createdAt (CreatedWithin).
	CreatedAtFrom, CreatedAtTo time.Time
	// Limit is 20, 50 or 100; 0 means 100 (the API's own default, 20,
	// would silently cut a list of ids).
	Limit int
	// Page is 1-based; 0 sends none (page 1).
	Page int
}

func (f OrdersFilter) query(loc *time.Location) (url.Values, error) {
	q, err := IDsFilter{IDs: f.IDs, Limit: f.Limit, Page: f.Page}.query()
	if err != nil {
		return nil, err
	}
	for _, s := range f.Sites {
		q.Add("filter[sites][]", s)
	}
	for _, b := range []struct {
		name  string
		t     time.Time
		upper bool
	}{{"filter[createdAtFrom]", f.CreatedAtFrom, false}, {"filter[createdAtTo]", f.CreatedAtTo, true}} {
		if b.t.IsZero() {
			continue
		}
		s, err := filterDay(b.t, loc, b.upper)
		if err != nil {
			return nil, err
		}
		q.Set(b.name, s)
	}
	return q, nil
}

// CreatedWithin reports whether the order's createdAt, read in loc, lies in
// [from, to] (a zero bound is open): the local half of the createdAt
// filters, which the service applies by whole days only. An order whose
// createdAt is missing or unreadable counts as within, since the service
// placed it in the window; the error says why.
func (o *Order) CreatedWithin(loc *time.Location, from, to time.Time) (bool, error) {
	t, err := o.CreatedAt.In(loc)
	if err != nil || t.IsZero() {
		if err == nil {
			err = errors.New("retailcrm: order has no createdAt")
		}
		return true, err
	}
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to)), nil
}

// OrdersPage is one answer of /api/v5/orders.
type OrdersPage struct {
	Orders     []Order    `json:"orders"`
	Pagination Pagination `json:"pagination"`
}

type ordersResponse struct {
	envelope
	OrdersPage
}

// Orders reads one page of /api/v5/orders.
func (c *Client) Orders(ctx context.Context, f OrdersFilter) (*OrdersPage, error) {
	r, err := getPage[ordersResponse](ctx, c, "/api/v5/orders", func() (url.Values, error) { return f.query(c.loc) })
	if err != nil {
		return nil, err
	}
	return &r.OrdersPage, nil
}

// OrdersByID fetches the current state of the given orders, 100 ids per
// request (pull calls it once per history page). Missing ids are skipped;
// the result is in id order.
func (c *Client) OrdersByID(ctx context.Context, ids []int64) ([]Order, error) {
	return byIDs(ids, MaxOrderIDs, func(chunk []int64) ([]Order, error) {
		p, err := c.Orders(ctx, OrdersFilter{IDs: chunk, Limit: MaxOrderIDs})
		if err != nil {
			return nil, err
		}
		return p.Orders, nil
	}, func(o *Order) int64 { return o.ID })
}

type orderResponse struct {
	envelope
	ID    int64  `json:"id"`
	Order *Order `json:"order"`
}

// Order reads one order by its internal id (by=id; ids are account-wide).
func (c *Client) Order(ctx context.Context, id int64) (*Order, error) {
	if id <= 0 {
		return nil, fmt.Errorf("retailcrm: order id %d", id)
	}
	var r orderResponse
	path := "/api/v5/orders/" + strconv.FormatInt(id, 10)
	if err := c.get(ctx, path, url.Values{"by": {"id"}}, &r); err != nil {
		return nil, err
	}
	if r.Order == nil {
		return nil, &DecodeError{Endpoint: "GET " + path, HTTPStatus: 200, Err: errors.New("no order in answer")}
	}
	return r.Order, nil
}

// OrderPatch holds the fields an edit changes; only set fields are sent,
// because a sent field replaces the stored value.
type OrderPatch struct {
	Status        string `json:"status,omitempty"`
	StatusComment string `json:"statusComment,omitempty"`
	// ManagerComment is a pointer so that clearing it can be expressed.
	// The API has no append: send the whole new text.
	ManagerComment *string `json:"managerComment,omitempty"`
	// CustomFields sets custom field values by code.
	CustomFields map[string]any `json:"customFields,omitempty"`
}

func (p OrderPatch) empty() bool {
	return p.Status == "" && p.StatusComment == "" && p.ManagerComment == nil && len(p.CustomFields) == 0
}

// EditResult is the answer of the edit call.
type EditResult struct {
	ID    int64
	Order *Order
}

// EditOrder changes the order with internal id via POST
// /api/v5/orders/{id}/edit (form body by=id, site, order=<JSON>). site is
// the order's store code; pass it whenever the key covers several stores.
//
// The call is retried only when RetailCRM refused it before running (503,
// 429): after a timeout or 5xx it may have been applied, so the caller
// reads the order back before trying again.
func (c *Client) EditOrder(ctx context.Context, id int64, site string, patch OrderPatch) (*EditResult, error) {
	if id <= 0 {
		return nil, fmt.Errorf("retailcrm: order id %d", id)
	}
	if patch.empty() {
		return nil, errors.New("retailcrm: empty order patch")
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return nil, fmt.Errorf("retailcrm: encoding order patch: %w", err)
	}
	form := url.Values{"by": {"id"}, "order": {string(body)}}
	if site != "" {
		form.Set("site", site)
	}
	var r orderResponse
	if err := c.post(ctx, "/api/v5/orders/"+strconv.FormatInt(id, 10)+"/edit", form, &r); err != nil {
		return nil, err
	}
	return &EditResult{ID: r.ID, Order: r.Order}, nil
}

type orderStatusesResponse struct {
	envelope
	Orders []OrderStatus `json:"orders"`
}

// OrderStatuses reads {id, externalId, status, group} of up to 500 orders
// by internal id: a cheap check whether an edit applied.
func (c *Client) OrderStatuses(ctx context.Context, ids []int64) ([]OrderStatus, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q := url.Values{}
	for _, id := range ids {
		q.Add("ids[]", strconv.FormatInt(id, 10))
	}
	var r orderStatusesResponse
	if err := c.get(ctx, "/api/v5/orders/statuses", q, &r); err != nil {
		return nil, err
	}
	return r.Orders, nil
}
