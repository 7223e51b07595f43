package shop_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

var seedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func seeded(t *testing.T, seed uint64, size shop.Size) (*retailcrmtest.Server, shop.Summary) {
	t.Helper()
	rc := retailcrmtest.New(t, retailcrmtest.Options{Now: func() time.Time { return seedNow }})
	bx := bitrixtest.New(t, bitrixtest.Options{})
	return rc, shop.New(seed, seedNow, retailcrmtest.DefaultSite).Seed(rc, bx, size)
}

// ordersJSON reads every order of the fake as the API serves it.
func ordersJSON(t *testing.T, rc *retailcrmtest.Server) []retailcrm.Order {
	t.Helper()
	c, err := retailcrm.New(rc.URL(), rc.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(rc.Location()))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, rc.OrderCount())
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	out, err := c.OrdersByID(context.Background(), ids)
	if err != nil || len(out) != len(ids) {
		t.Fatalf("orders: %v (%d of %d)", err, len(out), len(ids))
	}
	return out
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	size := shop.Size{Orders: 120, Customers: 40}
	a, sa := seeded(t, 11, size)
	b, sb := seeded(t, 11, size)
	c, _ := seeded(t, 12, size)
	if sa != sb {
		t.Fatalf("summaries differ: %+v / %+v", sa, sb)
	}
	oa, ob, oc := ordersJSON(t, a), ordersJSON(t, b), ordersJSON(t, c)
	same := 0
	for i := range oa {
		if string(oa[i].Raw) != string(ob[i].Raw) {
			t.Fatalf("order %d differs between two runs of seed 11:\n%s\n%s", oa[i].ID, oa[i].Raw, ob[i].Raw)
		}
		if string(oa[i].Raw) == string(oc[i].Raw) {
			same++
		}
	}
	if same == len(oa) {
		t.Error("seeds 11 and 12 give the same shop")
	}
}

// TestSeedKeepsFigures pins what the seeded shop looked like before orders
// carried discounts, payments and the rest: statuses, customers, repeat
// purchases and the managers' activity are drawn as they were, so the
// figures other tests expect for a seed stay.
func TestSeedKeepsFigures(t *testing.T) {
	t.Parallel()
	size := shop.Size{Orders: 300, Customers: 100}
	rc, sum := seeded(t, 5, size)
	want := shop.Summary{Orders: 300, Customers: 100, RepeatCustomers: 54, Cancelled: 24, Returned: 4, Unmapped: 2, InBitrix: 4}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	for id, w := range map[int64]struct {
		number, status, first string
		lines                 int
		customer              int64
	}{1: {"1001A", "delivering", "Мультиварка", 3, 15}, 150: {"1150A", "delivering", "Чайник электрический", 1, 72},
		300: {"1300A", "cancel-other", "Сковорода 28 см", 1, 9}} {
		o, _ := rc.Order(id)
		if o.Number != w.number || o.Status != w.status || o.Items[0].Offer.Name != w.first || len(o.Items) != w.lines || o.Customer.ID != w.customer {
			t.Errorf("order %d = %s %s %s ×%d customer %d", id, o.Number, o.Status, o.Items[0].Offer.Name, len(o.Items), o.Customer.ID)
		}
	}
	done := shop.New(6, seedNow, retailcrmtest.DefaultSite).Activity(rc, size)
	if len(done) != 9 || done[0] != "order 1250A: delivering → complete" || done[5] != "order 1066A: assembling → cancel-other" ||
		done[8] != "new order 1737A from returning customer 1" {
		t.Errorf("activity = %q", done)
	}
}

// TestSeedCarriesDealContent: the orders, as the API serves them, carry
// everything a deal shows, in realistic shares, and add up.
func TestSeedCarriesDealContent(t *testing.T) {
	t.Parallel()
	rc, _ := seeded(t, 5, shop.Size{Orders: 300, Customers: 100})
	orders := ordersJSON(t, rc)
	count := map[string]int{}
	for _, o := range orders {
		lines := decimal.Zero
		for _, it := range o.Items {
			if it.DiscountTotal.IsPositive() {
				count["discounted line"]++
			}
			count["vat "+string(it.VATRate)]++
			count["unit "+it.Offer.Unit.Code]++
			if it.Offer.Article == "" {
				count["line without article"]++
			}
			if !it.Prices[0].Price.Equal(it.UnitPrice()) || it.ID == 0 {
				t.Errorf("order %s line %+v: price split %s, unit price %s", o.Number, it, it.Prices[0].Price, it.UnitPrice())
			}
			lines = lines.Add(it.UnitPrice().Mul(it.Quantity))
		}
		if !o.Summ.Equal(lines) || !o.TotalSumm.Equal(lines.Add(o.Delivery.Cost)) {
			t.Errorf("order %s: summ %s total %s, lines %s + delivery %s", o.Number, o.Summ, o.TotalSumm, lines, o.Delivery.Cost)
		}
		switch {
		case o.Delivery.Cost.IsPositive():
			count["delivery with cost"]++
		case o.Delivery.Code == "courier":
			count["free courier"]++
		default:
			count["delivery without cost"]++
		}
		if o.Delivery.Code == "russian-post" {
			count["russian-post"]++
		}
		if o.Delivery.Code != "self-delivery" && o.Delivery.Address.Text == "" {
			t.Errorf("order %s: delivered without address", o.Number)
		}
		if v, ok := retailcrm.Lookup(o.Raw, "source.medium"); ok && v != "" {
			count["utm"]++
		}
		paid := decimal.Zero
		for _, p := range o.Payments {
			if p.Status == "paid" {
				paid = paid.Add(p.Amount)
			}
		}
		switch {
		case o.FullyPaid():
			count["fully paid"]++
			if paid.LessThan(o.TotalSumm) {
				t.Errorf("order %s fully paid with %s of %s", o.Number, paid, o.TotalSumm)
			}
		case paid.IsPositive():
			count["part paid"]++
		default:
			count["unpaid"]++
		}
		if o.Status == "complete" && !o.FullyPaid() {
			t.Errorf("completed order %s not paid", o.Number)
		}
		if o.ManagerID == 0 {
			count["no manager"]++
		} else if !slices.Contains(shop.Managers(), o.ManagerID) {
			t.Errorf("order %s: manager %d", o.Number, o.ManagerID)
		}
		count["type "+o.OrderType]++
		if o.OrderType == "eshop-legal" && (o.Contragent.INN == "" || o.Contragent.Type == retailcrm.ContragentIndividual) {
			t.Errorf("wholesale order %s: buyer %+v", o.Number, o.Contragent)
		}
	}
	t.Logf("%v", count)
	for what, least := range map[string]int{
		"discounted line": 60, "vat 20": 100, "vat 10": 20, "vat none": 20, "unit pc": 100, "unit set": 10,
		"line without article": 20, "delivery with cost": 100, "delivery without cost": 50, "free courier": 5,
		"russian-post": 10, "utm": 80, "fully paid": 120, "part paid": 5, "unpaid": 50, "no manager": 5,
		"type eshop-individual": 200, "type eshop-legal": 15,
	} {
		if count[what] < least {
			t.Errorf("%s: %d orders or lines, want at least %d", what, count[what], least)
		}
	}
	if count["utm"] > 180 {
		t.Errorf("utm on %d of 300 orders, want a share", count["utm"])
	}
}
