package retailcrmtest

import (
	"fmt"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/shopspring/decimal"
)

// otherIntegrationKey marks changes made through the API by someone else
// (the shop's website module), so apiKey.current is false for every reader.
const otherIntegrationKey = "\x00other-integration"

// CreateOrder stores a new order as the shop's website would create it
// through the API with its own key, and writes the created history record
// with a full snapshot, whose lines carry no offer (as RetailCRM writes
// API-made orders: read the order itself for them). Missing id, number,
// site, status, dates and currency are filled; a customer with id 0 is
// created; FullPaidAt is derived from the payments (derivePaidLocked). It
// returns the stored order.
func (s *Server) CreateOrder(o retailcrm.Order) retailcrm.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *cloneOrder(s.createOrderLocked(o, actor{source: retailcrm.SourceAPI, key: otherIntegrationKey}))
}

// CreateOrderByUser is CreateOrder made by a manager in the CRM (source
// "user").
func (s *Server) CreateOrderByUser(o retailcrm.Order) retailcrm.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *cloneOrder(s.createOrderLocked(o, actor{source: retailcrm.SourceUser, userID: s.opts.UserID}))
}

// newID returns id, or when id is 0 or taken the first free id from *next
// on; *next then moves past the id returned.
func newID(id int64, next *int64, taken func(int64) bool) int64 {
	if id == 0 || taken(id) {
		for taken(*next) {
			*next++
		}
		id = *next
	}
	*next = max(*next, id+1)
	return id
}

func (s *Server) createOrderLocked(in retailcrm.Order, who actor) *retailcrm.Order {
	o := cloneOrder(&in)
	o.ID = newID(o.ID, &s.nextOrderID, func(id int64) bool { return s.orders[id] != nil })
	if o.Number == "" {
		o.Number = fmt.Sprintf("%dA", o.ID)
	}
	s.numberPartsLocked(o)
	if o.Site == "" {
		o.Site = s.opts.Sites[0]
	}
	if o.Status == "" {
		o.Status = "new"
	}
	if o.Currency == "" {
		o.Currency = "RUB"
	}
	now := retailcrm.NewDateTime(s.now())
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.StatusUpdatedAt.IsZero() {
		o.StatusUpdatedAt = now
	}
	if o.Customer != nil && o.Customer.Type == retailcrm.CustomerTypeCorporate {
		s.corporateOrderLocked(o, who)
	} else if o.Customer != nil {
		c := s.customers[o.Customer.ID]
		if c == nil {
			c = s.addCustomerLocked(*o.Customer, who)
		}
		c.OrdersCount++
		c.TotalSumm = c.TotalSumm.Add(o.TotalSumm)
		o.Customer = cloneCustomer(c)
	}
	s.derivePaidLocked(nil, o)
	s.putOrderLocked(o)
	sh := shapeSnapshot
	if who.source == retailcrm.SourceAPI {
		sh = shapeSnapshotAPI
	}
	snapshot := rawJSON(orderJSON(o, sh))
	rec := histRec{
		at: s.now(), entityID: o.ID,
		source: who.source, userID: who.userID, byKey: who.key,
		created: true, field: "status", old: nil, new: code(o.Status),
		site: o.Site, snapshot: snapshot,
	}
	if f := s.opts.CreatedOn; f != "" && f != "status" {
		status := rec
		status.created = false
		s.orderHist.add(status)
		rec.field, rec.new = f, nil
		switch f {
		case "order_method":
			rec.new = code(o.OrderMethod)
		case "customer":
			if o.Customer != nil {
				rec.new = map[string]any{"id": o.Customer.ID, "site": o.Site}
			}
		}
	}
	s.orderHist.add(rec)
	s.fireTriggerLocked(o)
	return o
}

// UpdateOrder changes an order as a manager in the CRM would: fn edits a
// copy, and every changed field the fake tracks (status, comments,
// manager, names, phone, email, order method and type, delivery type and
// costs, sums, customer, custom fields, lines, payments and full payment)
// becomes a history record with source "user". Changing the status also
// sets statusUpdatedAt; FullPaidAt follows the payments as in CreateOrder.
func (s *Server) UpdateOrder(id int64, fn func(*retailcrm.Order)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.updateOrderLocked(id, fn, actor{source: retailcrm.SourceUser, userID: s.opts.UserID})
	return err
}

// UpdateOrderBy is UpdateOrder with another source ("code" for system
// automation, "rule" for triggers, "api" for a foreign integration).
func (s *Server) UpdateOrderBy(source string, id int64, fn func(*retailcrm.Order)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	who := actor{source: source}
	switch source {
	case retailcrm.SourceUser:
		who.userID = s.opts.UserID
	case retailcrm.SourceAPI:
		who.key = otherIntegrationKey
	}
	_, err := s.updateOrderLocked(id, fn, who)
	return err
}

func (s *Server) updateOrderLocked(id int64, fn func(*retailcrm.Order), who actor) (*retailcrm.Order, error) {
	cur := s.orders[id]
	if cur == nil {
		return nil, fmt.Errorf("retailcrmtest: no order %d", id)
	}
	next := cloneOrder(cur)
	fn(next)
	next.ID = cur.ID
	s.numberPartsLocked(next)
	if next.Status != cur.Status {
		if _, ok := s.statuses[next.Status]; !ok {
			return nil, fmt.Errorf("retailcrmtest: unknown status %q", next.Status)
		}
		next.StatusUpdatedAt = retailcrm.NewDateTime(s.now())
	}
	s.derivePaidLocked(cur, next)
	s.recordOrderChangesLocked(cur, next, who)
	s.putOrderLocked(next)
	return next, nil
}

// DeleteOrder removes an order and writes a deleted history record.
func (s *Server) DeleteOrder(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	if o == nil {
		return fmt.Errorf("retailcrmtest: no order %d", id)
	}
	s.dropOrderLocked(o)
	s.orderHist.add(histRec{
		at: s.now(), entityID: id,
		source: retailcrm.SourceUser, userID: s.opts.UserID,
		deleted: true, field: "id", old: id, new: nil,
		site: o.Site, snapshot: rawJSON(partialJSON(o)),
	})
	s.fireTriggerLocked(o)
	return nil
}

// Order returns a copy of the stored order.
func (s *Server) Order(id int64) (retailcrm.Order, bool) {
	return storedCopy(s, s.orders, id, cloneOrder)
}

// OrderCount returns the number of stored orders.
func (s *Server) OrderCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// LastHistoryID returns the id of the newest order history record (0 when
// none): the history head.
func (s *Server) LastHistoryID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orderHist.lastID()
}

// LastCustomerHistoryID returns the id of the newest customer history
// record (0 when none): that history's head.
func (s *Server) LastCustomerHistoryID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.custHist.lastID()
}

// AddCustomer stores a customer (created through the API by another
// integration) and writes its created record; id 0 gets a new id.
func (s *Server) AddCustomer(c retailcrm.Customer) retailcrm.Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *cloneCustomer(s.addCustomerLocked(c, actor{source: retailcrm.SourceAPI, key: otherIntegrationKey}))
}

func (s *Server) addCustomerLocked(in retailcrm.Customer, who actor) *retailcrm.Customer {
	c := cloneCustomer(&in)
	c.ID = newID(c.ID, &s.nextCustID, func(id int64) bool { return s.customers[id] != nil })
	if c.Site == "" {
		c.Site = s.opts.Sites[0]
	}
	if c.Type == "" {
		c.Type = "customer"
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = retailcrm.NewDateTime(s.now())
	}
	s.customers[c.ID] = c
	s.custHist.add(histRec{
		at: s.now(), entityID: c.ID,
		source: who.source, userID: who.userID, byKey: who.key,
		created: true, field: "id", old: nil, new: c.ID,
		site: c.Site, snapshot: rawJSON(customerJSON(c)),
	})
	return c
}

// UpdateCustomer changes a customer as a manager would; changed names,
// email, manager, phones and custom fields become customer history
// records with source "user". Orders keep their copy of the customer
// updated too.
func (s *Server) UpdateCustomer(id int64, fn func(*retailcrm.Customer)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.customers[id]
	if cur == nil {
		return fmt.Errorf("retailcrmtest: no customer %d", id)
	}
	next := cloneCustomer(cur)
	fn(next)
	next.ID = cur.ID
	at := s.now()
	for _, ch := range diffCustomer(cur, next) {
		s.custHist.add(histRec{
			at: at, entityID: id,
			source: retailcrm.SourceUser, userID: s.opts.UserID,
			field: ch.field, old: ch.old, new: ch.new,
			site: next.Site, snapshot: rawJSON(partialCustomerJSON(next)),
		})
	}
	s.customers[id] = next
	for _, o := range s.orders {
		if o.Customer != nil && o.Customer.ID == id && o.Customer.Type != retailcrm.CustomerTypeCorporate {
			o.Customer = cloneCustomer(next)
		}
		if o.Contact != nil && o.Contact.ID == id {
			o.Contact = cloneCustomer(next)
		}
	}
	return nil
}

// Customer returns a copy of the stored customer.
func (s *Server) Customer(id int64) (retailcrm.Customer, bool) {
	return storedCopy(s, s.customers, id, cloneCustomer)
}

// derivePaidLocked sets o.FullPaidAt as RetailCRM keeps it: set while the
// payments in a paymentComplete status cover totalSumm, cleared otherwise
// (recorded history: full_paid_at set with the payment turning paid, and
// cleared when it turned back, records 7113-7116). A new order fully paid
// keeps a given FullPaidAt, else takes its latest paidAt; an order becoming
// fully paid takes the current time; one staying so keeps its date.
func (s *Server) derivePaidLocked(before, o *retailcrm.Order) {
	paid, counted := decimal.Zero, false
	var last retailcrm.DateTime
	for _, p := range o.Payments {
		if !s.paymentStatuses[p.Status].PaymentComplete {
			continue
		}
		paid, counted = paid.Add(p.Amount), true
		if p.PaidAt.String() > last.String() {
			last = p.PaidAt
		}
	}
	switch {
	case !counted || paid.LessThan(o.TotalSumm):
		o.FullPaidAt = retailcrm.DateTime{}
	case before != nil && before.FullyPaid():
		o.FullPaidAt = before.FullPaidAt
	case before == nil && !o.FullPaidAt.IsZero():
	case before == nil && !last.IsZero():
		o.FullPaidAt = last
	default:
		o.FullPaidAt = retailcrm.NewDateTime(s.now())
	}
}

// numberPartsLocked gives lines and payments without an id the next free
// one, as RetailCRM numbers them account-wide.
func (s *Server) numberPartsLocked(o *retailcrm.Order) {
	for i := range o.Items {
		if o.Items[i].ID == 0 {
			o.Items[i].ID = s.nextLineID
		}
		s.nextLineID = max(s.nextLineID, o.Items[i].ID+1)
	}
	for i := range o.Payments {
		if o.Payments[i].ID == 0 {
			o.Payments[i].ID = s.nextPaymentID
		}
		s.nextPaymentID = max(s.nextPaymentID, o.Payments[i].ID+1)
	}
}
