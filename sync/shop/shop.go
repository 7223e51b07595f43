// Package shop generates a realistic, repeatable online shop in the fake
// RetailCRM and Bitrix24 servers: customers (some already in Bitrix24, typed
// in by hand), repeat purchases, cancellations, a return, an unmapped status,
// and the managers' day-to-day activity. Orders carry what a deal shows:
// lines with articles, units, VAT rates (20, 10, none) and some discounts,
// delivery with and without cost, UTM tags on a share of orders, payments
// (paid, part paid, unpaid), the responsible manager, and retail or
// wholesale order types with the buyer's legal details. People and
// organisations: the managers are RetailCRM users with e-mails, a few
// corporate customers (B2B) with companies, INN and KPP buy through their
// contact persons, some individuals buy as a legal entity, and the
// managers' activity includes a customer merge and an order deletion. The sandbox, the engine's tests and
// the crash and benchmark campaigns share it; it lives outside cmd/ because
// library tests never import a command's package. It is test and sandbox
// support, not part of the engine.
package shop

import (
	"fmt"
	"maps"
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
	// Users are the RetailCRM users seeded (Users()); Corporate the
	// corporate customers, B2BOrders their orders, LegalBuyers the orders
	// of individual customers with a legal entity's or sole trader's details.
	Users, Corporate, B2BOrders, LegalBuyers int
}

// Shop generates a realistic, repeatable shop from one seed.
type Shop struct {
	rng *rand.Rand
	// detail draws the order content added later (discounts, UTM tags,
	// payments, managers, order types) from a stream of its own, so the
	// statuses, customers and sums rng draws stay what they were for a
	// seed, and with them the figures tests expect.
	detail *rand.Rand
	// b2b draws the corporate customers and which orders they place, from
	// a stream of its own for the same reason.
	b2b  *rand.Rand
	now  time.Time
	site string
}

// New returns a generator: the same seed and now give the same shop.
func New(seed uint64, now time.Time, site string) *Shop {
	return &Shop{rng: rand.New(rand.NewPCG(seed, seed*7919)),
		detail: rand.New(rand.NewPCG(seed^0x5eed_de7a11, seed*104729+1)),
		b2b:    rand.New(rand.NewPCG(seed^0xb2b_c0de, seed*7727+3)), now: now, site: site}
}

// Managers are the RetailCRM users orders are assigned to.
func Managers() []int64 { return []int64{14, 15, 16} }

// Users are the shop's RetailCRM users: the three managers orders are
// assigned to, the senior manager whose changes the fake records
// (retailcrmtest.DefaultUserID), an administrator who is no manager and a
// former manager whose account is off. Every one has an e-mail, which is
// how crmsync finds the same person in Bitrix24.
func Users() []retailcrm.User {
	managers := []retailcrm.UserGroup{{ID: 25, Name: "Менеджеры", Code: "manager"}}
	return []retailcrm.User{
		{ID: 1, Active: true, IsAdmin: true, FirstName: "Администратор", Email: "admin@kuhni-shop.example", Status: "free"},
		{ID: 12, Active: false, IsManager: true, FirstName: "Павел", LastName: "Зайцев", Email: "p.zaitsev@kuhni-shop.example",
			Groups: managers},
		{ID: 14, Active: true, IsManager: true, FirstName: "Ольга", LastName: "Петрова", Email: "o.petrova@kuhni-shop.example",
			Position: "Менеджер по продажам", Status: "free", Online: true, Groups: managers},
		{ID: 15, Active: true, IsManager: true, FirstName: "Игорь", LastName: "Смирнов", Email: "i.smirnov@kuhni-shop.example",
			Position: "Менеджер по продажам", Status: "busy", Online: true, Groups: managers},
		{ID: 16, Active: true, IsManager: true, FirstName: "Мария", LastName: "Кузнецова", Email: "m.kuznetsova@kuhni-shop.example",
			Position: "Менеджер B2B", Status: "free", Groups: managers},
		{ID: retailcrmtest.DefaultUserID, Active: true, IsManager: true, IsAdmin: true, FirstName: "Елена", LastName: "Волкова",
			Email: "e.volkova@kuhni-shop.example", Position: "Старший менеджер", Status: "free", Online: true, Groups: managers},
	}
}

// organisation is a B2B buyer: a corporate customer's name and companies.
type organisation struct {
	nick      string
	companies []retailcrm.Company
}

// organisations are the corporate customers the generator draws from; the
// legal details are well-formed (INN, KPP, OGRN of the right lengths).
func organisations() []organisation {
	legal := func(name, inn, kpp, ogrn, address string) retailcrm.Company {
		return retailcrm.Company{Name: name, Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity,
			LegalName: name, INN: inn, KPP: kpp, OGRN: ogrn, LegalAddress: address}}
	}
	return []organisation{
		{"Кафе «Пышка»", []retailcrm.Company{legal("ООО «Пышка»", "7704211201", "770401001", "1027739244741", "г. Москва, ул. Арбат, д. 10")}},
		{"Гостиница «Берег»", []retailcrm.Company{
			legal("АО «Берег»", "5032096990", "503201001", "1035006466490", "г. Одинцово, ул. Садовая, д. 2"),
			legal("ООО «Берег-Сервис»", "5032178427", "503201001", "1075032010154", "г. Одинцово, ул. Садовая, д. 2, стр. 1"),
		}},
		{"ИП Орлов (кейтеринг)", []retailcrm.Company{{Name: "ИП Орлов Денис Сергеевич", Contragent: &retailcrm.Contragent{
			Type: retailcrm.ContragentEnterpreneur, LegalName: "ИП Орлов Денис Сергеевич", INN: "771902513866", OGRNIP: "316774600293161"}}}},
		{"Столовая №5", []retailcrm.Company{legal("ООО «Столовая №5»", "7814148471", "781401001", "1037832013434", "г. Санкт-Петербург, Невский пр-т, д. 5")}},
	}
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

type product struct {
	name, price string
	id          int64
	article     string // "" for an offer without one
	vat         retailcrm.VATRate
	unit        retailcrm.Unit
}

func products() []product {
	pc := retailcrm.Unit{Code: "pc", Name: "Штука", Sym: "шт."}
	set := retailcrm.Unit{Code: "set", Name: "Набор", Sym: "наб."}
	return []product{
		{"Чайник электрический", "2490.00", 101, "KT-2490", "20", pc}, {"Кофемолка", "1890.50", 102, "CG-1890", "20", pc},
		{"Набор ножей", "3200.00", 103, "KN-3200", "20", set}, {"Сковорода 28 см", "1599.99", 104, "", "20", pc},
		{"Блендер", "4990.00", 105, "BL-4990", "20", pc}, {"Тостер", "2750.00", 106, "TS-2750", "none", pc},
		{"Весы кухонные", "890.00", 107, "SC-890", "10", pc}, {"Термос 1 л", "1290.00", 108, "", "10", pc},
		{"Мультиварка", "6490.00", 109, "MC-6490", "none", pc},
	}
}

// utm returns attribution tags as shops' ad campaigns set them.
func utm() []retailcrm.Source {
	return []retailcrm.Source{
		{Source: "yandex", Medium: "cpc", Campaign: "kitchen_spring", Keyword: "купить чайник", Content: "text_ad_1"},
		{Source: "google", Medium: "cpc", Campaign: "brand", Keyword: "магазин посуды"},
		{Source: "vk", Medium: "social", Campaign: "retarget_may", Content: "carousel"},
		{Source: "newsletter", Medium: "email", Campaign: "weekly_42"},
		{Source: "yandex", Medium: "organic"},
	}
}

// buyers are the legal details of wholesale orders' buyers.
func buyers() []retailcrm.Contragent {
	return []retailcrm.Contragent{
		{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО «Кухни и Ко»", INN: "7707083893", KPP: "773601001", OGRN: "1027700132195"},
		{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО «Ресторан Вкус»", INN: "7728168971", KPP: "770401001", OGRN: "1027700067328"},
		{Type: retailcrm.ContragentEnterpreneur, LegalName: "ИП Соколова Анна Викторовна", INN: "500100732259", OGRNIP: "304500116000157"},
	}
}

func streets() []string {
	return []string{"г. Москва, ул. Лесная, д. 5, кв. 12", "г. Москва, Ленинский пр-т, д. 30", "г. Химки, ул. Молодёжная, д. 8, кв. 41",
		"г. Москва, ул. Профсоюзная, д. 104, кв. 7"}
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
	rc.AddDeliveryType(retailcrm.DeliveryType{Name: "Почта России", Code: "russian-post", Active: true,
		DefaultCost: decimal.RequireFromString("350.50")})
	rc.AddPaymentType(retailcrm.PaymentType{Name: "Безналичный расчет", Code: "bank-transfer", Active: true})
	for _, u := range Users() {
		rc.AddUser(u)
		sum.Users++
	}

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

	// Corporate customers come after the individual ones, so that the
	// individuals keep their ids; each has one of those as contact person.
	buyerOf := s.seedCorporate(rc, customers)
	sum.Corporate = len(buyerOf)

	ordersOf := map[int64]int{}
	for i := 0; i < size.Orders; i++ {
		// Earlier customers order more often: repeat purchases.
		c := customers[min(len(customers)-1, int(float64(len(customers))*s.rng.Float64()*s.rng.Float64()))]
		ordersOf[c.ID]++
		status := s.pickStatus()
		created := s.now.Add(-time.Duration(size.Orders-i) * 7 * time.Hour)
		o := s.order(i+1, c, status, created)
		if corp, ok := buyerOf[c.ID]; ok && (o.OrderType == "eshop-legal" || s.b2b.IntN(2) == 0) {
			s.placeForCompany(&o, c, corp)
			sum.B2BOrders++
		} else if o.Contragent.Type != retailcrm.ContragentIndividual {
			sum.LegalBuyers++
		}
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

// seedCorporate creates one corporate customer per 50 individual ones (at
// least one, at most one per organisation), each with a contact person drawn
// from the first third of the individuals, who buy most often (none twice),
// and returns them by contact person.
func (s *Shop) seedCorporate(rc *retailcrmtest.Server, people []retailcrm.Customer) map[int64]retailcrm.CorporateCustomer {
	orgs := organisations()
	regulars := people[:max(1, len(people)/3)]
	n := min(len(orgs), 1+len(people)/50, len(regulars))
	out := make(map[int64]retailcrm.CorporateCustomer, n)
	for i := 0; i < n; i++ {
		var person retailcrm.Customer
		for {
			person = pick(s.b2b, regulars)
			if _, taken := out[person.ID]; !taken {
				break
			}
		}
		org := orgs[i]
		cc := rc.AddCorporateCustomer(retailcrm.CorporateCustomer{
			ExternalID: fmt.Sprintf("b2b-%d", i+1), NickName: org.nick, Site: s.site, ManagerID: 16,
			CreatedAt: retailcrm.NewDateTime(s.now.AddDate(0, 0, -210+i)),
			Companies: org.companies,
			CustomerContacts: []retailcrm.CorporateContact{{IsMain: true,
				Customer: &retailcrm.Customer{ID: person.ID, ExternalID: person.ExternalID, Site: person.Site}}},
		})
		out[person.ID] = cc
	}
	return out
}

// placeForCompany turns an order of a contact person into an order of the
// corporate customer: the person becomes the order's contact, one of the
// customer's companies the buyer (RetailCRM fills in its legal details).
func (s *Shop) placeForCompany(o *retailcrm.Order, person retailcrm.Customer, cc retailcrm.CorporateCustomer) {
	co := cc.Companies[s.b2b.IntN(len(cc.Companies))]
	o.OrderType = "eshop-legal"
	o.Customer = &retailcrm.Customer{Type: retailcrm.CustomerTypeCorporate, ID: cc.ID}
	o.Contact = &retailcrm.Customer{ID: person.ID}
	o.Company = &retailcrm.Company{ID: co.ID}
	o.Contragent = nil
}

func (s *Shop) order(n int, c retailcrm.Customer, status string, created time.Time) retailcrm.Order {
	// Every draw of s.rng below happens as it always did; the content added
	// since comes from s.detail (see Shop).
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
		// A quarter of the lines carry a discount, per unit as RetailCRM
		// keeps it.
		discount := decimal.Zero
		if s.detail.IntN(4) == 0 {
			pct := decimal.NewFromInt(int64(5 * (1 + s.detail.IntN(3))))
			discount = price.Mul(pct).Div(decimal.NewFromInt(100)).Round(2)
		}
		unit := p.unit
		items = append(items, retailcrm.Item{InitialPrice: price, DiscountTotal: discount, Quantity: qty,
			VATRate: p.vat, Status: itemStatus,
			Prices: []retailcrm.ItemPrice{{Price: price.Sub(discount), Quantity: qty}},
			Offer: &retailcrm.Offer{ID: p.id, ExternalID: fmt.Sprintf("sku-%d", p.id), Name: p.name, DisplayName: p.name,
				Article: p.article, VATRate: p.vat, Unit: &unit}})
		total = total.Add(price.Sub(discount).Mul(qty))
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
	comment := pick(s.rng, comments())

	d := &retailcrm.Delivery{Code: delivery, Cost: cost}
	if delivery == "courier" {
		switch {
		case total.GreaterThanOrEqual(decimal.NewFromInt(10000)):
			d.Cost = decimal.Zero // free above 10 000
		case s.detail.IntN(5) == 0:
			d.Code, d.Cost = "russian-post", decimal.RequireFromString("350.50")
		}
		d.NetCost, d.VATRate = decimal.NewFromInt(250), "20"
		d.Address = &retailcrm.Address{CountryISO: "RU", Text: pick(s.detail, streets())}
	}
	sum := total.Add(d.Cost)

	o := retailcrm.Order{
		Number: fmt.Sprintf("%dA", 1000+n), ExternalID: fmt.Sprintf("web-%d", 1000+n), Site: s.site,
		Status: status, CreatedAt: retailcrm.NewDateTime(created), StatusUpdatedAt: retailcrm.NewDateTime(created),
		OrderMethod: method, OrderType: "eshop-individual",
		FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phones[0].Number,
		CustomerComment: comment,
		Currency:        "RUB", Summ: total, TotalSumm: sum,
		Customer: &retailcrm.Customer{Type: "customer", ID: c.ID, Site: s.site, FirstName: c.FirstName,
			LastName: c.LastName, Email: c.Email, Phones: c.Phones},
		Items:      items,
		Delivery:   d,
		Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentIndividual},
	}
	if s.detail.IntN(10) == 0 {
		buyer := pick(s.detail, buyers())
		o.OrderType, o.Contragent = "eshop-legal", &buyer
	}
	if s.detail.IntN(5) < 2 {
		src := pick(s.detail, utm())
		o.Source = &src
	}
	if status != "new" || s.detail.IntN(2) == 0 {
		o.ManagerID = pick(s.detail, Managers())
	}
	o.Payments = s.payments(n, status, payment, sum, created)
	return o
}

// payments pays orders as shops see them: completed, prepaid and returned
// orders in full, cancelled ones not at all, the rest in full, in part
// (a paid advance and an unpaid rest) or not yet. RetailCRM (and the fake)
// sets fullPaidAt from them.
func (s *Shop) payments(n int, status, typ string, sum decimal.Decimal, created time.Time) retailcrm.Payments {
	paidAt := created.Add(time.Duration(1+s.detail.IntN(48)) * time.Hour)
	if paidAt.After(s.now) {
		paidAt = s.now
	}
	paid := func(amount decimal.Decimal) retailcrm.Payment {
		return retailcrm.Payment{ID: int64(5000 + n), Type: typ, Status: "paid", Amount: amount, PaidAt: retailcrm.NewDateTime(paidAt)}
	}
	unpaid := retailcrm.Payment{ID: int64(5000 + n), Type: typ, Status: "not-paid", Amount: sum}
	how := s.detail.IntN(6)
	switch {
	case status == "complete" || status == "prepayed" || status == "return":
		return retailcrm.Payments{paid(sum)}
	case status == "cancel-other" || status == "no-call" || status == "new":
		return retailcrm.Payments{unpaid}
	case how < 2:
		return retailcrm.Payments{paid(sum)}
	case how == 2 && sum.IsPositive():
		advance := sum.Mul(decimal.NewFromFloat(0.3)).Round(2)
		rest := unpaid
		rest.ID, rest.Amount = int64(900_000+n), sum.Sub(advance)
		return retailcrm.Payments{paid(advance), rest}
	}
	return retailcrm.Payments{unpaid}
}

// Activity is what a shop's managers do between two sync runs: confirm and
// ship orders, complete some, cancel one, take a new order from a
// returning customer, merge a customer who registered twice into the other
// record, and delete an order placed by mistake.
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
	if line := s.mergeDuplicate(rc, size, touched); line != "" {
		done = append(done, line)
	}
	if line := s.deleteMistake(rc, size, touched); line != "" {
		done = append(done, line)
	}
	return done
}

// ordersByCustomer lists the orders of individual customers (corporate
// orders and their contact persons are left out), by customer id.
func ordersByCustomer(rc *retailcrmtest.Server, size Size) (map[int64][]retailcrm.Order, []int64) {
	by := map[int64][]retailcrm.Order{}
	for id := int64(1); id <= int64(size.Orders)+1; id++ {
		o, ok := rc.Order(id)
		if !ok || o.Customer == nil || o.Customer.Type == retailcrm.CustomerTypeCorporate || o.Contact != nil && o.Contact.ID != o.Customer.ID {
			continue
		}
		by[o.Customer.ID] = append(by[o.Customer.ID], o)
	}
	ids := slices.Sorted(maps.Keys(by))
	return by, ids
}

// mergeDuplicate merges a customer with one to three orders, none of them
// touched today, into another customer with orders: a person who ordered
// under a second record. Customer 1 (who just ordered again) and the
// corporate customers' contact persons stay as they are.
func (s *Shop) mergeDuplicate(rc *retailcrmtest.Server, size Size, touched map[int64]bool) string {
	by, ids := ordersByCustomer(rc, size)
	var from []int64
	for _, id := range ids {
		if n := len(by[id]); id != 1 && n >= 1 && n <= 3 && !slices.ContainsFunc(by[id], func(o retailcrm.Order) bool { return touched[o.ID] }) {
			from = append(from, id)
		}
	}
	if len(from) < 2 {
		return ""
	}
	a := from[s.rng.IntN(len(from))]
	b := ids[s.rng.IntN(len(ids))]
	if b == a {
		b = ids[(slices.Index(ids, a)+1)%len(ids)]
	}
	if err := rc.MergeCustomers(a, b); err != nil {
		return ""
	}
	for _, o := range by[a] {
		touched[o.ID] = true
	}
	return fmt.Sprintf("customer %d merged into customer %d (%d orders moved)", a, b, len(by[a]))
}

// deleteMistake deletes an order still new and untouched today, as a
// manager removes a test or mistaken order.
func (s *Shop) deleteMistake(rc *retailcrmtest.Server, size Size, touched map[int64]bool) string {
	var fresh []retailcrm.Order
	for id := int64(1); id <= int64(size.Orders); id++ {
		if o, ok := rc.Order(id); ok && !touched[id] && o.Status == "new" {
			fresh = append(fresh, o)
		}
	}
	if len(fresh) == 0 {
		return ""
	}
	o := fresh[s.rng.IntN(len(fresh))]
	if rc.DeleteOrder(o.ID) != nil {
		return ""
	}
	touched[o.ID] = true
	return fmt.Sprintf("order %s deleted", o.Number)
}

// MappingYAML is the mapping: section of a crmsync.yaml that fits the
// shop: every status group of the fake RetailCRM to a stage of the fake
// portal, the stages managers move deals to (BitrixActivity) back to
// statuses, and the order methods. The sandbox and the benchmark run with it.
const MappingYAML = `mapping:
  statuses:
    new: NEW
    group:approval: PREPARATION
    group:assembling: PREPAYMENT_INVOICE
    group:delivery: EXECUTING
    group:complete: WON
    group:cancel: LOSE
    return: APOLOGY
  stages:                       # what managers' stage moves in Bitrix24 become in RetailCRM
    PREPARATION: client-confirmed
    PREPAYMENT_INVOICE: assembling
    EXECUTING: delivering
    WON: complete
    LOSE: cancel-other
  order_methods:
    phone: CALL
    shopping-cart: WEB
`

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
