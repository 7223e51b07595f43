package sync

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

// profileEntry is what one order adds to its customer's purchase profile.
type profileEntry struct {
	OrderID int64
	Counted bool // not cancelled, not returned
	Amount  decimal.Decimal
	Created string // createdAt, "2006-01-02 15:04:05" in the account's zone: sorts as text
	Number  string
}

// purchaseProfile is a customer's purchase profile.
type purchaseProfile struct {
	Count      int
	Spent      decimal.Decimal
	First      string // createdAt of the first counted order, "" when none
	Last       string
	LastNumber string
}

// profileEntryOf is what an order adds to the profile. A cancelled order
// (status group cancel), an order in a return status and an order whose
// every line was returned are not purchases: they add nothing, not even
// to the count. Other orders count with their totalSumm as RetailCRM
// computes it.
func (m *mapper) profileEntryOf(o *retailcrm.Order) profileEntry {
	group := m.groups[o.Status]
	counted := group != "cancel" && !m.ref.returnStatus(o.Status, group) && !allReturned(o, m.ref)
	return profileEntry{OrderID: o.ID, Counted: counted, Amount: o.TotalSumm, Created: o.CreatedAt.String(), Number: o.Number}
}

// computeProfile folds the entries of a customer's orders. The result does
// not depend on their order.
func computeProfile(entries []profileEntry) purchaseProfile {
	var p purchaseProfile
	var lastID int64
	for _, en := range entries {
		if !en.Counted {
			continue
		}
		p.Count++
		p.Spent = p.Spent.Add(en.Amount)
		if en.Created == "" {
			continue
		}
		if p.First == "" || en.Created < p.First {
			p.First = en.Created
		}
		if en.Created > p.Last || en.Created == p.Last && en.OrderID > lastID {
			p.Last, p.LastNumber, lastID = en.Created, en.Number, en.OrderID
		}
	}
	return p
}

// fields are the profile's contact fields. Count and total are always
// written (a customer whose only order was cancelled has 0); dates and the
// number only when known, so they are never wiped.
func (p purchaseProfile) fields(mapping map[string]string) map[string]string {
	out := map[string]string{}
	for key, field := range mapping {
		v := ""
		switch key {
		case config.ProfileOrdersCount:
			v = strconv.Itoa(p.Count)
		case config.ProfileTotalSpent:
			v = p.Spent.StringFixed(2)
		case config.ProfileFirstOrderDate:
			v = dateOf(p.First)
		case config.ProfileLastOrderDate:
			v = dateOf(p.Last)
		case config.ProfileLastOrderNumber:
			v = clean(p.LastNumber)
		}
		if v != "" {
			out[field] = v
		}
	}
	return out
}

// dateOf is the date part of a RetailCRM date-time, the value a Bitrix24
// date field takes.
func dateOf(dt string) string {
	d, _, _ := strings.Cut(dt, " ")
	return d
}

// applyProfiles puts the purchase profile of every customer of a chunk on
// its desired contact: the stored entries of the customer's other orders
// plus the current state of the chunk's orders. The chunk's entries are
// stored with the page (putProfiles).
func (e *Engine) applyProfiles(ctx context.Context, items []*item) error {
	mapping := e.cfg.Mapping.ProfileFields
	if len(mapping) == 0 {
		return nil
	}
	byCust := map[*customer][]*item{}
	var order []*customer
	for _, it := range items {
		if it.err != nil || it.cust == nil {
			continue
		}
		if _, ok := byCust[it.cust]; !ok {
			order = append(order, it.cust)
		}
		byCust[it.cust] = append(byCust[it.cust], it)
	}
	for _, c := range order {
		entries, err := e.profileEntries(ctx, c.state.customerID)
		if err != nil {
			return err
		}
		for _, it := range byCust[c] {
			entries[it.order.ID] = e.mapper.profileEntryOf(it.order)
		}
		list := make([]profileEntry, 0, len(entries))
		for _, en := range entries {
			list = append(list, en)
		}
		for field, v := range computeProfile(list).fields(mapping) {
			c.state.fields[field] = v
		}
		c.state.rehash()
	}
	return nil
}

// profileEntries reads the stored entries of a customer's orders.
func (e *Engine) profileEntries(ctx context.Context, customerID int64) (map[int64]profileEntry, error) {
	rows, err := e.store.ProfileContributions(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("reading the purchase profile of customer %d: %w", customerID, err)
	}
	out := make(map[int64]profileEntry, len(rows))
	for _, r := range rows {
		amount, err := decimal.NewFromString(r.Amount)
		if err != nil {
			continue // unreadable: the order's next sync writes it again
		}
		out[r.OrderID] = profileEntry{OrderID: r.OrderID, Counted: r.Counted, Amount: amount, Created: r.CreatedAt, Number: r.Number}
	}
	return out, nil
}

// putProfiles stores what each order of a chunk adds to its customer's
// profile; an order moved to another customer leaves the old one's profile
// with it (one row per order).
func (e *Engine) putProfiles(ctx context.Context, tx *store.Tx, items []*item) error {
	if len(e.cfg.Mapping.ProfileFields) == 0 {
		return nil
	}
	for _, it := range items {
		if it.deal == nil || it.cust == nil {
			continue
		}
		en := e.mapper.profileEntryOf(it.order)
		if err := tx.PutProfileContribution(ctx, store.ProfileContribution{OrderID: en.OrderID, CustomerID: it.cust.state.customerID,
			Counted: en.Counted, Amount: en.Amount.String(), CreatedAt: en.Created, Number: en.Number}); err != nil {
			return err
		}
	}
	return nil
}

// rehash recomputes a contact's hash after a field changed.
func (c *contactState) rehash() {
	c.hash = hashState("contact", c.fields, "email", strings.Join(c.emails, ","), "phone", strings.Join(c.phones, ","))
}

// repeatField is the deal field marking a repeat purchase.
func (m *mapper) repeatField() string {
	if f := m.cfg.Mapping.RepeatPurchaseField; f != "" {
		return f
	}
	return bitrix.FieldIsReturnCustomer
}
