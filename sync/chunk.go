package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// item is one order being synced in a chunk.
type item struct {
	order  *retailcrm.Order
	events *orderEvents // nil for a retried failure
	deal   *dealState
	cust   *customer
	link   *store.OrderLink
	err    error // parking reason; set once, never cleared
	parked bool  // err's failure is parked after its last attempt (not waiting for a retry)

	needDeal  bool // the deal's desired state differs from the last applied
	dealID    int64
	remote    bitrix.Record // the deal as found by ORIGIN_ID
	comments  []pendingComment
	actions   []pendingAction
	dealDone  bool // the deal is in its desired state (written or unchanged)
	unchanged bool
	action    string // deal.add, deal.update, "" when nothing was written
	stageSet  string // the stage written to the deal, recorded in the ledger for push

	linkNeed      bool  // the found deal lacks the order's contact: link it
	contactLinked int64 // the contact known to be linked to the deal, kept in the order link

	needRows bool // the product rows differ from the last set (link's rows hash)
	rowsDone bool // the rows are as desired (set now, or unchanged)
	// held is the rows the found deal holds, when read (heldRead):
	// addHeldRows reads them when no link records what was set.
	held     []bitrix.StoredProductRow
	heldRead bool
	dealGone bool // the linked deal was deleted in Bitrix24: parked at once (deletions.go)
	recreate bool // re-queued by an operator after that: a new deal may be made

	// company is the buyer's company (corporate customers, legal buyers);
	// nil for a private person or with companies off.
	company *companyState
}

// customer is one RetailCRM customer of a chunk, shared by its orders.
type customer struct {
	state     *contactState
	link      *store.CustomerLink
	needWork  bool
	contactID int64
	remote    bitrix.Record
	err       error
	parked    bool          // err's failure is parked after its last attempt
	done      bool          // the contact is in its desired state
	action    string        // contact.add, contact.update, ""
	dupOf     *customer     // shares an e-mail or phone with a contact created in the same chunk
	created   bitrix.Fields // the fields of the contact created for it
}

// pendingComment is a timeline comment a history record asks for.
type pendingComment struct {
	recordID  int64
	covers    []int64 // further records the comment stands for (the lines of a return)
	text      string
	done      bool
	uncertain bool // sent by a run that stopped before recording it
}

// chunkResult is what one chunk did, for the page's commit.
type chunkResult struct {
	items     []*item
	customers []*customer
}

// prepare computes the desired state of every order and loads the local links.
func (e *Engine) prepare(ctx context.Context, orders []*retailcrm.Order, events map[int64]*orderEvents) ([]*item, map[int64]*customer, error) {
	if err := e.prepareManagers(ctx, orders, events); err != nil {
		return nil, nil, err
	}
	items := make([]*item, 0, len(orders))
	custs := map[int64]*customer{}
	var orderIDs, custIDs []int64
	for _, o := range orders {
		it := &item{order: o, events: events[o.ID]}
		items = append(items, it)
		orderIDs = append(orderIDs, o.ID)
		deal, contact, err := e.mapper.desire(o)
		if err != nil {
			it.err = err
			continue
		}
		it.deal = deal
		if err := e.markRepeat(ctx, o, deal); err != nil {
			return nil, nil, err
		}
		c := custs[contact.customerID]
		if c == nil {
			c = &customer{state: contact}
			custs[contact.customerID] = c
			custIDs = append(custIDs, contact.customerID)
		} else if contact.hash != c.state.hash {
			// Orders of one customer disagree about it (snapshots of different
			// times): union the values so no order loses a phone or e-mail.
			c.state = mergeContact(c.state, contact)
		}
		it.cust = c
	}
	if err := e.applyProfiles(ctx, items); err != nil {
		return nil, nil, err
	}
	if err := e.resolveProducts(ctx, items); err != nil {
		return nil, nil, err
	}
	if err := e.prepareCompanies(ctx, items); err != nil {
		return nil, nil, err
	}
	links, err := e.store.OrderLinks(ctx, orderIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("reading order links: %w", err)
	}
	clinks, err := e.store.CustomerLinks(ctx, custIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("reading customer links: %w", err)
	}
	for id, c := range custs {
		if l, ok := clinks[id]; ok {
			l := l
			c.link = &l
			c.contactID = l.ContactID
		}
		c.needWork = c.link == nil || c.link.ContentHash != c.state.hash || c.link.ContactID == 0
		if !c.needWork {
			c.done = true
		}
	}
	for _, it := range items {
		if l, ok := links[it.order.ID]; ok {
			l := l
			it.link = &l
		}
		if it.recreate = e.recreate[it.order.ID]; it.recreate {
			it.link = nil // the deal it names is gone: plan as for a new order
		}
		if it.err != nil {
			continue
		}
		cs, err := e.comments(ctx, it)
		if err != nil {
			return nil, nil, err
		}
		it.comments = cs
		if it.actions, err = e.ruleActions(ctx, it); err != nil {
			return nil, nil, err
		}
		et := store.EntityType(e.mapper.entity())
		linkType := store.EntityDeal
		if it.link != nil && it.link.EntityType != "" {
			linkType = it.link.EntityType
		}
		it.needDeal = it.link == nil || it.link.ContentHash != it.deal.hash || linkType != et || it.link.EntityID == 0 ||
			it.cust.needWork
		it.needRows = needRows(it.link, it.deal.rows, linkType == et)
		it.rowsDone = !it.needRows
		if !it.needDeal {
			it.dealID = it.link.EntityID
			it.contactLinked = it.link.ContactID
			it.dealDone = true
			if len(it.comments) == 0 && len(it.actions) == 0 && !it.needRows {
				it.unchanged = true
			}
		}
	}
	return items, custs, nil
}

// needRows reports whether the rows must be set: their hash differs from
// the one the link records for the same entity. No rows where none were
// ever set need nothing.
func needRows(l *store.OrderLink, rs *rowsState, sameEntity bool) bool {
	last := ""
	if l != nil && sameEntity && l.EntityID != 0 {
		last = l.RowsHash
	}
	if len(rs.rows) == 0 {
		return last != "" && last != rs.hash
	}
	return last != rs.hash
}

// markRepeat marks the deal of a customer's second and later order as a
// repeat purchase (IS_RETURN_CUSTOMER): an order of the same customer with a
// smaller id is linked, or was seen earlier in this run.
func (e *Engine) markRepeat(ctx context.Context, o *retailcrm.Order, deal *dealState) error {
	if e.mapper.entity() != bitrix.EntityDeal {
		return nil // a lead's flag is set by the portal from CONTACT_ID
	}
	cid := deal.customerID
	first, ok := e.firstOrder[cid]
	if !ok {
		links, err := e.store.OrderLinksByCustomer(ctx, cid)
		if err != nil {
			return fmt.Errorf("reading the orders of customer %d: %w", cid, err)
		}
		first = o.ID
		for _, l := range links {
			first = min(first, l.OrderID)
		}
	}
	e.firstOrder[cid] = min(first, o.ID)
	if first < o.ID {
		deal.fields[e.mapper.repeatField()] = "Y"
		deal.rehash()
	}
	return nil
}

func mergeContact(a, b *contactState) *contactState {
	out := &contactState{customerID: a.customerID, fields: map[string]string{}}
	for k, v := range a.fields {
		out.fields[k] = v
	}
	for k, v := range b.fields {
		out.fields[k] = v // the later order's snapshot wins for scalars
	}
	out.emails = union(a.emails, b.emails)
	out.phones = union(a.phones, b.phones)
	out.hash = hashState("contact", out.fields, "email", joinComma(out.emails), "phone", joinComma(out.phones))
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// processChunk syncs up to 50 orders: one lookup batch, then contact
// writes, deal writes and comments, each as one batch.
func (e *Engine) processChunk(ctx context.Context, orders []*retailcrm.Order, events map[int64]*orderEvents) (*chunkResult, error) {
	items, custs, err := e.prepare(ctx, orders, events)
	if err != nil {
		return nil, err
	}
	res := &chunkResult{items: items}
	ids := make([]int64, 0, len(custs))
	for id := range custs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		res.customers = append(res.customers, custs[id])
	}
	if err := e.lookup(ctx, items, res.customers); err != nil {
		return nil, err
	}
	if err := e.writeContacts(ctx, res.customers); err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.err == nil && it.cust != nil && it.cust.err != nil {
			it.err = fmt.Errorf("%w: order %s: contact of customer %d: %w", errBadOrder, orderName(it.order), it.cust.state.customerID, it.cust.err)
		}
	}
	if err := e.writeCompanies(ctx, items); err != nil {
		return nil, err
	}
	if err := e.writeDeals(ctx, items); err != nil {
		return nil, err
	}
	if err := e.writeComments(ctx, items); err != nil {
		return nil, err
	}
	if err := e.writeRuleActions(ctx, items); err != nil {
		return nil, err
	}
	return res, nil
}

// key helpers for batch commands.
func dealKey(orderID int64) string     { return "d" + strconv.FormatInt(orderID, 10) }
func contactKey(custID int64) string   { return "c" + strconv.FormatInt(custID, 10) }
func commentKey(recordID int64) string { return "m" + strconv.FormatInt(recordID, 10) }
