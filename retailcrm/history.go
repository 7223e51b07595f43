package retailcrm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// HistoryLimit is the page size crmsync uses for history.
const HistoryLimit = 100

// HistoryFilter selects history records. A walk moves SinceID to the last
// id of each page: RetailCRM answers 400 when page comes with
// filter[sinceId] (docs/api-notes.md), so the client refuses that
// combination instead of sending it.
type HistoryFilter struct {
	// SinceID returns records with a greater id; 0 sends no sinceId.
	SinceID int64
	// Page is the 1-based page of the records the other filters select (a
	// StartDate window, or the whole history); 0 sends none (page 1). Only
	// without SinceID.
	Page int
	// StartDate, EndDate bound the records' createdAt. They are formatted
	// in the client's account zone (WithLocation). createdAt is not
	// monotonic in id, so use them only to find a starting id.
	StartDate, EndDate time.Time
	// Limit is 20, 50 or 100; 0 means HistoryLimit.
	Limit int
	// OrderID limits OrdersHistory to one order (filter[orderId]).
	OrderID int64
	// CustomerID limits CustomersHistory to one customer
	// (filter[customerId]).
	CustomerID int64
}

func (f HistoryFilter) query(loc *time.Location, entityParam string, entityID int64) (url.Values, error) {
	q := url.Values{}
	if entityID > 0 {
		q.Set(entityParam, strconv.FormatInt(entityID, 10))
	}
	limit := f.Limit
	if limit == 0 {
		limit = HistoryLimit
	}
	if !validLimit(limit) {
		return nil, fmt.Errorf("retailcrm: limit %d: %w", limit, errBadLimit)
	}
	q.Set("limit", strconv.Itoa(limit))
	if f.SinceID < 0 {
		return nil, errors.New("retailcrm: negative sinceId")
	}
	if f.SinceID > 0 {
		q.Set("filter[sinceId]", strconv.FormatInt(f.SinceID, 10))
	}
	switch {
	case f.Page < 0:
		return nil, fmt.Errorf("retailcrm: history page %d: must be 1 or more", f.Page)
	case f.Page > 0 && f.SinceID > 0:
		return nil, errPageWithSinceID
	case f.Page > 0:
		q.Set("page", strconv.Itoa(f.Page))
	}
	for name, t := range map[string]time.Time{"filter[startDate]": f.StartDate, "filter[endDate]": f.EndDate} {
		if t.IsZero() {
			continue
		}
		s, err := formatFilterTime(t, loc)
		if err != nil {
			return nil, err
		}
		q.Set(name, s)
	}
	return q, nil
}

var (
	errBadLimit        = errors.New("limit must be 20, 50 or 100")
	errPageWithSinceID = errors.New("retailcrm: history page with sinceId (the API answers 400): move sinceId instead")
)

func validLimit(n int) bool { return n == 20 || n == 50 || n == 100 }

// historyResponse is the answer of a history endpoint.
type historyResponse[R HistoryEntry] struct {
	envelope
	HistoryPage[R]
}

// getHistory reads one page of the history at path; entityParam and
// entityID select one entity's records.
func getHistory[R HistoryEntry](ctx context.Context, c *Client, path string, f HistoryFilter, entityParam string, entityID int64) (*HistoryPage[R], error) {
	r, err := getPage[historyResponse[R]](ctx, c, path, func() (url.Values, error) { return f.query(c.loc, entityParam, entityID) })
	if err != nil {
		return nil, err
	}
	return &r.HistoryPage, nil
}

// OrdersHistory reads one page of /api/v5/orders/history, sorted by id
// ascending. An empty History means the walk has caught up.
func (c *Client) OrdersHistory(ctx context.Context, f HistoryFilter) (*OrdersHistoryPage, error) {
	return getHistory[HistoryRecord](ctx, c, "/api/v5/orders/history", f, "filter[orderId]", f.OrderID)
}

// CustomersHistory reads one page of /api/v5/customers/history, with the
// same rules as OrdersHistory.
func (c *Client) CustomersHistory(ctx context.Context, f HistoryFilter) (*CustomersHistoryPage, error) {
	return getHistory[CustomerHistoryRecord](ctx, c, "/api/v5/customers/history", f, "filter[customerId]", f.CustomerID)
}

// HistoryHeadPage is what a walk to the head of a history needs from a
// page: how many records it held, the last one's id, the server's clock
// and how many pages the filter selects (pagination.totalPageCount).
type HistoryHeadPage struct {
	Records     int
	LastID      int64
	GeneratedAt DateTime
	Pages       int
}

type historyHeadResponse struct {
	envelope
	GeneratedAt DateTime `json:"generatedAt"`
	History     []struct {
		ID int64 `json:"id"`
	} `json:"history"`
	Pagination Pagination `json:"pagination"`
}

// History streams, for HistoryHead.
const (
	StreamOrders    = "orders"
	StreamCustomers = "customers"
)

// HistoryHead reads one page of the orders or customers history (stream)
// as OrdersHistory and CustomersHistory do, decoding only the records' ids
// and the page count: backfill reads pages only to find the head (their
// last ids), and decoding their order and customer snapshots was most of
// that search's cost.
func (c *Client) HistoryHead(ctx context.Context, stream string, f HistoryFilter) (*HistoryHeadPage, error) {
	var q url.Values
	var err error
	switch stream {
	case StreamOrders:
		q, err = f.query(c.loc, "filter[orderId]", f.OrderID)
	case StreamCustomers:
		q, err = f.query(c.loc, "filter[customerId]", f.CustomerID)
	default:
		return nil, fmt.Errorf("retailcrm: unknown history stream %q", stream)
	}
	if err != nil {
		return nil, err
	}
	var r historyHeadResponse
	if err := c.get(ctx, "/api/v5/"+stream+"/history", q, &r); err != nil {
		return nil, err
	}
	p := &HistoryHeadPage{Records: len(r.History), GeneratedAt: r.GeneratedAt, Pages: r.Pagination.TotalPageCount}
	if n := len(r.History); n > 0 {
		p.LastID = r.History[n-1].ID
	}
	return p, nil
}
