package retailcrmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
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

// diffOrder lists the changes of the fields the fake records, in the order
// RetailCRM tends to write them (status first).
func diffOrder(a, b *retailcrm.Order) []orderChange {
	var out []orderChange
	add := func(field string, changed bool, old, new any) {
		if changed {
			out = append(out, orderChange{field: field, old: old, new: new})
		}
	}
	add("status", a.Status != b.Status, code(a.Status), code(b.Status))
	add("status_comment", a.StatusComment != b.StatusComment, text(a.StatusComment), text(b.StatusComment))
	add("manager", a.ManagerID != b.ManagerID, idValue(a.ManagerID), idValue(b.ManagerID))
	add("manager_comment", a.ManagerComment != b.ManagerComment, text(a.ManagerComment), text(b.ManagerComment))
	add("customer_comment", a.CustomerComment != b.CustomerComment, text(a.CustomerComment), text(b.CustomerComment))
	add("order_method", a.OrderMethod != b.OrderMethod, code(a.OrderMethod), code(b.OrderMethod))
	add("order_type", a.OrderType != b.OrderType, code(a.OrderType), code(b.OrderType))
	add("first_name", a.FirstName != b.FirstName, text(a.FirstName), text(b.FirstName))
	add("last_name", a.LastName != b.LastName, text(a.LastName), text(b.LastName))
	add("patronymic", a.Patronymic != b.Patronymic, text(a.Patronymic), text(b.Patronymic))
	add("phone", a.Phone != b.Phone, text(a.Phone), text(b.Phone))
	add("email", a.Email != b.Email, text(a.Email), text(b.Email))
	var da, db retailcrm.Delivery
	if a.Delivery != nil {
		da = *a.Delivery
	}
	if b.Delivery != nil {
		db = *b.Delivery
	}
	add("delivery_type", da.Code != db.Code, code(da.Code), code(db.Code))
	add("delivery_cost", !da.Cost.Equal(db.Cost), num(da.Cost), num(db.Cost))
	add("delivery_net_cost", !da.NetCost.Equal(db.NetCost), num(da.NetCost), num(db.NetCost))
	add("summ", !a.Summ.Equal(b.Summ), num(a.Summ), num(b.Summ))
	add("total_summ", !a.TotalSumm.Equal(b.TotalSumm), num(a.TotalSumm), num(b.TotalSumm))
	var ca, cb int64
	if a.Customer != nil {
		ca = a.Customer.ID
	}
	if b.Customer != nil {
		cb = b.Customer.ID
	}
	add("customer", ca != cb, idValue(ca), idValue(cb))
	for _, k := range slices.Sorted(maps.Keys(unionKeys(a.CustomFields, b.CustomFields))) {
		va, vb := a.CustomFields[k], b.CustomFields[k]
		add("custom_"+k, !bytes.Equal(va, vb), rawOrNil(va), rawOrNil(vb))
	}
	out = append(out, diffItems(a.Items, b.Items)...)
	out = append(out, diffPayments(a.Payments, b.Payments)...)
	add("full_paid_at", a.FullPaidAt != b.FullPaidAt, dateOrNil(a.FullPaidAt), dateOrNil(b.FullPaidAt))
	return out
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
	var out []orderChange
	before := map[int64]retailcrm.Item{}
	for _, it := range a {
		before[it.ID] = it
	}
	after := map[int64]bool{}
	for _, it := range b {
		after[it.ID] = true
		old, ok := before[it.ID]
		if !ok {
			out = append(out, orderChange{field: "order_product", new: map[string]int64{"id": it.ID}, item: historyItem(it)})
			continue
		}
		line := func(field string, changed bool, o, n any) {
			if changed {
				out = append(out, orderChange{field: "order_product." + field, old: o, new: n, item: historyItem(it)})
			}
		}
		line("status", old.Status != it.Status, code(old.Status), code(it.Status))
		line("quantity", !old.Quantity.Equal(it.Quantity), num(old.Quantity), num(it.Quantity))
		line("initial_price", !old.InitialPrice.Equal(it.InitialPrice), num(old.InitialPrice), num(it.InitialPrice))
		line("discount_total", !old.DiscountTotal.Equal(it.DiscountTotal), num(old.DiscountTotal), num(it.DiscountTotal))
		line("vat_rate", old.VATRate != it.VATRate, vatValue(old.VATRate), vatValue(it.VATRate))
	}
	for _, it := range a {
		if !after[it.ID] {
			out = append(out, orderChange{field: "order_product", old: map[string]int64{"id": it.ID}, item: historyItem(it)})
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
	var out []orderChange
	before := map[int64]retailcrm.Payment{}
	for _, p := range a {
		before[p.ID] = p
	}
	after := map[int64]bool{}
	for _, p := range b {
		after[p.ID] = true
		old, ok := before[p.ID]
		if !ok {
			out = append(out, orderChange{field: "payments", new: map[string]any{"id": p.ID, "type": p.Type}, payment: paymentJSON(p)})
			continue
		}
		field := func(name string, changed bool, o, n any) {
			if changed {
				out = append(out, orderChange{field: "payments." + name, old: o, new: n, payment: paymentRef(p)})
			}
		}
		field("type", old.Type != p.Type, code(old.Type), code(p.Type))
		field("amount", !old.Amount.Equal(p.Amount), num(old.Amount), num(p.Amount))
		field("paid_at", old.PaidAt != p.PaidAt, dateOrNil(old.PaidAt), dateOrNil(p.PaidAt))
		field("status", old.Status != p.Status, code(old.Status), code(p.Status))
		field("external_id", old.ExternalID != p.ExternalID, text(old.ExternalID), text(p.ExternalID))
	}
	for _, p := range a {
		if !after[p.ID] {
			out = append(out, orderChange{field: "payments", old: map[string]any{"id": p.ID, "type": p.Type}, payment: paymentRef(p)})
		}
	}
	return out
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

// recordOrderChanges appends records for the changes between before and
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
	var out []orderChange
	add := func(field string, changed bool, old, new any) {
		if changed {
			out = append(out, orderChange{field: field, old: old, new: new})
		}
	}
	add("first_name", a.FirstName != b.FirstName, text(a.FirstName), text(b.FirstName))
	add("last_name", a.LastName != b.LastName, text(a.LastName), text(b.LastName))
	add("patronymic", a.Patronymic != b.Patronymic, text(a.Patronymic), text(b.Patronymic))
	add("email", a.Email != b.Email, text(a.Email), text(b.Email))
	add("manager", a.ManagerID != b.ManagerID, idValue(a.ManagerID), idValue(b.ManagerID))
	// Phones are recorded one record per added or removed number, the
	// value being the number as a plain string (recorded customers history,
	// records 2696, 2733, 2755).
	have := map[string]bool{}
	for _, p := range a.Phones {
		have[p.Number] = true
	}
	keep := map[string]bool{}
	for _, p := range b.Phones {
		keep[p.Number] = true
		if !have[p.Number] {
			out = append(out, orderChange{field: "phones", new: p.Number})
		}
	}
	for _, p := range a.Phones {
		if !keep[p.Number] {
			out = append(out, orderChange{field: "phones", old: p.Number})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(unionKeys(a.CustomFields, b.CustomFields))) {
		va, vb := a.CustomFields[k], b.CustomFields[k]
		add("custom_"+k, !bytes.Equal(va, vb), rawOrNil(va), rawOrNil(vb))
	}
	return out
}
