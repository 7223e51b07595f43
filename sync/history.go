package sync

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// orderEvents are the kept history records of one order in one page.
type orderEvents struct {
	orderID int64
	records []retailcrm.HistoryRecord
	deleted bool
}

// filterEchoes drops the records that echo crmsync's own writes (source api
// with the current key), except on an order a foreign record of the same
// page touched (docs/architecture.md, "Pull"): that order is synced from
// its current state anyway, and its records, ours among them, keep its
// timeline complete. externalId changes are always kept, as RetailCRM's
// own module does.
func filterEchoes(recs []retailcrm.HistoryRecord) (kept []retailcrm.HistoryRecord, dropped int) {
	foreign := map[int64]bool{}
	for _, r := range recs {
		if !r.OwnChange() {
			foreign[r.OrderID()] = true
		}
	}
	kept = make([]retailcrm.HistoryRecord, 0, len(recs))
	for _, r := range recs {
		if r.OwnChange() && !foreign[r.OrderID()] && r.Field != "external_id" {
			dropped++
			continue
		}
		kept = append(kept, r)
	}
	return kept, dropped
}

// groupByOrder groups records by order id in order of first appearance.
// Records without an order are ignored.
func groupByOrder(recs []retailcrm.HistoryRecord) ([]int64, map[int64]*orderEvents) {
	var ids []int64
	byID := map[int64]*orderEvents{}
	for _, r := range recs {
		id := r.OrderID()
		if id == 0 {
			continue
		}
		ev := byID[id]
		if ev == nil {
			ev = &orderEvents{orderID: id}
			byID[id] = ev
			ids = append(ids, id)
		}
		ev.records = append(ev.records, r)
		if r.Deleted {
			ev.deleted = true
		}
	}
	return ids, byID
}

// limitOrders returns the longest prefix of a history page that touches at
// most n orders (counted as the sync counts them: echoes of crmsync's own
// writes dropped). A run limited by --max-items handles that prefix and
// commits its last record as the cursor: the next run starts with the rest
// of the page, so no record is skipped and none is handled twice. An order
// whose later records lie beyond the prefix is synced now and again, with
// those records, next time.
//
// An echo counts no order: filterEchoes keeps it only for an order a
// foreign record of the prefix touches, which that record counts (an echo
// whose foreign record lies beyond the prefix is dropped with the prefix).
func limitOrders(recs []retailcrm.HistoryRecord, n int) []retailcrm.HistoryRecord {
	orders := map[int64]bool{}
	for i, r := range recs {
		id := r.OrderID()
		if id == 0 || r.OwnChange() && r.Field != "external_id" || orders[id] {
			continue
		}
		if len(orders) == n {
			return recs[:i]
		}
		orders[id] = true
	}
	return recs
}

// historyStream is one RetailCRM history that pull follows from its own
// cursor: the orders, customers and corporate customers histories. R is
// the history's record type; what differs between the streams is here.
type historyStream[R retailcrm.HistoryEntry] struct {
	name   string // names the stream in errors: "order history"
	cursor string // its cursor in the store: store.CursorOrdersHistory
	// read reads the page after a cursor (the client's OrdersHistory).
	read func(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.HistoryPage[R], error)
	// cursorName names the cursor in errors when it is not the stream's
	// name ("history" for the orders).
	cursorName string
	// from, when set, learns the cursor the stream starts from.
	from func(cursor int64)
	// limit, when set, cuts a page to the items the run may still handle
	// under MaxItems (limitOrders, limitCustomers).
	limit func(recs []R, left int) []R
	// page handles a page's records up to the record next, which becomes
	// the cursor; total counts the records after the cursor, this page's
	// included (pagination.totalCount).
	page func(ctx context.Context, recs []R, next, total int64) error
}

// followHistory reads s page by page from its stored cursor, 100 records
// a page, until the history is drained (an empty page: drained is true), a
// run limit is reached (named in the summary) or an error.
func followHistory[R retailcrm.HistoryEntry](ctx context.Context, e *Engine, start time.Time, s historyStream[R]) (drained bool, err error) {
	cursor, _, err := e.store.CursorInt(ctx, s.cursor)
	if err != nil {
		return false, fmt.Errorf("reading the %s cursor: %w", cmp.Or(s.cursorName, s.name), err)
	}
	if s.from != nil {
		s.from(cursor)
	}
	for {
		if stop := e.limitReached(start); stop != "" {
			e.sum.Stopped = stop
			return false, nil
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		page, err := s.read(ctx, retailcrm.HistoryFilter{SinceID: cursor, Limit: retailcrm.HistoryLimit})
		if err != nil {
			return false, fmt.Errorf("reading RetailCRM %s after id %d: %w", s.name, cursor, err)
		}
		recs := page.History
		if len(recs) == 0 {
			return true, nil
		}
		next := recs[len(recs)-1].RecordID()
		if next <= cursor {
			return false, fmt.Errorf("RetailCRM %s did not advance past id %d", s.name, cursor)
		}
		if left, limited := e.itemsLeft(); limited && s.limit != nil {
			if recs = s.limit(recs, left); len(recs) == 0 {
				e.sum.Stopped = "max-items"
				return false, nil
			}
			next = recs[len(recs)-1].RecordID()
		}
		if err := s.page(ctx, recs, next, page.Pagination.TotalCount); err != nil {
			return false, err
		}
		cursor = next
	}
}
