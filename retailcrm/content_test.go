package retailcrm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// fixtureMember returns the bytes of one member of a fixture file, as the
// file has them.
func fixtureMember(t *testing.T, file, member string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m[member]
}

// TestOrderContentFromFixtures decodes what a deal carries (product rows,
// dates, payment, attribution, buyer) from the real answers of
// GET /orders/{id} and GET /orders.
func TestOrderContentFromFixtures(t *testing.T) {
	c := parallelFixtures(t)
	ctx := context.Background()

	o, err := c.Order(ctx, 6722)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.Raw, fixtureMember(t, "orders_get.json", "order")) {
		t.Errorf("Raw is not the order exactly as sent (%d bytes)", len(o.Raw))
	}
	it := o.Items[0]
	if it.Offer == nil || it.Offer.Unit == nil || *it.Offer.Unit != (retailcrm.Unit{Code: "pc", Name: "Штука", Sym: "шт."}) {
		t.Errorf("offer unit = %+v", it.Offer)
	}
	if it.Offer.ExternalID != "1005001690749727" || it.Name() != "Test product/not for sale (do not order!)" ||
		it.VATRate != "" || !it.UnitPrice().Equal(it.InitialPrice) || it.Status != "new" {
		t.Errorf("item = %+v", it)
	}
	if at := o.StatusUpdatedAt.String(); at != "2020-12-31 15:09:31" {
		t.Errorf("statusUpdatedAt = %q", at)
	}
	if o.Contragent == nil || o.Contragent.Type != retailcrm.ContragentIndividual || o.Company != nil || o.Source != nil {
		t.Errorf("contragent %+v company %+v source %+v", o.Contragent, o.Company, o.Source)
	}
	if o.FullyPaid() || !o.Delivery.Cost.IsZero() || o.Delivery.Address.Notes == "" {
		t.Errorf("fullPaidAt %q delivery %+v", o.FullPaidAt, o.Delivery)
	}
	if v, ok := retailcrm.Lookup(o.Raw, "shipmentStore"); !ok || v != "main12" {
		t.Errorf("Lookup shipmentStore = %q %v (a field the struct does not type)", v, ok)
	}

	p, err := c.Orders(ctx, retailcrm.OrdersFilter{IDs: []int64{7141}})
	if err != nil {
		t.Fatal(err)
	}
	l := p.Orders[0]
	if !bytes.Contains(fixtureMember(t, "orders_list.json", "orders"), l.Raw) || len(l.Raw) < 1000 {
		t.Errorf("list order Raw is not the order as sent (%d bytes)", len(l.Raw))
	}
	li := l.Items[0]
	if li.VATRate != retailcrm.VATRateNone || !li.VATRate.IsNone() || li.Offer.Article != "14451445-14451445" ||
		li.Offer.Name != "сбьорка№1445" || li.Offer.VATRate != "none" || li.Offer.Unit.Code != "796" {
		t.Errorf("list item = %+v offer %+v", li, li.Offer)
	}
	if _, ok := li.VATRate.Percent(); ok {
		t.Error(`"none" has a percent`)
	}
	if l.OrderType != "test" || l.ManagerID != 28 || l.Delivery.Address.Text != "ул. Пушкинская, д. 10" {
		t.Errorf("order type %q manager %d address %+v", l.OrderType, l.ManagerID, l.Delivery.Address)
	}
	for path, want := range map[string]string{
		"delivery.address.text":      "ул. Пушкинская, д. 10",
		"customFields.dictionary":    "test2",
		"customFields.galka":         "false",
		"customFields.multiselect":   `["test1","test3"]`,
		"items.0.offer.article":      "14451445-14451445",
		"items.0.externalIds.0.code": "moyskladOrder",
		"contragent.contragentType":  "individual",
		"purchaseSumm":               "60",
		"customer.marginSumm":        "-1157.1",
	} {
		if v, ok := retailcrm.Lookup(l.Raw, path); !ok || v != want {
			t.Errorf("Lookup(%s) = %q %v, want %q", path, v, ok, want)
		}
	}
	for _, path := range []string{"source.medium", "payments.0", "items.1.offer", "fullPaidAt"} {
		if v, ok := retailcrm.Lookup(l.Raw, path); ok {
			t.Errorf("Lookup(%s) = %q, want absent", path, v)
		}
	}
}

// TestHistoryContentFromFixture reads payments, full payment and the
// API-made snapshots without offers from the real history page.
func TestHistoryContentFromFixture(t *testing.T) {
	c := parallelFixtures(t)
	p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{SinceID: 2691})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*retailcrm.HistoryRecord{}
	snap := map[int64]*retailcrm.Order{}
	for i := range p.History {
		r := &p.History[i]
		byID[r.ID] = r
		if r.Created {
			snap[r.Order.ID] = r.Order
		}
		if r.Order != nil && len(r.Order.Raw) == 0 {
			t.Errorf("record %d: snapshot without Raw", r.ID)
		}
	}
	// Paid in full on creation: the payment covers the total.
	paid := snap[2048]
	if !paid.FullyPaid() || paid.FullPaidAt.String() != "2018-10-04 00:00:00" || paid.Payments[0].Status != "paid" ||
		paid.Payments[0].PaidAt.String() != "2018-10-04 00:00:00" || !paid.Payments[0].Amount.Equal(paid.TotalSumm) {
		t.Errorf("order 2048: fullPaidAt %q payments %+v", paid.FullPaidAt, paid.Payments)
	}
	if d := paid.Delivery; d.Code != "courier" || d.Cost.String() != "300" || !d.NetCost.IsZero() {
		t.Errorf("order 2048 delivery = %+v", d)
	}
	if snap[2051].FullyPaid() || snap[2051].Payments[0].Status != "not-paid" {
		t.Errorf("order 2051 is not paid: %q", snap[2051].FullPaidAt)
	}
	// An API-made order's snapshot has lines without offer; money stays exact.
	api := snap[2050]
	if api.Items[0].Offer != nil || api.Items[0].Name() != "" || api.Items[0].InitialPrice.String() != "60.17310053999999" ||
		api.Items[0].Prices[0].Price.String() != "60.17" {
		t.Errorf("order 2050 item = %+v", api.Items[0])
	}
	if by := byID[7038]; by.Source != retailcrm.SourceAPI || snap[2031].Items[0].Offer != nil {
		t.Errorf("record 7038: source %q offer %+v", by.Source, snap[2031].Items[0].Offer)
	}
	if it := snap[2046].Items[0]; it.Offer.Article != "000224" || it.Offer.Unit.Sym != "шт" || it.VATRate != "none" {
		t.Errorf("order 2046 item = %+v", it)
	}
	for id, want := range map[int64]struct{ field, old, new string }{
		7102: {retailcrm.FieldFullPaidAt, "", "2018-10-05 12:43:59"},
		7113: {retailcrm.FieldFullPaidAt, "2018-10-05 13:51:55", ""},
		7103: {retailcrm.FieldPaymentPaidAt, "", "2018-10-05 00:00:00"},
	} {
		r := byID[id]
		if r.Field != want.field || r.OldValue.String() != want.old || r.NewValue.String() != want.new {
			t.Errorf("record %d: %s %s → %s", id, r.Field, r.OldValue.Raw(), r.NewValue.Raw())
		}
	}
	if r := byID[7104]; r.Field != retailcrm.FieldPaymentStatus || r.NewValue.Code() != "paid" || r.Payment.ID != 1435 || r.Payment.Type != "bank-card" {
		t.Errorf("record 7104 = %s %+v", r.Field, r.Payment)
	}
	if r := byID[7082]; r.Field != retailcrm.FieldPayments || r.Payment.Status != "not-paid" || r.Payment.Amount.String() != "30770.4" {
		t.Errorf("record 7082 = %s %+v", r.Field, r.Payment)
	}
	if r := byID[7079]; r.Field != "order_product.discount_total" || r.NewValue.Raw() == nil {
		t.Errorf("record 7079 = %s", r.Field)
	}
}

// TestReferenceNamesFromFixtures reads every dictionary a deal's texts
// name things from, code → name, with the flags the rules need.
func TestReferenceNamesFromFixtures(t *testing.T) {
	c := parallelFixtures(t)
	st := readNamed(t, "statuses", c.Statuses, "client-confirmed", "Согласовано с клиентом")
	if st["delivering"].Group != "delivery" {
		t.Errorf("status group = %q", st["delivering"].Group)
	}
	readNamed(t, "status groups", c.StatusGroups, "cancel", "Отменен")
	readNamed(t, "order methods", c.OrderMethods, "phone", "По телефону")
	ot := readNamed(t, "order types", c.OrderTypes, "eshop-legal", "Юридическое лицо")
	if !ot["eshop-individual"].DefaultForCRM || len(ot) != 21 {
		t.Errorf("order types: %d, %+v", len(ot), ot["eshop-individual"])
	}
	readNamed(t, "delivery types", c.DeliveryTypes, "16", "Почта России")
	readNamed(t, "payment types", c.PaymentTypes, "13", "Наличными")
	ps := readNamed(t, "payment statuses", c.PaymentStatuses, "not-paid", "Не оплачен")
	if !ps["paid"].PaymentComplete || ps["not-paid"].PaymentComplete || !ps["fiskalizirovan"].PaymentComplete {
		t.Errorf("paymentComplete: paid %v not-paid %v", ps["paid"].PaymentComplete, ps["not-paid"].PaymentComplete)
	}
	pr := readNamed(t, "product statuses", c.ProductStatuses, "returned", "Возврат")
	if !pr["returned"].CancelStatus || pr["saled"].CancelStatus || pr[""].Name == "" {
		t.Errorf("cancelStatus: returned %+v saled %+v", pr["returned"], pr["saled"])
	}
	readNamed(t, "sites", c.Sites, "test-ru", "Test Shop")
	if got := retailcrm.Names(map[string]retailcrm.Status{"x": {Code: "x"}}); got["x"] != "x" {
		t.Errorf("unnamed entry = %q", got["x"])
	}
}

// readNamed reads a dictionary and checks that code is named want in it.
func readNamed[T retailcrm.Named](t *testing.T, what string, read func(context.Context) (map[string]T, error), code, want string) map[string]T {
	t.Helper()
	dict, err := read(context.Background())
	if names := retailcrm.Names(dict); err != nil || names[code] != want {
		t.Errorf("%s: %v; %q named %q, want %q", what, err, code, names[code], want)
	}
	return dict
}

// TestOrderContentLenient: the documented quirks (numbers where strings are
// documented, [] for an empty object, null) decode; other shapes are
// errors, never panics.
func TestOrderContentLenient(t *testing.T) {
	t.Parallel()
	good := []struct {
		body  string
		check func(o *retailcrm.Order) bool
	}{
		{`{"items":[{"vatRate":20}]}`, func(o *retailcrm.Order) bool { p, ok := o.Items[0].VATRate.Percent(); return ok && p.String() == "20" }},
		{`{"items":[{"vatRate":"10"}]}`, func(o *retailcrm.Order) bool { p, ok := o.Items[0].VATRate.Percent(); return ok && p.String() == "10" }},
		{`{"items":[{"vatRate":null,"offer":{"unit":[]}}]}`, func(o *retailcrm.Order) bool {
			return o.Items[0].VATRate == "" && *o.Items[0].Offer.Unit == retailcrm.Unit{}
		}},
		{`{"items":[{"initialPrice":"1999.99","discountTotal":"0.01","quantity":"1.5"}]}`, func(o *retailcrm.Order) bool {
			return o.Items[0].UnitPrice().String() == "1999.98" && o.Items[0].Quantity.String() == "1.5"
		}},
		{`{"source":[],"company":[],"contragent":[]}`, func(o *retailcrm.Order) bool {
			return *o.Source == retailcrm.Source{} && o.Company.ID == 0 && o.Contragent.Type == ""
		}},
		{`{"source":{"source":"google","keyword":2024},"contragent":{"contragentType":"legal-entity","INN":7707083893,"KPP":"773601001"}}`,
			func(o *retailcrm.Order) bool {
				return o.Source.Source == "google" && o.Source.Keyword == "2024" && o.Contragent.INN == "7707083893" && o.Contragent.KPP == "773601001"
			}},
		{`{"delivery":{"address":[],"cost":"350.50","netCost":null}}`, func(o *retailcrm.Order) bool {
			return o.Delivery.Address != nil && o.Delivery.Cost.String() == "350.5" && o.Delivery.NetCost.IsZero()
		}},
		{`{"fullPaidAt":null,"source":null}`, func(o *retailcrm.Order) bool { return !o.FullyPaid() && o.Source == nil }},
		{`{"fullPaidAt":"2024-03-02 10:00:00"}`, func(o *retailcrm.Order) bool { return o.FullyPaid() }},
		{`{"company":{"id":3,"contragent":[],"customFields":[]}}`, func(o *retailcrm.Order) bool { return o.Company.ID == 3 && o.Company.Contragent != nil }},
	}
	for _, g := range good {
		var o retailcrm.Order
		if err := json.Unmarshal([]byte(g.body), &o); err != nil || !g.check(&o) {
			t.Errorf("%s: %v %+v", g.body, err, o)
		}
		if string(o.Raw) != g.body {
			t.Errorf("%s: Raw = %s", g.body, o.Raw)
		}
	}
	for _, body := range []string{`{"source":"x"}`, `{"items":[{"vatRate":{}}]}`, `{"contragent":{"INN":["1"]}}`,
		`{"items":[{"offer":{"unit":"pc"}}]}`, `{"fullPaidAt":5}`, `{"company":5}`} {
		var o retailcrm.Order
		if err := json.Unmarshal([]byte(body), &o); err == nil {
			t.Errorf("%s accepted: %+v", body, o)
		}
	}
	for _, r := range []retailcrm.VATRate{"", "none", "-5", "1e3", "101", "20%", ".5", "5.", "1.2.3", "99999999999999"} {
		if p, ok := r.Percent(); ok {
			t.Errorf("VATRate(%q).Percent() = %s", r, p)
		}
	}
	if p, ok := retailcrm.VATRate("18.5").Percent(); !ok || p.String() != "18.5" {
		t.Errorf("18.5: %s %v", p, ok)
	}
}
