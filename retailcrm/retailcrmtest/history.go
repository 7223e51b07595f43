package retailcrmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/shopspring/decimal"
)

// histRec is one stored history record. apiKey.current depends on who
// reads, so records are encoded per request.
type histRec struct {
	id       int64
	at       time.Time
	entityID int64 // order or customer id
	source   string
	userID   int64
	byKey    string // key of the API request that caused it
	created  bool
	deleted  bool
	field    string
	old, new any
	site     string
	item     any // the line of an order_product.* record
	payment  any // the payment of a payments* record
	// snapshot is the encoded "order" or "customer" member, kept as bytes
	// because fakes with 100k orders hold one full snapshot per order.
	snapshot json.RawMessage
	// extra members of the record (combinedTo, company), encoded as given
	extra map[string]any
}

// actor says who makes a change.
type actor struct {
	source string
	userID int64
	key    string
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("retailcrmtest: encoding snapshot: %v", err))
	}
	return b
}

func (s *Server) now() time.Time { return s.opts.Now().In(s.loc) }

func (h *histRec) encode(entity, readerKey string) map[string]any {
	m := map[string]any{
		"id":        h.id,
		"createdAt": h.at.Format(retailcrm.LayoutDateTime),
		"source":    h.source,
		"field":     h.field,
		"oldValue":  h.old,
		"newValue":  h.new,
		entity:      h.snapshot,
	}
	if h.item != nil {
		m["item"] = h.item
	}
	if h.payment != nil {
		m["payment"] = h.payment
	}
	for k, v := range h.extra {
		m[k] = v
	}
	if h.created {
		m["created"] = true
	}
	if h.deleted {
		m["deleted"] = true
	}
	switch h.source {
	case retailcrm.SourceUser:
		m["user"] = map[string]any{"id": h.userID}
	case retailcrm.SourceAPI:
		m["apiKey"] = map[string]any{"current": h.byKey != "" && h.byKey == readerKey}
	}
	return m
}

func code(v string) any {
	if v == "" {
		return nil
	}
	return map[string]string{"code": v}
}

func idValue(v int64) any {
	if v == 0 {
		return nil
	}
	return map[string]int64{"id": v}
}

func text(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// orderChange is one history-worthy difference between two order states.
type orderChange struct {
	field    string
	old, new any
	item     any
	payment  any
}

// changes collects the history-worthy differences of an order, a customer
// or one member of them (a line, a payment), in the order found. Each record
// is named prefix+field and carries the member's item or payment.
type changes struct {
	out           []orderChange
	prefix        string
	item, payment any
}

// add records field when changed, with its old and new values.
func (c *changes) add(field string, changed bool, old, new any) {
	if changed {
		c.out = append(c.out, orderChange{field: c.prefix + field, old: old, new: new, item: c.item, payment: c.payment})
	}
}

// addCode, addText, addID, addNum and addDate record a changed value in the
// shape history gives that kind of field: {code}, a string, {id}, a number,
// a date; null for none.
func (c *changes) addCode(field, a, b string)     { c.add(field, a != b, code(a), code(b)) }
func (c *changes) addText(field, a, b string)     { c.add(field, a != b, text(a), text(b)) }
func (c *changes) addID(field string, a, b int64) { c.add(field, a != b, idValue(a), idValue(b)) }
func (c *changes) addNum(field string, a, b decimal.Decimal) {
	c.add(field, !a.Equal(b), num(a), num(b))
}
func (c *changes) addDate(field string, a, b retailcrm.DateTime) {
	c.add(field, a != b, dateOrNil(a), dateOrNil(b))
}

// addCustomFields records each changed custom field as custom_<code>, by
// code.
func (c *changes) addCustomFields(a, b retailcrm.CustomFields) {
	for _, k := range slices.Sorted(maps.Keys(unionKeys(a, b))) {
		va, vb := a[k], b[k]
		c.add("custom_"+k, !bytes.Equal(va, vb), rawOrNil(va), rawOrNil(vb))
	}
}

// diffOrder lists the changes of the fields the fake records, in the order
// RetailCRM tends to write them (status first).
func diffOrder(a, b *retailcrm.Order) []orderChange {
	var c changes
	c.addCode("status", a.Status, b.Status)
	c.addText("status_comment", a.StatusComment, b.StatusComment)
	c.addID("manager", a.ManagerID, b.ManagerID)
	c.addText("manager_comment", a.ManagerComment, b.ManagerComment)
	c.addText("customer_comment", a.CustomerComment, b.CustomerComment)
	c.addCode("order_method", a.OrderMethod, b.OrderMethod)
	c.addCode("order_type", a.OrderType, b.OrderType)
	c.addText("first_name", a.FirstName, b.FirstName)
	c.addText("last_name", a.LastName, b.LastName)
	c.addText("patronymic", a.Patronymic, b.Patronymic)
	c.addText("phone", a.Phone, b.Phone)
	c.addText("email", a.Email, b.Email)
	var da, db retailcrm.Delivery
	if a.Delivery != nil {
		da = *a.Delivery
	}
	if b.Delivery != nil {
		db = *b.Delivery
	}
	c.addCode("delivery_type", da.Code, db.Code)
	c.addNum("delivery_cost", da.Cost, db.Cost)
	c.addNum("delivery_net_cost", da.NetCost, db.NetCost)
	c.addNum("summ", a.Summ, b.Summ)
	c.addNum("total_summ", a.TotalSumm, b.TotalSumm)
	var ca, cb int64
	if a.Customer != nil {
		ca = a.Customer.ID
	}
	if b.Customer != nil {
		cb = b.Customer.ID
	}
	c.addID("customer", ca, cb)
	c.addCustomFields(a.CustomFields, b.CustomFields)
	c.out = append(c.out, diffItems(a.Items, b.Items)...)
	c.out = append(c.out, diffPayments(a.Payments, b.Payments)...)
	c.addDate("full_paid_at", a.FullPaidAt, b.FullPaidAt)
	return c.out
}

func dateOrNil(d retailcrm.DateTime) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

// diffItems records changed lines as order_product.* records naming the
// line, as RetailCRM writes them (recorded records 7045, 7079, 7080, 7085).
// An added or removed line is an order_product record whose new or old
// value is {id} of the line: RetailCRM's own module lists the field, the
// value's shape is not recorded anywhere (docs/api-notes.md).
func diffItems(a, b []retailcrm.Item) []orderChange {
	member := func(field string, it retailcrm.Item, old, new any) orderChange {
		return orderChange{field: field, old: old, new: new, item: historyItem(it)}
	}
	return diffMembers(a, b, func(it retailcrm.Item) int64 { return it.ID },
		func(it retailcrm.Item) orderChange {
			return member("order_product", it, nil, map[string]int64{"id": it.ID})
		},
		func(it retailcrm.Item) orderChange {
			return member("order_product", it, map[string]int64{"id": it.ID}, nil)
		},
		func(old, it retailcrm.Item) []orderChange {
			line := changes{prefix: "order_product.", item: historyItem(it)}
			line.addCode("status", old.Status, it.Status)
			line.addNum("quantity", old.Quantity, it.Quantity)
			line.addNum("initial_price", old.InitialPrice, it.InitialPrice)
			line.addNum("discount_total", old.DiscountTotal, it.DiscountTotal)
			line.add("vat_rate", old.VATRate != it.VATRate, vatValue(old.VATRate), vatValue(it.VATRate))
			return line.out
		})
}

// diffMembers lists the changes of an entity's members of one kind (lines,
// payments, phones), matched by id: for each member of b in turn, added
// (not in a) or its changes (changed); then each member of a that b lacks
// (removed).
func diffMembers[T any, K comparable](a, b []T, id func(T) K, added, removed func(T) orderChange,
	changed func(old, cur T) []orderChange) []orderChange {
	var out []orderChange
	before := make(map[K]T, len(a))
	for _, m := range a {
		before[id(m)] = m
	}
	after := make(map[K]bool, len(b))
	for _, m := range b {
		after[id(m)] = true
		if old, ok := before[id(m)]; ok {
			out = append(out, changed(old, m)...)
		} else {
			out = append(out, added(m))
		}
	}
	for _, m := range a {
		if !after[id(m)] {
			out = append(out, removed(m))
		}
	}
	return out
}

// vatValue is a VAT rate as history values carry it: a number, null for
// none (recorded record 7043: 0 → null).
func vatValue(r retailcrm.VATRate) any {
	if p, ok := r.Percent(); ok {
		return num(p)
	}
	return nil
}

// diffPayments records payment changes as RetailCRM writes them (recorded
// records 7082, 7103, 7104, 7051): "payments" with {id, type} when a payment
// is added or removed, "payments.<field>" when one changes, each with the
// payment member {id, type, externalId?}.
func diffPayments(a, b retailcrm.Payments) []orderChange {
	ref := func(p retailcrm.Payment) map[string]any { return map[string]any{"id": p.ID, "type": p.Type} }
	return diffMembers(a, b, func(p retailcrm.Payment) int64 { return p.ID },
		func(p retailcrm.Payment) orderChange {
			return orderChange{field: "payments", new: ref(p), payment: paymentJSON(p)}
		},
		func(p retailcrm.Payment) orderChange {
			return orderChange{field: "payments", old: ref(p), payment: paymentRef(p)}
		},
		func(old, p retailcrm.Payment) []orderChange {
			pc := changes{prefix: "payments.", payment: paymentRef(p)}
			pc.addCode("type", old.Type, p.Type)
			pc.addNum("amount", old.Amount, p.Amount)
			pc.addDate("paid_at", old.PaidAt, p.PaidAt)
			pc.addCode("status", old.Status, p.Status)
			pc.addText("external_id", old.ExternalID, p.ExternalID)
			return pc.out
		})
}

// paymentRef is {id, type, externalId?}: a payment as history values and
// the payment member of payments.* records name it.
func paymentRef(p retailcrm.Payment) map[string]any {
	m := map[string]any{"id": p.ID}
	putStr(m, "type", p.Type)
	putStr(m, "externalId", p.ExternalID)
	return m
}

// historyItem is the item member of an order_product.* record: the line id
// and its offer's ids (no name, like the real API).
func historyItem(it retailcrm.Item) map[string]any {
	m := map[string]any{"id": it.ID}
	if it.Offer != nil {
		offer := map[string]any{"id": it.Offer.ID}
		putStr(offer, "externalId", it.Offer.ExternalID)
		putStr(offer, "xmlId", it.Offer.XMLID)
		m["offer"] = offer
	}
	return m
}

func unionKeys(a, b retailcrm.CustomFields) map[string]struct{} {
	out := map[string]struct{}{}
	for k := range a {
		out[k] = struct{}{}
	}
	for k := range b {
		out[k] = struct{}{}
	}
	return out
}

func rawOrNil(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// recordOrderChangesLocked appends records for the changes between before and
// after, made by who at now.
func (s *Server) recordOrderChangesLocked(before, after *retailcrm.Order, who actor) int {
	changes := diffOrder(before, after)
	at := s.now()
	for _, c := range changes {
		s.orderHist.add(histRec{
			at: at, entityID: after.ID,
			source: who.source, userID: who.userID, byKey: who.key,
			field: c.field, old: c.old, new: c.new, item: c.item, payment: c.payment,
			site: after.Site, snapshot: rawJSON(partialJSON(after)),
		})
	}
	if len(changes) > 0 {
		s.fireTriggerLocked(after)
	}
	return len(changes)
}

func diffCustomer(a, b *retailcrm.Customer) []orderChange {
	var c changes
	c.addText("first_name", a.FirstName, b.FirstName)
	c.addText("last_name", a.LastName, b.LastName)
	c.addText("patronymic", a.Patronymic, b.Patronymic)
	c.addText("email", a.Email, b.Email)
	c.addID("manager", a.ManagerID, b.ManagerID)
	// Phones are recorded one record per added or removed number, the
	// value being the number as a plain string (recorded customers history,
	// records 2696, 2733, 2755).
	c.out = append(c.out, diffMembers(a.Phones, b.Phones, func(p retailcrm.Phone) string { return p.Number },
		func(p retailcrm.Phone) orderChange { return orderChange{field: "phones", new: p.Number} },
		func(p retailcrm.Phone) orderChange { return orderChange{field: "phones", old: p.Number} },
		func(_, _ retailcrm.Phone) []orderChange { return nil })...)
	c.addCustomFields(a.CustomFields, b.CustomFields)
	return c.out
}
