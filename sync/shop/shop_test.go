package shop_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	want := shop.Summary{Orders: 300, Customers: 100, RepeatCustomers: 54, Cancelled: 24, Returned: 4, Unmapped: 2, InBitrix: 4,
		Users: 6, Corporate: 3, B2BOrders: 14, LegalBuyers: 26}
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
	// The merge and the deletion come after what the managers did before.
	if len(done) != 11 || done[0] != "order 1250A: delivering → complete" || done[5] != "order 1066A: assembling → cancel-other" ||
		done[8] != "new order 1737A from returning customer 1" || done[9] != "customer 47 merged into customer 13 (3 orders moved)" || done[10] != "order 1128A deleted" {
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

// TestSeedPeopleAndOrganisations: the managers orders name are users with
// e-mails; corporate customers have companies with INN and KPP and buy
// through their contact persons; some individuals buy as a legal entity.
func TestSeedPeopleAndOrganisations(t *testing.T) {
	t.Parallel()
	rc, sum := seeded(t, 5, shop.Size{Orders: 300, Customers: 100})
	c, err := retailcrm.New(rc.URL(), rc.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(rc.Location()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	users, err := c.AllUsers(ctx, retailcrm.UsersFilter{})
	if err != nil || len(users) != sum.Users {
		t.Fatalf("users: %v, %d of %d", err, len(users), sum.Users)
	}
	email := map[int64]string{}
	for _, u := range users {
		if u.Email == "" || u.Name() == "" {
			t.Errorf("user %d without e-mail or name", u.ID)
		}
		email[u.ID] = u.Email
	}
	for _, id := range append(shop.Managers(), retailcrmtest.DefaultUserID) {
		if email[id] == "" {
			t.Errorf("manager %d is no user", id)
		}
	}
	corporate, companies := map[int64]bool{}, map[int64]bool{}
	for id := int64(1); id <= 200; id++ {
		if cc, ok := rc.CorporateCustomer(id); ok {
			corporate[id] = true
			for _, co := range cc.Companies {
				companies[co.ID] = true
				if co.Contragent.INN == "" || co.Contragent.Type == retailcrm.ContragentLegalEntity && co.Contragent.KPP == "" {
					t.Errorf("company %q without INN/KPP", co.Name)
				}
			}
			if len(cc.CustomerContacts) != 1 || cc.CustomerContacts[0].Customer.ID > 100 {
				t.Errorf("corporate customer %d: contacts %+v", id, cc.CustomerContacts)
			}
		}
	}
	if len(corporate) != sum.Corporate || sum.Corporate < 2 {
		t.Errorf("%d corporate customers, summary %d", len(corporate), sum.Corporate)
	}
	b2b, legal := 0, 0
	for _, o := range ordersJSON(t, rc) {
		switch {
		case o.Corporate():
			b2b++
			if !corporate[o.Customer.ID] || o.Contact == nil || o.Contact.ID == o.Customer.ID || o.Company == nil ||
				!companies[o.Company.ID] || o.Contragent == nil || o.Contragent.INN != o.Company.Contragent.INN || o.OrderType != "eshop-legal" {
				t.Errorf("B2B order %s: %s", o.Number, o.Raw)
			}
		case o.Contragent != nil && o.Contragent.Type != retailcrm.ContragentIndividual:
			legal++
			if o.Contragent.INN == "" || o.Company != nil {
				t.Errorf("order %s of an individual as a legal entity: %+v", o.Number, o.Contragent)
			}
		}
	}
	if b2b != sum.B2BOrders || legal != sum.LegalBuyers || b2b < 10 || legal < 10 {
		t.Errorf("%d B2B orders, %d of individuals as legal entities; summary %+v", b2b, legal, sum)
	}
}

// TestActivityMergesAndDeletes: the activity's merge and deletion leave
// what RetailCRM leaves, the same for the same seed.
func TestActivityMergesAndDeletes(t *testing.T) {
	t.Parallel()
	size := shop.Size{Orders: 120, Customers: 40}
	run := func() (*retailcrmtest.Server, []string, int64) {
		rc, _ := seeded(t, 9, size)
		head := rc.LastHistoryID()
		return rc, shop.New(10, seedNow, retailcrmtest.DefaultSite).Activity(rc, size), head
	}
	rc, done, head := run()
	_, again, _ := run()
	if !slices.Equal(done, again) {
		t.Fatalf("activity differs between two runs:\n%q\n%q", done, again)
	}
	var merged, into, deleted int64
	var number string
	for _, line := range done {
		if _, err := fmt.Sscanf(line, "customer %d merged into customer %d", &merged, &into); err == nil {
			continue
		}
		if n, ok := strings.CutSuffix(line, " deleted"); ok {
			number = strings.TrimPrefix(n, "order ")
		}
	}
	if merged == 0 || into == 0 || number == "" {
		t.Fatalf("no merge or deletion in %q", done)
	}
	if _, ok := rc.Customer(merged); ok {
		t.Errorf("merged customer %d still there", merged)
	}
	if got, ok := rc.MergedInto(merged); !ok || got != into {
		t.Errorf("customer %d merged into %d", merged, got)
	}
	c, err := retailcrm.New(rc.URL(), rc.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(rc.Location()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{SinceID: head})
	if err != nil {
		t.Fatal(err)
	}
	combined := 0
	for _, r := range p.History {
		switch {
		case r.Deleted:
			deleted = r.OrderID()
		case r.Source == retailcrm.SourceCombine:
			combined++
			if r.Field != "customer" || r.OldValue.ID() != merged || r.NewValue.ID() != into {
				t.Errorf("combine record %+v", r)
			}
		}
	}
	if o, ok := rc.Order(deleted); deleted == 0 || ok {
		t.Errorf("deleted order %d still there: %+v", deleted, o)
	}
	if combined == 0 || combined > 3 {
		t.Errorf("%d orders moved by the merge", combined)
	}
}
