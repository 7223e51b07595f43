// Package shop generates a realistic, repeatable online shop in the fake
// RetailCRM and Bitrix24 servers: customers (some already in Bitrix24, typed
// in by hand), repeat purchases, cancellations, a return, an unmapped status,
// and the managers' day-to-day activity. The sandbox, the engine's tests and
// the crash and benchmark campaigns share it; it lives outside cmd/ because
// library tests never import a command's package. It is test and sandbox
// support, not part of the engine.
package shop

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// Size says how big the seeded shop is.
type Size struct {
	Orders    int
	Customers int
}

// Summary tells the person what the sandbox holds.
type Summary struct {
	Orders, Customers, RepeatCustomers, Cancelled, Returned, Unmapped, InBitrix int
}

// Shop generates a realistic, repeatable shop from one seed.
type Shop struct {
	rng  *rand.Rand
	now  time.Time
	site string
}

// New returns a generator: the same seed and now give the same shop.
func New(seed uint64, now time.Time, site string) *Shop {
	return &Shop{rng: rand.New(rand.NewPCG(seed, seed*7919)), now: now, site: site}
}

// The catalogue the generator draws from. Functions, not variables, so
// nothing can change them while a sandbox runs.
// people returns name lists by gender, so that first and last names agree.
func people(female bool) (first, last []string) {
	if female {
		return []string{"Анна", "Мария", "Елена", "Ольга", "Ирина", "Наталья", "Татьяна", "Юлия"},
			[]string{"Иванова", "Смирнова", "Кузнецова", "Попова", "Соколова", "Соловьева", "Васильева", "Семенова"}
	}
	return []string{"Дмитрий", "Алексей", "Сергей", "Иван", "Павел", "Андрей", "Михаил"},
		[]string{"Лебедев", "Козлов", "Новиков", "Морозов", "Волков", "Зайцев", "Павлов"}
}

type product struct{ name, price string }

func products() []product {
	return []product{
		{"Чайник электрический", "2490.00"}, {"Кофемолка", "1890.50"}, {"Набор ножей", "3200.00"},
		{"Сковорода 28 см", "1599.99"}, {"Блендер", "4990.00"}, {"Тостер", "2750.00"},
		{"Весы кухонные", "890.00"}, {"Термос 1 л", "1290.00"}, {"Мультиварка", "6490.00"},
	}
}

func comments() []string {
	return []string{"", "", "", "Позвоните перед доставкой", "Оставить у двери 🚪", "Нужен чек", "Доставка после 18:00", ""}
}

// statusPlan is how the seeded orders spread over the statuses.
func statusPlan() []struct {
	code   string
	weight int
} {
	return []struct {
		code   string
		weight int
	}{
		{"new", 10}, {"client-confirmed", 8}, {"prepayed", 4}, {"assembling", 8}, {"send-to-delivery", 5},
		{"delivering", 7}, {"complete", 45}, {"cancel-other", 6}, {"no-call", 3}, {"return", 2}, {"awaiting-stock", 1},
	}
}

func (s *Shop) pickStatus() string {
	plan := statusPlan()
	total := 0
	for _, p := range plan {
		total += p.weight
	}
	n := s.rng.IntN(total)
	for _, p := range plan {
		if n < p.weight {
			return p.code
		}
		n -= p.weight
	}
	return "new"
}

// phone writes one number in one of the formats shops really receive.
func (s *Shop) phone(digits string) string {
	switch s.rng.IntN(4) {
	case 0:
		return "+7" + digits
	case 1:
		return "8" + digits
	case 2:
		return fmt.Sprintf("+7 (%s) %s-%s-%s", digits[:3], digits[3:6], digits[6:8], digits[8:])
	default:
		return "7" + digits
	}
}

// Seed fills both fakes: RetailCRM customers and orders, and a few contacts
// that already exist in Bitrix24 (matched later by email or phone).
func (s *Shop) Seed(rc *retailcrmtest.Server, bx *bitrixtest.Server, size Size) Summary {
	var sum Summary
	rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	rc.AddStatus(retailcrm.Status{Code: "awaiting-stock", Name: "Ждёт поступления", Group: "hold", Active: true})

	customers := make([]retailcrm.Customer, 0, size.Customers)
	for i := 0; i < size.Customers; i++ {
		firsts, lasts := people(s.rng.IntN(2) == 0)
		first, last := pick(s.rng, firsts), pick(s.rng, lasts)
		digits := fmt.Sprintf("9%02d%07d", s.rng.IntN(100), s.rng.IntN(10_000_000))
		c := retailcrm.Customer{
			Type: "customer", Site: s.site, FirstName: first, LastName: last,
			Email:     fmt.Sprintf("customer%03d@example.com", i+1),
			Phones:    []retailcrm.Phone{{Number: s.phone(digits)}},
			CreatedAt: retailcrm.NewDateTime(s.now.AddDate(0, 0, -200+i%150)),
		}
		c = rc.AddCustomer(c)
		customers = append(customers, c)
		// Every 25th customer is already in Bitrix24, typed in by a manager:
		// by e-mail in other letter case, or by phone in another format.
		if i%25 == 3 {
			fields := map[string]any{"NAME": first, "LAST_NAME": last}
			if i%50 == 3 {
				fields["EMAIL"] = []map[string]any{{"VALUE": strings.ToUpper(c.Email), "VALUE_TYPE": "WORK"}}
			} else {
				fields["PHONE"] = []map[string]any{{"VALUE": "8 (" + digits[:3] + ") " + digits[3:], "VALUE_TYPE": "MOBILE"}}
			}
			bx.SeedContact(fields)
			sum.InBitrix++
		}
	}

	ordersOf := map[int64]int{}
	for i := 0; i < size.Orders; i++ {
		// Earlier customers order more often: repeat purchases.
		c := customers[min(len(customers)-1, int(float64(len(customers))*s.rng.Float64()*s.rng.Float64()))]
		ordersOf[c.ID]++
		status := s.pickStatus()
		created := s.now.Add(-time.Duration(size.Orders-i) * 7 * time.Hour)
		o := s.order(i+1, c, status, created)
		rc.CreateOrder(o)
		switch status {
		case "cancel-other", "no-call":
			sum.Cancelled++
		case "return":
			sum.Returned++
		case "awaiting-stock":
			sum.Unmapped++
		}
	}
	for _, n := range ordersOf {
		if n > 1 {
			sum.RepeatCustomers++
		}
	}
	sum.Orders, sum.Customers = size.Orders, size.Customers
	return sum
}

func (s *Shop) order(n int, c retailcrm.Customer, status string, created time.Time) retailcrm.Order {
	lines := 1 + s.rng.IntN(3)
	total := decimal.Zero
	items := make([]retailcrm.Item, 0, lines)
	for l := 0; l < lines; l++ {
		p := pick(s.rng, products())
		price := decimal.RequireFromString(p.price)
		qty := decimal.NewFromInt(int64(1 + s.rng.IntN(2)))
		itemStatus := ""
		if status == "return" && l == 0 {
			itemStatus = "returned"
		}
		items = append(items, retailcrm.Item{InitialPrice: price, Quantity: qty, Status: itemStatus,
			Prices: []retailcrm.ItemPrice{{Price: price, Quantity: qty}},
			Offer:  &retailcrm.Offer{ID: int64(100 + l), Name: p.name, DisplayName: p.name}})
		total = total.Add(price.Mul(qty))
	}
	delivery, cost := "courier", decimal.NewFromInt(300)
	if s.rng.IntN(3) == 0 {
		delivery, cost = "self-delivery", decimal.Zero
	}
	method := "shopping-cart"
	if s.rng.IntN(4) == 0 {
		method = "phone"
	}
	payment := "bank-card"
	if s.rng.IntN(3) == 0 {
		payment = "cash"
	}
	ts := retailcrm.NewDateTime(created)
	return retailcrm.Order{
		Number: fmt.Sprintf("%dA", 1000+n), ExternalID: fmt.Sprintf("web-%d", 1000+n), Site: s.site,
		Status: status, CreatedAt: ts, StatusUpdatedAt: ts, OrderMethod: method, OrderType: "eshop-individual",
		FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phones[0].Number,
		CustomerComment: pick(s.rng, comments()),
		Currency:        "RUB", Summ: total, TotalSumm: total.Add(cost),
		Customer: &retailcrm.Customer{Type: "customer", ID: c.ID, Site: s.site, FirstName: c.FirstName,
			LastName: c.LastName, Email: c.Email, Phones: c.Phones},
		Items:    items,
		Delivery: &retailcrm.Delivery{Code: delivery, Cost: cost},
		Payments: retailcrm.Payments{{ID: int64(5000 + n), Type: payment, Amount: total.Add(cost)}},
	}
}

// Activity is what a shop's managers do between two sync runs: confirm and
// ship orders, complete some, cancel one, and take a new order from a
// returning customer.
func (s *Shop) Activity(rc *retailcrmtest.Server, size Size) []string {
	next := map[string]string{"new": "client-confirmed", "client-confirmed": "assembling", "prepayed": "assembling",
		"assembling": "send-to-delivery", "send-to-delivery": "delivering", "delivering": "complete"}
	var done []string
	touched := map[int64]bool{}
	for tries := 0; tries < 200 && len(done) < 8; tries++ {
		id := int64(1 + s.rng.IntN(size.Orders))
		o, ok := rc.Order(id)
		if !ok || touched[id] {
			continue
		}
		to, ok := next[o.Status]
		if !ok {
			continue
		}
		if len(done) == 5 {
			to = "cancel-other"
		}
		if err := rc.UpdateOrder(id, func(o *retailcrm.Order) {
			o.Status = to
			if to == "cancel-other" {
				o.StatusComment = "Клиент передумал"
			}
		}); err == nil {
			touched[id] = true
			done = append(done, fmt.Sprintf("order %s: %s → %s", o.Number, o.Status, to))
		}
	}
	if c, ok := rc.Customer(1); ok {
		o := rc.CreateOrder(s.order(size.Orders+1+s.rng.IntN(1000), c, "new", s.now))
		done = append(done, fmt.Sprintf("new order %s from returning customer %d", o.Number, c.ID))
	}
	return done
}

// BitrixManager is the portal user the Bitrix24 activity acts as: not the
// webhook's user (1), so crmsync takes the moves and comments for people's.
const BitrixManager = 7

// BitrixActivity is what the managers do in Bitrix24 between two sync runs:
// move a few deals on to their next stage and write comments on deals'
// timelines, for push to carry back to the orders. Only deals crmsync
// created (ORIGIN_ID is the order id) are touched; it returns what was done
// and the ids of the orders behind the touched deals.
func (s *Shop) BitrixActivity(bx *bitrixtest.Server, rc *retailcrmtest.Server) (done []string, orders []int64) {
	next := map[string]string{"NEW": "PREPARATION", "PREPARATION": "PREPAYMENT_INVOICE",
		"PREPAYMENT_INVOICE": "EXECUTING", "EXECUTING": "WON"}
	var open []bitrixtest.Row
	for _, d := range bx.Deals() {
		if _, ok := next[d.Str("STAGE_ID")]; ok && d.Str("ORIGIN_ID") != "" {
			open = append(open, d)
		}
	}
	name := func(d bitrixtest.Row) (int64, string) {
		id, err := strconv.ParseInt(d.Str("ORIGIN_ID"), 10, 64)
		if err != nil {
			return 0, ""
		}
		if o, ok := rc.Order(id); ok {
			return id, fmt.Sprintf("deal %d (order %s)", d.ID, o.Number)
		}
		return id, fmt.Sprintf("deal %d (order id %d)", d.ID, id)
	}
	notes := []string{"Клиент просит перезвонить завтра после 10:00", "Согласовали доставку на пятницу, курьер позвонит за час"}
	for len(open) > 0 && len(orders) < 4 {
		i := s.rng.IntN(len(open))
		d := open[i]
		open = slices.Delete(open, i, i+1)
		id, who := name(d)
		if id == 0 {
			continue
		}
		if len(orders) < 3 {
			from, to := d.Str("STAGE_ID"), next[d.Str("STAGE_ID")]
			if err := bx.MoveDeal(d.ID, to, BitrixManager); err != nil {
				continue
			}
			done = append(done, fmt.Sprintf("%s: stage %s → %s", who, from, to))
		}
		// A comment on the first moved deal and on one deal left where it is.
		if len(orders) == 0 || len(orders) == 3 {
			text := notes[min(len(orders), 1)]
			bx.AddComment("deal", d.ID, BitrixManager, text)
			done = append(done, fmt.Sprintf("%s: comment %q", who, text))
		}
		orders = append(orders, id)
	}
	return done, orders
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }
