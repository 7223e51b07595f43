package rules

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/retailcrm"
)

// testRef is an account with statuses new, complete (its own groups),
// return and cancel-other (group cancel; return means a return) and the
// product status returned (takes the line out).
type testRef struct{}

func (testRef) StatusGroup(code string) string {
	return map[string]string{"new": "new", "complete": "complete", "return": "cancel", "cancel-other": "cancel"}[code]
}
func (testRef) ReturnStatus(code, _ string) bool  { return code == "return" }
func (testRef) ProductCancelled(code string) bool { return code == "returned" }
func (testRef) ReturnItems(o *retailcrm.Order) []string {
	var out []string
	for _, it := range o.Items {
		out = append(out, it.Offer.Name)
	}
	return out
}
func (testRef) ItemName(o *retailcrm.Order, r *retailcrm.HistoryRecord) string {
	for _, it := range o.Items {
		if it.ID == r.Item.ID {
			return it.Offer.Name
		}
	}
	return "item " + strconv.FormatInt(r.Item.ID, 10)
}

func code(c string) retailcrm.Value {
	if c == "" {
		return retailcrm.NewValue([]byte("null"))
	}
	return retailcrm.NewValue([]byte(`{"code":"` + c + `"}`))
}

func rec(id int64, field, old, new string) retailcrm.HistoryRecord {
	return retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{ID: id, Field: field, OldValue: code(old), NewValue: code(new)}}
}

func created(r retailcrm.HistoryRecord) retailcrm.HistoryRecord {
	r.Created = true
	return r
}

func line(r retailcrm.HistoryRecord, item int64) retailcrm.HistoryRecord {
	r.Item = &retailcrm.HistoryItem{ID: item}
	return r
}

func TestEvents(t *testing.T) {
	t.Parallel()
	order := &retailcrm.Order{ID: 5, OrderMethod: "phone", Items: []retailcrm.Item{
		{ID: 11, Offer: &retailcrm.Offer{Name: "Kettle"}}, {ID: 12, Offer: &retailcrm.Offer{Name: "Mug"}}, {ID: 13, Offer: &retailcrm.Offer{Name: "Mug"}}}}
	plain := &retailcrm.Order{ID: 6}
	const made = "order:5:created"
	for _, tc := range []struct {
		name string
		h    History
		want []Event
	}{
		{"an order taken as new", History{Order: order, New: true, Repeat: true,
			Records: []retailcrm.HistoryRecord{rec(1, "status", "new", "complete")}}, // ignored
			[]Event{{Key: made, Trigger: Created}, {Key: made, Trigger: Method, Arg: "phone"}, {Key: made, Trigger: RepeatPurchase}}},
		{"a new order without method or repeat", History{Order: plain, New: true}, []Event{{Key: "order:6:created", Trigger: Created}}},
		{"no history", History{Order: order}, nil},
		{"the creation flag on any record", History{Order: order, Records: []retailcrm.HistoryRecord{
			created(rec(1, "customer_comment", "", "")), created(rec(2, "order_method", "", "phone")), created(rec(3, "status", "", "new"))}},
			[]Event{{Key: made, Trigger: Created}, {Key: made, Trigger: Method, Arg: "phone"},
				{Key: "history:3", Trigger: Status, Arg: "new"}, {Key: "history:3", Trigger: StatusGroup, Arg: "new"}}},
		{"a status change", History{Order: order, Records: []retailcrm.HistoryRecord{rec(7, "status", "new", "complete")}},
			[]Event{{Key: "history:7", Trigger: Status, Arg: "complete", OldStatus: "new"},
				{Key: "history:7", Trigger: StatusGroup, Arg: "complete", OldStatus: "new"}}},
		{"no change of status", History{Order: order, Records: []retailcrm.HistoryRecord{rec(7, "status", "new", "new"), rec(8, "status", "new", "")}}, nil},
		{"a return status", History{Order: order, Records: []retailcrm.HistoryRecord{rec(7, "status", "complete", "return")}},
			[]Event{{Key: "history:7", Trigger: Status, Arg: "return", OldStatus: "complete"},
				{Key: "history:7", Trigger: StatusGroup, Arg: "cancel", OldStatus: "complete"},
				{Key: "history:7", Trigger: Returned, OldStatus: "complete", Items: []string{"Kettle", "Mug", "Mug"}}}},
		{"a cancellation is no return", History{Order: order, Records: []retailcrm.HistoryRecord{rec(7, "status", "new", "cancel-other")}},
			[]Event{{Key: "history:7", Trigger: Status, Arg: "cancel-other", OldStatus: "new"},
				{Key: "history:7", Trigger: StatusGroup, Arg: "cancel", OldStatus: "new"}}},
		{"lines and then the order returned: one return", History{Order: order, Records: []retailcrm.HistoryRecord{
			line(rec(7, "order_product.status", "new", "returned"), 12), line(rec(8, "order_product.status", "new", "returned"), 13),
			line(rec(9, "order_product.status", "new", "returned"), 99), rec(10, "status", "complete", "return")}},
			[]Event{{Key: "history:7", Trigger: Returned, OldStatus: "complete", Items: []string{"Mug", "item 99", "Kettle"}},
				{Key: "history:10", Trigger: Status, Arg: "return", OldStatus: "complete"},
				{Key: "history:10", Trigger: StatusGroup, Arg: "cancel", OldStatus: "complete"}}},
		{"a line in another status", History{Order: order, Records: []retailcrm.HistoryRecord{line(rec(7, "order_product.status", "new", "assembling"), 11)}}, nil},
		{"a method change", History{Order: order, Records: []retailcrm.HistoryRecord{rec(7, "order_method", "phone", "shopping-cart"), rec(8, "order_method", "phone", "")}},
			[]Event{{Key: "history:7", Trigger: Method, Arg: "shopping-cart"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Events(tc.h, testRef{})); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	order := func(method, site, total string) *retailcrm.Order {
		return &retailcrm.Order{OrderMethod: method, Site: site, TotalSumm: decimal.RequireFromString(total)}
	}
	for _, tc := range []struct {
		name, on, cond string
		ev             Event
		o              *retailcrm.Order
		group          string
		want           bool
	}{
		{"created", "created", "", Event{Trigger: Created}, order("", "", "0"), "", true},
		{"another trigger", "created", "", Event{Trigger: RepeatPurchase}, order("", "", "0"), "", false},
		{"its status", "status:complete", "", Event{Trigger: Status, Arg: "complete"}, order("", "", "0"), "", true},
		{"another status", "status:complete", "", Event{Trigger: Status, Arg: "new"}, order("", "", "0"), "", false},
		{"a group is not a status", "status:complete", "", Event{Trigger: StatusGroup, Arg: "complete"}, order("", "", "0"), "", false},
		{"its group", "status_group:cancel", "", Event{Trigger: StatusGroup, Arg: "cancel"}, order("", "", "0"), "", true},
		{"method condition", "created", "method: phone", Event{Trigger: Created}, order("phone", "", "0"), "", true},
		{"method condition unmet", "created", "method: phone", Event{Trigger: Created}, order("web", "", "0"), "", false},
		{"site", "created", "site: shop", Event{Trigger: Created}, order("", "shop", "0"), "", true},
		{"site unmet", "created", "site: shop", Event{Trigger: Created}, order("", "outlet", "0"), "", false},
		{"the order's current group", "returned", "status_group: cancel", Event{Trigger: Returned}, order("", "", "0"), "cancel", true},
		{"the order's current group unmet", "returned", "status_group: cancel", Event{Trigger: Returned}, order("", "", "0"), "complete", false},
		{"amount over", "created", "amount_over: 1000", Event{Trigger: Created}, order("", "", "1000.01"), "", true},
		{"amount over is strict", "created", "amount_over: 1000", Event{Trigger: Created}, order("", "", "1000"), "", false},
		{"amount under", "created", "amount_under: 99.90", Event{Trigger: Created}, order("", "", "99.5"), "", true},
		{"amount under unmet", "created", "amount_under: '99.90'", Event{Trigger: Created}, order("", "", "99.9"), "", false},
		{"every condition", "created", "method: phone, amount_over: 10", Event{Trigger: Created}, order("phone", "", "5"), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "- on: " + tc.on + "\n  do: { comment: x }\n"
			if tc.cond != "" {
				src += "  if: { " + tc.cond + " }\n"
			}
			rs, errs := parseYAML(t, src)
			if len(errs) != 0 || len(rs) != 1 {
				t.Fatalf("%s: %v", src, errs)
			}
			if got := rs[0].Matches(tc.ev, tc.o, tc.group); got != tc.want {
				t.Errorf("%s on %+v: %v, want %v", src, tc.ev, got, tc.want)
			}
		})
	}
}

// TestPaidEvents: an order is paid once as far as rules go: from a
// full_paid_at record setting it, or from its creation (or a backfill) when
// it is fully paid already; a record clearing it is no event.
func TestPaidEvents(t *testing.T) {
	t.Parallel()
	paidOrder := &retailcrm.Order{ID: 9, FullPaidAt: retailcrm.NewDateTime(time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC))}
	unpaid := &retailcrm.Order{ID: 9}
	at := func(id int64, v string) retailcrm.HistoryRecord {
		raw := "null"
		if v != "" {
			raw = strconv.Quote(v)
		}
		return retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{ID: id, Field: "full_paid_at", OldValue: retailcrm.NewValue([]byte("null")), NewValue: retailcrm.NewValue([]byte(raw))}}
	}
	paid := Event{Key: "order:9:paid", Trigger: Paid}
	made := "order:9:created"
	for _, tc := range []struct {
		name string
		h    History
		want []Event
	}{
		{"backfill of a paid order", History{Order: paidOrder, New: true}, []Event{{Key: made, Trigger: Created}, paid}},
		{"backfill of an unpaid order", History{Order: unpaid, New: true}, []Event{{Key: made, Trigger: Created}}},
		{"payment in the history", History{Order: paidOrder, Records: []retailcrm.HistoryRecord{at(4, "2026-03-05 15:00:00")}}, []Event{paid}},
		{"paid, refunded, paid again in one page", History{Order: paidOrder, Records: []retailcrm.HistoryRecord{
			at(4, "2026-03-05 15:00:00"), at(5, ""), at(6, "2026-03-06 10:00:00")}}, []Event{paid}},
		{"refund only", History{Order: unpaid, Records: []retailcrm.HistoryRecord{at(5, "")}}, nil},
		{"created paid, with its record", History{Order: paidOrder, Records: []retailcrm.HistoryRecord{
			created(rec(1, "status", "", "new")), at(2, "2026-03-05 15:00:00")}},
			[]Event{{Key: made, Trigger: Created}, paid, {Key: "history:1", Trigger: Status, Arg: "new"},
				{Key: "history:1", Trigger: StatusGroup, Arg: "new"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Events(tc.h, testRef{})); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
