package sync

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// pullCustomers carries customer changes made without an order change (a
// new phone, a corrected e-mail or name) to the linked contacts (docs/architecture.md, Pull):
// /customers/history from its own cursor, 100 records a page. Customers
// without a link are left alone; their first synced order creates the
// contact from current data. The customer's current data is read through
// the latest linked order, whose customer block RetailCRM keeps current.
func (e *Engine) pullCustomers(ctx context.Context, start time.Time) error {
	_, err := followHistory(ctx, e, start, historyStream[retailcrm.CustomerHistoryRecord]{
		name:   "customers history",
		cursor: store.CursorCustomersHistory,
		read:   e.rc.CustomersHistory,
		limit:  limitCustomers,
		page: func(ctx context.Context, recs []retailcrm.CustomerHistoryRecord, next, _ int64) error {
			return e.processCustomerPage(ctx, recs, next)
		},
	})
	return err
}

func (e *Engine) processCustomerPage(ctx context.Context, recs []retailcrm.CustomerHistoryRecord, cursor int64) error {
	e.sum.CustomerRecords += len(recs)
	merges := customerMerges(recs)
	seen := map[int64]bool{}
	for _, m := range merges {
		seen[m.from] = true // gone from RetailCRM: syncMerges carries it
	}
	var ids []int64
	for _, r := range recs {
		if !customerWork(r) || seen[r.Customer.ID] {
			continue
		}
		seen[r.Customer.ID] = true
		ids = append(ids, r.Customer.ID)
	}
	if err := e.syncMerges(ctx, merges); err != nil {
		return err
	}
	return e.syncCustomers(ctx, ids, &cursor)
}

// customerWork reports whether a customers history record may need a
// contact update. A created record needs nothing: a customer reaches
// Bitrix24 with its first order, read with current data.
func customerWork(r retailcrm.CustomerHistoryRecord) bool {
	return !r.OwnChange() && !r.Created && r.Customer != nil && r.Customer.ID != 0
}

// limitCustomers is limitOrders for the customers history: the longest
// prefix that touches at most n customers.
func limitCustomers(recs []retailcrm.CustomerHistoryRecord, n int) []retailcrm.CustomerHistoryRecord {
	seen := map[int64]bool{}
	for i, r := range recs {
		if !customerWork(r) || seen[r.Customer.ID] {
			continue
		}
		if len(seen) == n {
			return recs[:i]
		}
		seen[r.Customer.ID] = true
	}
	return recs
}

// syncCustomers brings the contacts of linked customers up to date and
// commits their links (and the customers history cursor, when given).
// A customer whose contact cannot be written is set aside as a failure of
// kind "customer" and retried like an order.
func (e *Engine) syncCustomers(ctx context.Context, ids []int64, cursor *int64) error {
	links, err := e.store.CustomerLinks(ctx, ids)
	if err != nil {
		return fmt.Errorf("reading customer links: %w", err)
	}
	orderOf, orderIDs, err := e.latestLinkedOrders(ctx, ids, links)
	if err != nil {
		return err
	}
	orders, err := e.fetchOrders(ctx, orderIDs)
	if err != nil {
		return err
	}
	custs, settled := e.customersToSync(ids, links, orderOf, orders)
	e.sum.CustomersSeen += len(custs)
	for i := 0; i < len(custs); i += 50 {
		part := custs[i:min(i+50, len(custs))]
		if err := e.lookup(ctx, nil, part); err != nil {
			return err
		}
		if err := e.writeContacts(ctx, part); err != nil {
			return err
		}
	}
	alerts, err := e.commitCustomers(ctx, custs, settled, cursor)
	if err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	for _, c := range custs {
		if c.err != nil {
			e.report.Parked = append(e.report.Parked, ParkedItem{Kind: "customer", Key: strconv.FormatInt(c.state.customerID, 10),
				Reason: reason(c.err), WaitingForRetry: !c.parked})
			e.sum.countFailure(c.parked)
		}
	}
	if len(alerts) > 0 {
		e.alert(ctx, alerts)
	}
	return nil
}

// latestLinkedOrders finds the latest linked order of each linked customer
// of ids: the order its contact is rebuilt from.
func (e *Engine) latestLinkedOrders(ctx context.Context, ids []int64, links map[int64]store.CustomerLink) (map[int64]int64, []int64, error) {
	orderOf := map[int64]int64{}
	var orderIDs []int64
	for _, id := range ids {
		if _, ok := links[id]; !ok {
			continue
		}
		ols, err := e.store.OrderLinksByCustomer(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("reading order links: %w", err)
		}
		if len(ols) == 0 {
			continue
		}
		oid := ols[len(ols)-1].OrderID
		orderOf[id] = oid
		orderIDs = append(orderIDs, oid)
	}
	return orderOf, orderIDs, nil
}

// customersToSync computes each customer's desired contact from its latest
// order and returns those whose contact needs work (or cannot be mapped),
// sorted by customer id, and those settled: nothing to do, any failure of
// theirs is cleared.
func (e *Engine) customersToSync(ids []int64, links map[int64]store.CustomerLink, orderOf map[int64]int64, orders map[int64]*retailcrm.Order) (custs []*customer, settled []int64) {
	for _, id := range ids {
		o, ok := orders[orderOf[id]]
		if !ok {
			settled = append(settled, id)
			continue
		}
		c := customerOf(o)
		if c == nil || c.ID != id {
			settled = append(settled, id)
			continue // the order now belongs to someone else
		}
		l := links[id]
		cu := &customer{link: &l, contactID: l.ContactID}
		cu.state, cu.err = e.mapper.desireContact(o, c)
		if cu.err == nil {
			cu.needWork = l.ContentHash != cu.state.hash
			if !cu.needWork {
				settled = append(settled, id)
				continue
			}
		} else {
			cu.state = &contactState{customerID: id}
		}
		custs = append(custs, cu)
	}
	sort.Slice(custs, func(i, j int) bool { return custs[i].state.customerID < custs[j].state.customerID })
	return custs, settled
}

// commitCustomers commits the customers' links, clears the failures of the
// settled and the written ones, records the failures of the rest (and the
// cursor, when given) in one transaction. It returns the failures to alert
// about now.
func (e *Engine) commitCustomers(ctx context.Context, custs []*customer, settled []int64, cursor *int64) ([]store.Failure, error) {
	var alerts []store.Failure
	err := e.store.Tx(ctx, func(tx *store.Tx) error {
		alerts = alerts[:0]
		if _, err := e.commitChunk(ctx, tx, &chunkResult{customers: custs}); err != nil {
			return err
		}
		for _, id := range settled {
			if err := tx.ClearFailure(ctx, "customer", strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		for _, c := range custs {
			key := strconv.FormatInt(c.state.customerID, 10)
			if c.err == nil {
				if err := tx.ClearFailure(ctx, "customer", key); err != nil {
					return err
				}
				continue
			}
			f, now, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "customer", Key: key, Error: reason(c.err),
				MaxAttempts: e.opts.MaxAttempts})
			if err != nil {
				return err
			}
			c.parked = f.Parked
			if now {
				alerts = append(alerts, f)
			}
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM,
				SourceID: "customer:" + key, Action: "parked", Result: store.ResultFailed, Message: reason(c.err)}); err != nil {
				return err
			}
		}
		if cursor != nil {
			return tx.SetCursorInt(ctx, store.CursorCustomersHistory, *cursor)
		}
		return nil
	})
	return alerts, err
}

// retryCustomers retries failed customers that are due.
func (e *Engine) retryCustomers(ctx context.Context) error {
	_, ids, err := e.dueIDs(ctx, "customer")
	if err != nil || len(ids) == 0 {
		return err
	}
	return e.syncCustomers(ctx, ids, nil)
}
