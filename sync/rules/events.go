package rules

import (
	"slices"
	"strconv"

	"github.com/crmsync/crmsync/retailcrm"
)

// Trigger names, as rules write them in on:.
const (
	Created        = "created"
	Status         = "status"
	StatusGroup    = "status_group"
	Method         = "method"
	Returned       = "returned"
	RepeatPurchase = "repeat_purchase"
	Paid           = "paid"
)

// trigger is one kind of event rules can fire on.
type trigger struct {
	name string
	// valued triggers take a code after a colon (status:complete).
	valued bool
	// creation adds the trigger's events of an order's creation; nil when
	// the creation raises none.
	creation func(d *deriver)
	// record adds the trigger's events of one history record; nil when
	// records raise none.
	record func(d *deriver, r *retailcrm.HistoryRecord)
}

// triggers is every trigger, in the order an order's events are listed (a
// record's status event before its status_group event before its return).
// A new trigger is one entry here: its name, whether it takes a code, and
// the events it derives from the creation or from a history record.
func triggers() []trigger {
	return []trigger{
		{name: Created, creation: func(d *deriver) { d.emit(Event{Trigger: Created}) }},
		{name: Status, valued: true, record: func(d *deriver, r *retailcrm.HistoryRecord) {
			if code, old, ok := statusChange(r); ok {
				d.emit(Event{Trigger: Status, Arg: code, OldStatus: old})
			}
		}},
		{name: StatusGroup, valued: true, record: func(d *deriver, r *retailcrm.HistoryRecord) {
			if code, old, ok := statusChange(r); ok {
				d.emit(Event{Trigger: StatusGroup, Arg: d.ref.StatusGroup(code), OldStatus: old})
			}
		}},
		{name: Method, valued: true,
			creation: func(d *deriver) {
				if m := d.h.Order.OrderMethod; m != "" {
					d.emit(Event{Trigger: Method, Arg: m})
				}
			},
			record: func(d *deriver, r *retailcrm.HistoryRecord) {
				// At creation the method is an event of the creation (above).
				if code := r.NewValue.Code(); r.Field == "order_method" && code != "" && !r.Created {
					d.emit(Event{Trigger: Method, Arg: code})
				}
			}},
		{name: Returned, record: (*deriver).returned},
		{name: RepeatPurchase, creation: func(d *deriver) {
			if d.h.Repeat {
				d.emit(Event{Trigger: RepeatPurchase})
			}
		}},
		// Paid: the order became fully paid (a full_paid_at record setting
		// it), or was first seen so (its creation, a backfill); once per
		// order, whichever came first (PaidKey).
		{name: Paid,
			creation: func(d *deriver) {
				if d.h.Order.FullyPaid() {
					d.paid()
				}
			},
			record: func(d *deriver, r *retailcrm.HistoryRecord) {
				if r.Field == "full_paid_at" && !r.NewValue.IsNull() && r.NewValue.String() != "" {
					d.paid()
				}
			}},
	}
}

// paid adds the order's paid event, once.
func (d *deriver) paid() {
	if d.paidDone {
		return
	}
	d.paidDone = true
	d.out = append(d.out, Event{Key: PaidKey(d.h.Order.ID), Trigger: Paid})
}

// statusChange reads a record that changes the order's status.
func statusChange(r *retailcrm.HistoryRecord) (code, old string, ok bool) {
	if r.Field != "status" {
		return "", "", false
	}
	code, old = r.NewValue.Code(), r.OldValue.Code()
	return code, old, code != "" && code != old
}

// Event is something that happened to an order, as rules see it.
type Event struct {
	// Key names the event in the store of fired actions: CreatedKey for the
	// events of a creation, HistoryKey of the record otherwise.
	Key       string
	Trigger   string
	Arg       string // the code of a valued trigger
	OldStatus string
	Items     []string // the lines a return names
}

// CreatedKey keys the events of an order's creation by the order, not by a
// history record: a backfill (which sees no history) and the pull that later
// reads the creation record then share the key, so a rule on created or
// repeat_purchase fires once whichever came first.
func CreatedKey(orderID int64) string {
	return "order:" + strconv.FormatInt(orderID, 10) + ":created"
}

// PaidKey keys an order's paid event by the order: an order is paid once
// as far as rules go, whether a pull saw its payment in the history or a
// backfill or a creation saw it paid already.
func PaidKey(orderID int64) string {
	return "order:" + strconv.FormatInt(orderID, 10) + ":paid"
}

// HistoryKey keys the events of one history record.
func HistoryKey(recordID int64) string { return "history:" + strconv.FormatInt(recordID, 10) }

// Reference answers what events need from the account's dictionaries and
// from the order's lines.
type Reference interface {
	// StatusGroup is the group of an order status.
	StatusGroup(code string) string
	// ReturnStatus reports an order status that means a return.
	ReturnStatus(code, group string) bool
	// ProductCancelled reports a product status that takes a line out of
	// the order.
	ProductCancelled(code string) bool
	// ReturnItems names the lines an order-level return takes back.
	ReturnItems(o *retailcrm.Order) []string
	// ItemName names the line a history record refers to.
	ItemName(o *retailcrm.Order, r *retailcrm.HistoryRecord) string
}

// History is an order and what was read of its history.
type History struct {
	Order *retailcrm.Order
	// Records are the order's history records kept this run, oldest first.
	Records []retailcrm.HistoryRecord
	// New takes an order read without history records (a backfill, or a
	// retry of an order parked before its deal was written) as just
	// created: its creation record, if any, was read without its rules
	// firing. Records are then ignored.
	New bool
	// Repeat is set when the order's deal is marked as a repeat purchase.
	Repeat bool
}

// Events lists the events of an order, in the order rules fire on them.
func Events(h History, ref Reference) []Event {
	d := &deriver{h: h, ref: ref, triggers: triggers(), ret: -1}
	if h.New {
		d.creation()
		return d.out
	}
	for i := range h.Records {
		r := &h.Records[i]
		// The creation flag may sit on any record of the order, not only on
		// its status (docs/api-notes.md, "History and order filters").
		if r.Created && !d.created {
			d.creation()
		}
		d.key = HistoryKey(r.ID)
		for _, t := range d.triggers {
			if t.record != nil {
				t.record(d, r)
			}
		}
	}
	return d.out
}

// deriver collects the events of one order.
type deriver struct {
	h        History
	ref      Reference
	triggers []trigger
	out      []Event
	key      string // of the events being added
	created  bool   // the creation's events are listed
	// ret is the index in out of the order's return, -1 before it: a return
	// is one event however many records show it (the status and each line).
	ret int
	// paidDone: the paid event is listed.
	paidDone bool
}

func (d *deriver) emit(ev Event) {
	ev.Key = d.key
	d.out = append(d.out, ev)
}

func (d *deriver) creation() {
	d.created = true
	d.key = CreatedKey(d.h.Order.ID)
	for _, t := range d.triggers {
		if t.creation != nil {
			t.creation(d)
		}
	}
}

// returned adds the return a status or a line status shows, or the lines
// to the return already listed.
func (d *deriver) returned(r *retailcrm.HistoryRecord) {
	var items []string
	switch r.Field {
	case "status":
		code, old, ok := statusChange(r)
		if !ok || !d.ref.ReturnStatus(code, d.ref.StatusGroup(code)) {
			return
		}
		items = d.ref.ReturnItems(d.h.Order)
		if d.ret < 0 {
			d.emit(Event{Trigger: Returned, OldStatus: old, Items: items})
			d.ret = len(d.out) - 1
			return
		}
		d.out[d.ret].OldStatus = old
	case "order_product.status":
		if !d.ref.ProductCancelled(r.NewValue.Code()) {
			return
		}
		items = []string{d.ref.ItemName(d.h.Order, r)}
		if d.ret < 0 {
			d.emit(Event{Trigger: Returned})
			d.ret = len(d.out) - 1
		}
	default:
		return
	}
	ev := &d.out[d.ret]
	for _, name := range items {
		if !slices.Contains(ev.Items, name) {
			ev.Items = append(ev.Items, name)
		}
	}
}
