package retailcrmtest_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

var dec = decimal.RequireFromString

// richOrder carries every field a deal is built from.
func richOrder() retailcrm.Order {
	return retailcrm.Order{
		ExternalID: "web-9", OrderType: "eshop-legal", ManagerID: 14, TotalSumm: dec("2070.50"), Summ: dec("1720"),
		Customer: &retailcrm.Customer{FirstName: "Anna"},
		Items: []retailcrm.Item{
			{InitialPrice: dec("1000"), DiscountTotal: dec("140"), Quantity: dec("2"), VATRate: "20", Status: "new",
				Prices: []retailcrm.ItemPrice{{Price: dec("860"), Quantity: dec("2")}},
				Offer: &retailcrm.Offer{ID: 5, ExternalID: "sku-5", Name: "Чайник", Article: "KT-5", VATRate: "20",
					Unit: &retailcrm.Unit{Code: "pc", Name: "Штука", Sym: "шт."}}},
			{InitialPrice: dec("0"), Quantity: dec("1"), VATRate: "none", ProductName: "Подарочная упаковка"},
		},
		Delivery: &retailcrm.Delivery{Code: "russian-post", Cost: dec("350.50"), NetCost: dec("280"), VATRate: "20",
			Address: &retailcrm.Address{City: "Тверь", Text: "г. Тверь, ул. Советская, д. 1"}},
		Payments: retailcrm.Payments{{Type: "bank-transfer", Status: "paid", Amount: dec("2070.50"),
			PaidAt: mustDate("2024-03-02 10:00:00")}},
		Source:     &retailcrm.Source{Source: "yandex", Medium: "cpc", Campaign: "spring", Keyword: "чайник", Content: "ad-1"},
		Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО Ромашка", INN: "7707083893", KPP: "773601001", OGRN: "1027700132195"},
		Company: &retailcrm.Company{ID: 3, Name: "Ромашка", Active: true,
			Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, INN: "7707083893"}},
		CreatedAt: mustDate("2024-03-01 09:30:00"),
	}
}

func mustDate(s string) retailcrm.DateTime {
	d, err := retailcrm.ParseDateTime(s)
	if err != nil {
		panic(err)
	}
	return d
}

func fakeClient(t *testing.T, s *retailcrmtest.Server) *retailcrm.Client {
	t.Helper()
	c, err := retailcrm.New(s.URL(), s.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(s.Location()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOrderContentServed: /orders and /orders/{id} carry every field of a
// deal as the real service writes it, and Lookup reads them from Raw.
func TestOrderContentServed(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c := fakeClient(t, s)
	made := s.CreateOrderByUser(richOrder())
	one, err := c.Order(context.Background(), made.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.OrdersByID(context.Background(), []int64{made.ID})
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %d", err, len(list))
	}
	for _, o := range []*retailcrm.Order{one, &list[0]} {
		it := o.Items[0]
		if !it.UnitPrice().Equal(dec("860")) || it.VATRate != "20" || it.Offer.Article != "KT-5" || it.Offer.Unit.Sym != "шт." ||
			it.ID == 0 || o.Items[1].ID == it.ID || o.Items[1].Name() != "Подарочная упаковка" || !o.Items[1].VATRate.IsNone() {
			t.Errorf("items = %+v / %+v", it, o.Items[1])
		}
		if d := o.Delivery; !d.Cost.Equal(dec("350.5")) || !d.NetCost.Equal(dec("280")) || d.Address.Text == "" || d.VATRate != "20" {
			t.Errorf("delivery = %+v", d)
		}
		if *o.Source != *richOrder().Source || o.Contragent.KPP != "773601001" || o.Company.Contragent.INN != "7707083893" {
			t.Errorf("source %+v contragent %+v company %+v", o.Source, o.Contragent, o.Company)
		}
		if o.ManagerID != 14 || o.OrderType != "eshop-legal" || o.StatusUpdatedAt.IsZero() || o.Payments[0].ID == 0 {
			t.Errorf("manager %d type %q statusUpdatedAt %q payment %+v", o.ManagerID, o.OrderType, o.StatusUpdatedAt, o.Payments)
		}
		// Paid in full when created: fullPaidAt is the payment's date.
		if o.FullPaidAt.String() != "2024-03-02 10:00:00" {
			t.Errorf("fullPaidAt = %q", o.FullPaidAt)
		}
		for path, want := range map[string]string{
			"source.keyword": "чайник", "contragent.INN": "7707083893", "delivery.address.text": "г. Тверь, ул. Советская, д. 1",
			"items.0.offer.unit.code": "pc", "items.0.discountTotal": "140", "company.name": "Ромашка",
		} {
			if v, ok := retailcrm.Lookup(o.Raw, path); !ok || v != want {
				t.Errorf("Lookup(%s) = %q %v, want %q", path, v, ok, want)
			}
		}
	}
}

// TestAPIMadeSnapshotsLackOffers: the created record of an order made
// through the API has lines without offer or VAT rate, as RetailCRM writes
// them; one made by a manager has them; the order itself always has them.
func TestAPIMadeSnapshotsLackOffers(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c := fakeClient(t, s)
	api := s.CreateOrder(richOrder())
	user := s.CreateOrderByUser(richOrder())
	page, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	snaps := map[int64]*retailcrm.Order{}
	for _, r := range page.History {
		if r.Created {
			snaps[r.Order.ID] = r.Order
		}
	}
	if it := snaps[api.ID].Items[0]; it.Offer != nil || it.VATRate != "" || !it.InitialPrice.Equal(dec("1000")) {
		t.Errorf("API-made snapshot line = %+v", it)
	}
	if it := snaps[user.ID].Items[0]; it.Offer == nil || it.Offer.Article != "KT-5" || it.VATRate != "20" {
		t.Errorf("manager-made snapshot line = %+v", it)
	}
	if v, ok := retailcrm.Lookup(snaps[api.ID].Raw, "items.0.offer"); ok {
		t.Errorf("API-made snapshot has an offer: %s", v)
	}
	o, err := c.Order(context.Background(), api.ID)
	if err != nil || o.Items[0].Offer == nil || o.Items[0].Offer.Name != "Чайник" {
		t.Errorf("order itself: %v %+v", err, o)
	}
}

// historyOf returns the order's records after sinceID.
func historyOf(t *testing.T, c *retailcrm.Client, id, sinceID int64) []retailcrm.HistoryRecord {
	t.Helper()
	p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{OrderID: id, SinceID: sinceID})
	if err != nil {
		t.Fatal(err)
	}
	return p.History
}

func fields(recs []retailcrm.HistoryRecord) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Field)
	}
	return out
}

// TestPaymentHistory: payments and full payment change as RetailCRM
// records them, and fullPaidAt follows the paid payments.
func TestPaymentHistory(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	s := retailcrmtest.New(t, retailcrmtest.Options{Now: func() time.Time { return now }})
	c := fakeClient(t, s)
	in := richOrder()
	in.Payments = retailcrm.Payments{{Type: "bank-card", Status: "not-paid", Amount: dec("2070.50")}}
	o := s.CreateOrder(in)
	if !o.FullPaidAt.IsZero() {
		t.Fatalf("unpaid order has fullPaidAt %q", o.FullPaidAt)
	}
	payID := o.Payments[0].ID

	// Part paid: a second payment, paid, for part of the total.
	head := s.LastHistoryID()
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) {
		o.Payments[0].Amount = dec("1070.50")
		o.Payments = append(o.Payments, retailcrm.Payment{Type: "cash", Status: "paid", Amount: dec("1000"), PaidAt: mustDate("2024-03-05 14:00:00")})
	}); err != nil {
		t.Fatal(err)
	}
	recs := historyOf(t, c, o.ID, head)
	if got := fields(recs); !slices.Equal(got, []string{"payments.amount", "payments"}) {
		t.Fatalf("part payment records = %v", got)
	}
	if r := recs[0]; r.Payment.ID != payID || r.Payment.Type != "bank-card" || r.OldValue.String() != "2070.5" || r.NewValue.String() != "1070.5" {
		t.Errorf("payments.amount record = %+v %s → %s", r.Payment, r.OldValue.Raw(), r.NewValue.Raw())
	}
	if r := recs[1]; r.NewValue.ID() == 0 || r.Payment.Status != "paid" || !r.Payment.Amount.Equal(dec("1000")) || r.Payment.PaidAt.IsZero() {
		t.Errorf("payments record = %+v new %s", r.Payment, r.NewValue.Raw())
	}
	if cur, _ := s.Order(o.ID); cur.FullyPaid() {
		t.Errorf("part-paid order has fullPaidAt %q", cur.FullPaidAt)
	}

	// The rest paid: fully paid now.
	head = s.LastHistoryID()
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) {
		o.Payments[0].Status, o.Payments[0].PaidAt = "paid", mustDate("2024-03-05 15:00:00")
	}); err != nil {
		t.Fatal(err)
	}
	recs = historyOf(t, c, o.ID, head)
	if got := fields(recs); !slices.Equal(got, []string{"payments.paid_at", "payments.status", "full_paid_at"}) {
		t.Fatalf("full payment records = %v", got)
	}
	if r := recs[1]; r.OldValue.Code() != "not-paid" || r.NewValue.Code() != "paid" || r.Payment.ID != payID {
		t.Errorf("payments.status record = %s → %s %+v", r.OldValue.Raw(), r.NewValue.Raw(), r.Payment)
	}
	if r := recs[2]; !r.OldValue.IsNull() || r.NewValue.String() != "2024-03-05 15:00:00" {
		t.Errorf("full_paid_at record = %s → %s", r.OldValue.Raw(), r.NewValue.Raw())
	}
	got, err := c.Order(context.Background(), o.ID)
	if err != nil || !got.FullyPaid() || got.FullPaidAt.String() != "2024-03-05 15:00:00" {
		t.Errorf("order fullPaidAt %q (%v)", got.FullPaidAt, err)
	}

	// Refunded: full payment cleared.
	head = s.LastHistoryID()
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Payments[1].Status = "not-paid" }); err != nil {
		t.Fatal(err)
	}
	recs = historyOf(t, c, o.ID, head)
	if got := fields(recs); !slices.Equal(got, []string{"payments.status", "full_paid_at"}) || !recs[1].NewValue.IsNull() {
		t.Errorf("refund records = %v", got)
	}
}

// TestLineHistory: changes of a line's quantity, discount and VAT rate, and
// added or removed lines, are order_product records naming the line.
func TestLineHistory(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c := fakeClient(t, s)
	o := s.CreateOrderByUser(richOrder())
	head := s.LastHistoryID()
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) {
		o.Items[0].Quantity, o.Items[0].DiscountTotal, o.Items[0].VATRate = dec("3"), dec("100"), "none"
		o.Items = append(o.Items[:1], retailcrm.Item{InitialPrice: dec("50"), Quantity: dec("1"), ProductName: "Пакет"})
		o.OrderType = "eshop-individual"
	}); err != nil {
		t.Fatal(err)
	}
	recs := historyOf(t, c, o.ID, head)
	want := []string{"order_type", "order_product.quantity", "order_product.discount_total", "order_product.vat_rate", "order_product", "order_product"}
	if got := fields(recs); !slices.Equal(got, want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	if r := recs[3]; r.OldValue.String() != "20" || !r.NewValue.IsNull() || r.Item.ID != o.Items[0].ID || r.Item.Offer.ID != 5 {
		t.Errorf("vat_rate record = %s → %s %+v", r.OldValue.Raw(), r.NewValue.Raw(), r.Item)
	}
	if added, removed := recs[4], recs[5]; added.NewValue.ID() == 0 || !added.OldValue.IsNull() || removed.OldValue.ID() != o.Items[1].ID {
		t.Errorf("line records: added %s removed %s", added.NewValue.Raw(), removed.OldValue.Raw())
	}
}

// TestDictionariesServedStrictly: payment statuses and order types answer
// code → name like the other dictionaries, under reference_read, GET only.
func TestDictionariesServedStrictly(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c := fakeClient(t, s)
	ctx := context.Background()
	ps, err := c.PaymentStatuses(ctx)
	if err != nil || !ps["paid"].PaymentComplete || ps["not-paid"].PaymentComplete || retailcrm.Names(ps)["paid"] != "Оплачен" {
		t.Errorf("payment statuses: %v %+v", err, ps)
	}
	ot, err := c.OrderTypes(ctx)
	if err != nil || retailcrm.Names(ot)["eshop-legal"] != "Юридическое лицо" {
		t.Errorf("order types: %v %+v", err, ot)
	}
	s.AddOrderType(retailcrm.OrderType{Code: "wholesale", Name: "Опт", Active: true})
	s.AddPaymentStatus(retailcrm.PaymentStatus{Code: "card-paid", Name: "Оплачено картой", PaymentComplete: true})
	if ot, _ := c.OrderTypes(ctx); ot["wholesale"].Name != "Опт" {
		t.Errorf("added order type: %+v", ot)
	}
	if d, _ := c.DeliveryTypes(ctx); retailcrm.Names(d)["courier"] != "Курьер" {
		t.Errorf("delivery types: %+v", d)
	}
	for _, path := range []string{"/api/v5/reference/payment-statuses", "/api/v5/reference/order-types"} {
		if a := call(t, s, http.MethodPost, path, s.APIKey(), url.Values{}, formType); a.status != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", path, a.status)
		}
	}
	s.SetCredentials([]string{"order_read"}, retailcrm.SiteAccessFull, nil)
	if _, err := c.OrderTypes(ctx); err == nil {
		t.Error("order types read without reference_read")
	}
	if _, err := c.PaymentStatuses(ctx); err == nil {
		t.Error("payment statuses read without reference_read")
	}
}

// TestEditRejectsContentFields: the edit call stays strict, the fake's
// edit takes none of the fields RetailCRM computes or crmsync never writes.
func TestEditRejectsContentFields(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	o := s.CreateOrder(richOrder())
	for _, body := range []string{`{"fullPaidAt":"2024-01-01 00:00:00"}`, `{"items":[]}`, `{"payments":[]}`, `{"source":{"source":"x"}}`} {
		a := call(t, s, http.MethodPost, "/api/v5/orders/"+itoa(o.ID)+"/edit", s.APIKey(),
			url.Values{"by": {"id"}, "site": {o.Site}, "order": {body}}, formType)
		if a.status != http.StatusBadRequest {
			t.Errorf("edit %s: %d %s", body, a.status, a.raw)
		}
	}
}
