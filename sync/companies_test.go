package sync

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// b2b is a corporate customer with one contact person and the companies
// given, in the RetailCRM fake.
func (e *env) b2b(nick string, person retailcrm.Customer, companies ...retailcrm.Company) (retailcrm.CorporateCustomer, retailcrm.Customer) {
	e.t.Helper()
	p := e.rc.AddCustomer(person)
	cc := e.rc.AddCorporateCustomer(retailcrm.CorporateCustomer{NickName: nick, Companies: companies,
		CustomerContacts: []retailcrm.CorporateContact{{IsMain: true, Customer: &retailcrm.Customer{ID: p.ID}}}})
	return cc, p
}

// corporateOrder is an order the person places for one of the corporate
// customer's companies.
func corporateOrder(cc retailcrm.CorporateCustomer, person retailcrm.Customer, company int, total string) retailcrm.Order {
	o := order(&person, total)
	o.OrderType = "eshop-legal"
	o.Customer = &retailcrm.Customer{Type: retailcrm.CustomerTypeCorporate, ID: cc.ID}
	o.Contact = &retailcrm.Customer{ID: person.ID}
	o.Company = &retailcrm.Company{ID: cc.Companies[company].ID}
	return o
}

func legalCompany(name, inn, kpp, ogrn string) retailcrm.Company {
	return retailcrm.Company{Name: name, Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity,
		LegalName: name, INN: inn, KPP: kpp, OGRN: ogrn}}
}

func companiesOn(e *env) { e.cfg.Bitrix.Companies = true }

// pyshka is the corporate customer most company tests start from: a café
// with its contact person Oleg and one company, OOO Pyshka.
func (e *env) pyshka() (retailcrm.CorporateCustomer, retailcrm.Customer) {
	e.t.Helper()
	return e.b2b("Кафе «Пышка»", retailcrm.Customer{FirstName: "Олег", Email: "oleg@pyshka.example"},
		legalCompany("ООО «Пышка»", "7704211201", "770401001", "1027739244741"))
}

// updateCorporate changes a corporate customer in the RetailCRM fake
// (recorded in its history) and fails the test if it cannot.
func (e *env) updateCorporate(id int64, change func(*retailcrm.CorporateCustomer)) {
	e.t.Helper()
	if err := e.rc.UpdateCorporateCustomer(id, change); err != nil {
		e.t.Fatal(err)
	}
}

// updateCompany changes the corporate customer's company i in the
// RetailCRM fake and fails the test if it cannot.
func (e *env) updateCompany(cc retailcrm.CorporateCustomer, i int, change func(*retailcrm.Company)) {
	e.t.Helper()
	if err := e.rc.UpdateCompany(cc.ID, cc.Companies[i].ID, change); err != nil {
		e.t.Fatal(err)
	}
}

// companiesByOrigin maps ORIGIN_ID to the companies carrying it.
func (e *env) companiesByOrigin() map[string][]bitrixtest.Row {
	out := map[string][]bitrixtest.Row{}
	for _, c := range e.bx.Companies() {
		out[c.Str("ORIGIN_ID")] = append(out[c.Str("ORIGIN_ID")], c)
	}
	return out
}

// requisitesOf lists the requisites of a company.
func (e *env) requisitesOf(company string) []bitrixtest.RequisiteRow {
	var out []bitrixtest.RequisiteRow
	for _, r := range e.bx.Requisites() {
		if r.Str("ENTITY_TYPE_ID") == "4" && r.Str("ENTITY_ID") == company {
			out = append(out, r)
		}
	}
	return out
}

// Ids of the presets a fresh fake portal has (bitrixtest seedPresets).
const (
	presetCompany    = "1"
	presetIndividual = "2"
)

func (e *env) contactOfCustomer(id int64) string {
	for _, c := range e.bx.Contacts() {
		if c.Str("ORIGIN_ID") == strconv.FormatInt(id, 10) {
			return c.Str("ID")
		}
	}
	return ""
}

func (e *env) linkedCompanies(contact string) []string {
	id, _ := strconv.ParseInt(contact, 10, 64)
	var out []string
	for _, b := range e.bx.ContactCompanies(id) {
		out = append(out, strconv.FormatInt(b.CompanyID, 10))
	}
	return out
}

// TestCorporateOrdersShareOneCompany: the B2B orders of one corporate
// customer, in one pull and in later ones, share one company with one
// requisite (INN, KPP, OGRN, the organisation's preset); each deal carries
// it and the contact person is linked to it; a repeated pull writes nothing.
func TestCorporateOrdersShareOneCompany(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	o1 := e.rc.CreateOrder(corporateOrder(cc, person, 0, "1000"))
	o2 := e.rc.CreateOrder(corporateOrder(cc, person, 0, "2000"))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	o3 := e.rc.CreateOrder(corporateOrder(cc, person, 0, "3000"))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}

	all := e.bx.Companies()
	cos := e.companiesByOrigin()[strconv.FormatInt(cc.ID, 10)]
	if len(all) != 1 || len(cos) != 1 {
		t.Fatalf("companies %d, with the corporate customer's key %d", len(all), len(cos))
	}
	co := cos[0]
	if co.Str("TITLE") != "Кафе «Пышка»" || co.Str("ORIGINATOR_ID") != "retailcrm" {
		t.Errorf("company %v", co.Fields)
	}
	reqs := e.requisitesOf(co.Str("ID"))
	if len(reqs) != 1 || len(e.bx.Requisites()) != 1 {
		t.Fatalf("requisites %d (all %d)", len(reqs), len(e.bx.Requisites()))
	}
	rq := reqs[0]
	if rq.Str("RQ_INN") != "7704211201" || rq.Str("RQ_KPP") != "770401001" || rq.Str("RQ_OGRN") != "1027739244741" ||
		rq.Str("RQ_COMPANY_NAME") != "ООО «Пышка»" || rq.Str("PRESET_ID") != presetCompany || rq.Str("NAME") == "" {
		t.Errorf("requisite %v", rq.Fields)
	}
	for _, o := range []retailcrm.Order{o1, o2, o3} {
		if d := dealOf(t, e, o.ID); d["COMPANY_ID"] != co.Str("ID") {
			t.Errorf("deal of order %d: COMPANY_ID %v, want %s", o.ID, d["COMPANY_ID"], co.Str("ID"))
		}
	}
	contact := e.contactOfCustomer(person.ID)
	if got := e.linkedCompanies(contact); len(got) != 1 || got[0] != co.Str("ID") {
		t.Errorf("contact %s linked to companies %v", contact, got)
	}

	res, w := e.pullWrites()
	if w != 0 || res.Report.Summary.BitrixRequests != 0 {
		t.Errorf("repeated pull: %d writes, %d requests", w, res.Report.Summary.BitrixRequests)
	}
}

// legalOrder is an individual customer's order with a legal buyer.
func legalOrder(c *retailcrm.Customer, ct retailcrm.Contragent, total string) retailcrm.Order {
	o := order(c, total)
	o.OrderType = "eshop-legal"
	o.Contragent = &ct
	return o
}

// TestPersonsCompanyWithTheSameINNIsReused: a company people made, found by
// its requisite's INN and KPP, serves an individual customer's legal buyer
// and a corporate customer with that INN: it keeps its name, its requisite
// only gains the missing OGRN, and no company or requisite is added.
func TestPersonsCompanyWithTheSameINNIsReused(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	theirs := e.bx.SeedCompany(map[string]any{"TITLE": "Кухни и Ко (ключевой клиент)"})
	e.bx.SeedRequisite(theirs, map[string]any{"RQ_INN": "7707083893", "RQ_KPP": "773601001", "RQ_COMPANY_NAME": "ООО Кухни и Ко"})
	other := e.bx.SeedCompany(map[string]any{"TITLE": "Филиал"}) // same INN, another KPP: a branch
	e.bx.SeedRequisite(other, map[string]any{"RQ_INN": "7707083893", "RQ_KPP": "773602002"})

	buyer := retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО «Кухни и Ко»", INN: "7707083893",
		KPP: "773601001", OGRN: "1027700132195"}
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	o1 := e.rc.CreateOrder(legalOrder(&anna, buyer, "500"))
	cc, person := e.b2b("Кухни и Ко", retailcrm.Customer{FirstName: "Иван", Email: "ivan@kuhni.example"},
		legalCompany("ООО «Кухни и Ко»", "7707083893", "773601001", "1027700132195"))
	o2 := e.rc.CreateOrder(corporateOrder(cc, person, 0, "700"))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}

	if n := len(e.bx.Companies()); n != 2 {
		t.Errorf("%d companies, want the 2 people made", n)
	}
	if n := len(e.bx.Requisites()); n != 2 {
		t.Errorf("%d requisites, want 2", n)
	}
	id := strconv.FormatInt(theirs, 10)
	co, _ := e.bx.Company(theirs)
	if co.Str("TITLE") != "Кухни и Ко (ключевой клиент)" {
		t.Errorf("the people's company was renamed: %q", co.Str("TITLE"))
	}
	rq := e.requisitesOf(id)
	if len(rq) != 1 || rq[0].Str("RQ_OGRN") != "1027700132195" || rq[0].Str("RQ_COMPANY_NAME") != "ООО Кухни и Ко" {
		t.Errorf("requisite %+v: want the OGRN added and the name kept", rq)
	}
	for _, o := range []retailcrm.Order{o1, o2} {
		if d := dealOf(t, e, o.ID); d["COMPANY_ID"] != id {
			t.Errorf("deal of order %d: COMPANY_ID %v, want %s", o.ID, d["COMPANY_ID"], id)
		}
	}
	if got := e.linkedCompanies(e.contactOfCustomer(person.ID)); len(got) != 1 || got[0] != id {
		t.Errorf("the contact person's contact linked to %v, want %s", got, id)
	}
	// A private customer buying for the organisation is not its contact.
	if got := e.linkedCompanies(e.contactOfCustomer(anna.ID)); len(got) != 0 {
		t.Errorf("a private customer's contact linked to %v", got)
	}
}

// TestCompaniesAfterALostDatabase: without the database, the next pull
// finds every company by ORIGIN_ID (the oldest, when people copied one)
// and its requisites by INN: no company or requisite is added, the deals
// keep theirs.
func TestCompaniesAfterALostDatabase(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.b2b("Гостиница «Берег»", retailcrm.Customer{FirstName: "Пётр", Email: "petr@bereg.example"},
		legalCompany("АО «Берег»", "5032096990", "503201001", "1035006466490"),
		legalCompany("ООО «Берег-Сервис»", "5032178427", "503201001", "1075032010154"))
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	sole := retailcrm.Contragent{Type: retailcrm.ContragentEnterpreneur, LegalName: "ИП Соколова Анна Викторовна",
		INN: "500100732259", OGRNIP: "304500116000157"}
	var orders []retailcrm.Order
	orders = append(orders, e.rc.CreateOrder(corporateOrder(cc, person, 0, "100")), e.rc.CreateOrder(corporateOrder(cc, person, 1, "200")),
		e.rc.CreateOrder(legalOrder(&anna, sole, "300")))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	key := strconv.FormatInt(cc.ID, 10)
	cos := e.companiesByOrigin()
	if len(e.bx.Companies()) != 2 || len(cos[key]) != 1 || len(cos["inn:500100732259"]) != 1 {
		t.Fatalf("companies by key: %v", cos)
	}
	bereg := cos[key][0].Str("ID")
	if rq := e.requisitesOf(bereg); len(rq) != 2 {
		t.Fatalf("the corporate customer's company has %d requisites, want one per legal entity", len(rq))
	}
	soleRq := e.requisitesOf(cos["inn:500100732259"][0].Str("ID"))
	if len(soleRq) != 1 || soleRq[0].Str("PRESET_ID") != presetIndividual || soleRq[0].Str("RQ_OGRNIP") != "304500116000157" {
		t.Errorf("sole trader's requisite %+v", soleRq)
	}
	// A person copies the company, key and all: the oldest stays in use.
	e.bx.SeedCompany(map[string]any{"TITLE": "Гостиница «Берег» (копия)", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": key})
	companies, requisites := len(e.bx.Companies()), len(e.bx.Requisites())

	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(e.dbPath + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	linksBefore := e.bx.Stats().CommandsPerMethod["crm.contact.company.add"] + e.bx.Stats().CommandsPerMethod["crm.company.contact.add"]
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked after the loss: %+v", res.Report.Parked)
	}
	// The contact person is linked already: nothing is added again.
	if n := e.bx.Stats().CommandsPerMethod["crm.contact.company.add"] + e.bx.Stats().CommandsPerMethod["crm.company.contact.add"] - linksBefore; n != 0 {
		t.Errorf("after the loss: %d contact-company links added again", n)
	}
	if n, m := len(e.bx.Companies()), len(e.bx.Requisites()); n != companies || m != requisites {
		t.Errorf("after the loss: %d companies, %d requisites; want %d, %d", n, m, companies, requisites)
	}
	for _, o := range orders[:2] {
		if d := dealOf(t, e, o.ID); d["COMPANY_ID"] != bereg {
			t.Errorf("deal of order %d: COMPANY_ID %v, want %s", o.ID, d["COMPANY_ID"], bereg)
		}
	}
}

// TestCompanyPresetsAreFoundByXMLID: presets are read by XML_ID, not id (a
// portal re-created the sole trader's); an order whose preset is gone is
// parked naming it, and the other orders sync.
func TestCompanyPresetsAreFoundByXMLID(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	e.bx.DeletePreset(2)
	id := e.bx.SeedPreset("ИП", bitrixtest.PresetXMLIndividual, 1)
	e.bx.DeletePreset(1)
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	sole := e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentEnterpreneur,
		LegalName: "ИП Соколова Анна Викторовна", INN: "500100732259", OGRNIP: "304500116000157"}, "300"))
	org := e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity,
		LegalName: "ООО «Ресторан Вкус»", INN: "7728168971", KPP: "770401001"}, "400"))
	private := e.rc.CreateOrder(order(&anna, "50"))
	res := e.pull()
	if len(res.Report.Parked) != 1 || res.Report.Parked[0].OrderID != org.ID ||
		!strings.Contains(res.Report.Parked[0].Reason, bitrix.PresetXMLCompany) {
		t.Fatalf("parked %+v, want order %d naming the missing preset", res.Report.Parked, org.ID)
	}
	dealOf(t, e, sole.ID)
	dealOf(t, e, private.ID)
	cos := e.companiesByOrigin()["inn:500100732259"]
	if len(cos) != 1 || len(e.bx.Companies()) != 1 {
		t.Fatalf("companies %v", e.companiesByOrigin())
	}
	if rq := e.requisitesOf(cos[0].Str("ID")); len(rq) != 1 || rq[0].Str("PRESET_ID") != strconv.FormatInt(id, 10) {
		t.Errorf("requisite %+v, want preset %d", rq, id)
	}
}

// TestBadLegalDetailsParkTheOrder: an INN or KPP that cannot be one parks
// its order with the reason; other orders sync, and companies off leaves
// every order without a company.
func TestBadLegalDetailsParkTheOrder(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	badINN := e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО X", INN: "77 0708 38"}, "1"))
	badKPP := e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО Y", INN: "7707083893", KPP: "7736-01"}, "2"))
	good := e.rc.CreateOrder(order(&anna, "3"))
	res := e.pull()
	reasons := map[int64]string{}
	for _, p := range res.Report.Parked {
		reasons[p.OrderID] = p.Reason
	}
	if !strings.Contains(reasons[badINN.ID], `INN "77 0708 38" is not 10 or 12 digits`) ||
		!strings.Contains(reasons[badKPP.ID], `KPP "7736-01" is not 9 characters`) || len(reasons) != 2 {
		t.Errorf("parked %v", reasons)
	}
	dealOf(t, e, good.ID)
	if n := len(e.bx.Companies()); n != 0 {
		t.Errorf("%d companies", n)
	}

	off := newEnv(t)
	c := off.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	o := off.rc.CreateOrder(legalOrder(&c, retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО X", INN: "7707083893"}, "1"))
	if res := off.pull(); res.Parked() != 0 || len(off.bx.Companies()) != 0 || dealOf(t, off, o.ID)["COMPANY_ID"] != nil && dealOf(t, off, o.ID)["COMPANY_ID"] != "" {
		t.Errorf("companies off: parked %+v, companies %d, deal %v", res.Report.Parked, len(off.bx.Companies()), dealOf(t, off, o.ID)["COMPANY_ID"])
	}
}

// TestCompanyWriteWithALostAnswer: a batch that created companies, their
// requisites and links but lost its answer is looked up, not sent again;
// two keys of one INN in one chunk (a legal buyer and a corporate customer)
// make one company.
func TestCompanyWriteWithALostAnswer(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	o1 := e.rc.CreateOrder(corporateOrder(cc, person, 0, "100"))
	o2 := e.rc.CreateOrder(legalOrder(&anna, *cc.Companies[0].Contragent, "200"))
	o3 := e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "ООО «Ресторан Вкус»",
		INN: "7728168971", KPP: "770401001", OGRN: "1027700067328"}, "300"))
	lost := &lostAnswers{Bitrix: e.bxc, method: "crm.company.add", lose: 1}
	if res := e.pull(func(o *Options) { o.Bitrix = lost }); res.Parked() != 0 || lost.lose != 0 {
		t.Fatalf("parked: %+v (answer lost: %v)", res.Report.Parked, lost.lose == 0)
	}
	if n, m := len(e.bx.Companies()), len(e.bx.Requisites()); n != 2 || m != 2 {
		t.Errorf("%d companies, %d requisites; want 2, 2", n, m)
	}
	d1, d2, d3 := dealOf(t, e, o1.ID), dealOf(t, e, o2.ID), dealOf(t, e, o3.ID)
	if d1["COMPANY_ID"] == nil || d1["COMPANY_ID"] != d2["COMPANY_ID"] || d3["COMPANY_ID"] == d1["COMPANY_ID"] {
		t.Errorf("COMPANY_ID %v %v %v: want the first two alike", d1["COMPANY_ID"], d2["COMPANY_ID"], d3["COMPANY_ID"])
	}
	for _, c := range e.bx.Companies() {
		contacts := e.bx.CompanyContacts(c.ID)
		if want := strconv.FormatInt(c.ID, 10) == d1["COMPANY_ID"]; (len(contacts) == 1) != want {
			t.Errorf("company %d has contacts %v (the contact person's: %v)", c.ID, contacts, want)
		}
	}

	// The corporate customer gains a second legal entity; the requisite is
	// added to its company in the deals' batch, whose answer is lost.
	co, err := e.rc.AddCompany(cc.ID, legalCompany("ООО «Пышка-2»", "7704211202", "770401001", "1027739244742"))
	if err != nil {
		t.Fatal(err)
	}
	cc, _ = e.rc.CorporateCustomer(cc.ID)
	o4 := corporateOrder(cc, person, 0, "400")
	o4.Company = &retailcrm.Company{ID: co.ID}
	o4 = e.rc.CreateOrder(o4)
	lost = &lostAnswers{Bitrix: e.bxc, method: "crm.requisite.add", lose: 1}
	if res := e.pull(func(o *Options) { o.Bitrix = lost }); res.Parked() != 0 || lost.lose != 0 {
		t.Fatalf("parked: %+v (answer lost: %v)", res.Report.Parked, lost.lose == 0)
	}
	if n, m := len(e.bx.Companies()), len(e.bx.Requisites()); n != 2 || m != 3 {
		t.Errorf("%d companies, %d requisites; want 2, 3", n, m)
	}
	if d := dealOf(t, e, o4.ID); d["COMPANY_ID"] != d1["COMPANY_ID"] {
		t.Errorf("COMPANY_ID %v, want %v", d["COMPANY_ID"], d1["COMPANY_ID"])
	}
}

// TestDryRunAnnouncesCompanies: a dry run announces the company, its
// requisite, the contact person's link and the deals' COMPANY_ID exactly
// as the real run then writes them, and writes nothing itself.
func TestDryRunAnnouncesCompanies(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	for i := 0; i < 60; i++ { // two chunks: the second plans against the first's pretended company
		e.rc.CreateOrder(corporateOrder(cc, person, 0, "100"))
	}
	e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentEnterpreneur,
		LegalName: "ИП Соколова Анна Викторовна", INN: "500100732259", OGRNIP: "304500116000157"}, "300"))
	dry := e.dryPull()
	if e.writes() != 0 {
		t.Fatalf("dry run wrote %d commands", e.writes())
	}
	real := e.pull(keepChanges)
	ids := regexp.MustCompile(`COMPANY_ID:(<nil>|)->[0-9]+`)
	norm := func(cs []Change) string {
		return ids.ReplaceAllString(strings.Join(normChanges(cs), "\n"), "COMPANY_ID:$1->?")
	}
	if d, r := norm(dry.Report.Changes), norm(real.Report.Changes); d != r {
		t.Errorf("dry run announced\n%s\nreal run did\n%s", d, r)
	}
	var text bytes.Buffer
	if err := dry.Report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"company", "requisite", "RQ_INN", "7704211201", "500100732259"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("dry-run report lacks %q:\n%s", want, text.String())
		}
	}
	if n, m := len(e.bx.Companies()), len(e.bx.Requisites()); n != 2 || m != 2 {
		t.Errorf("%d companies, %d requisites after the real run", n, m)
	}
}

// TestIdlePullRequestsPerStream: a pull with nothing new reads each
// history it follows once — orders, customers, and corporate customers
// when companies are on — and sends nothing to Bitrix24
// (docs/architecture.md, "Dictionaries").
func TestIdlePullRequestsPerStream(t *testing.T) {
	for _, tc := range []struct {
		name      string
		companies bool
		want      int
		corporate int // /customers-corporate/history reads per idle pull
	}{
		{"companies on", true, 3, 1},
		{"companies off", false, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Bitrix.Companies = tc.companies
			cc, person := e.pyshka()
			e.rc.CreateOrder(corporateOrder(cc, person, 0, "1000"))
			anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
			e.rc.CreateOrder(order(&anna, "500"))
			if res := e.pull(); res.Parked() != 0 {
				t.Fatalf("parked: %+v", res.Report.Parked)
			}
			for run := range 2 {
				rc0, bx0 := e.rc.TotalRequests(), e.bx.Stats().Requests
				corp0 := e.rc.Requests("/api/v5/customers-corporate/history")
				res := e.pull()
				if got := e.rc.TotalRequests() - rc0; got != tc.want {
					t.Errorf("idle pull %d: %d RetailCRM requests, want %d", run, got, tc.want)
				}
				if got := e.rc.Requests("/api/v5/customers-corporate/history") - corp0; got != tc.corporate {
					t.Errorf("idle pull %d: %d reads of the corporate customers history, want %d", run, got, tc.corporate)
				}
				if got := e.bx.Stats().Requests - bx0; got != 0 {
					t.Errorf("idle pull %d: %d Bitrix24 requests, want 0", run, got)
				}
				if s := res.Report.Summary; s.RetailCRMRequests != tc.want || s.BitrixRequests != 0 {
					t.Errorf("idle pull %d: summary counts retailcrm %d, bitrix %d", run, s.RetailCRMRequests, s.BitrixRequests)
				}
			}
		})
	}
}

// TestCorporateChangesReachTheCompany: a corporate customer renamed in
// RetailCRM, and its company's legal name and KPP corrected, without any
// new order: the next pull renames crmsync's company, writes the new legal
// name to its requisite and adds the requisite of the new KPP (add-only:
// the old one stays); the deal is not touched. The next order and an idle
// pull then cost no Bitrix24 write.
func TestCorporateChangesReachTheCompany(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	o1 := e.rc.CreateOrder(corporateOrder(cc, person, 0, "1000"))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	co := e.companiesByOrigin()[strconv.FormatInt(cc.ID, 10)][0]
	deal := dealOf(t, e, o1.ID)

	e.updateCorporate(cc.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = "Пышка и Ко" })
	before := e.writes()
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	got, _ := e.bx.Company(mustID(t, co.Str("ID")))
	if got.Str("TITLE") != "Пышка и Ко" {
		t.Errorf("company title %q after the rename, want %q", got.Str("TITLE"), "Пышка и Ко")
	}
	if w := e.writes() - before; w != 1 {
		t.Errorf("the rename cost %d writes, want 1 (the company's name)", w)
	}

	e.updateCompany(cc, 0, func(c *retailcrm.Company) {
		c.Contragent.LegalName = "ООО «Пышка и Ко»"
		c.Contragent.KPP = "770402002"
	})
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	reqs := e.requisitesOf(co.Str("ID"))
	kpps := map[string]string{}
	for _, r := range reqs {
		kpps[r.Str("RQ_KPP")] = r.Str("RQ_COMPANY_NAME")
	}
	if len(reqs) != 2 || kpps["770401001"] != "ООО «Пышка»" || kpps["770402002"] != "ООО «Пышка и Ко»" {
		t.Errorf("requisites by KPP %v: want the old one kept and the new KPP added with the new legal name", kpps)
	}
	if got := dealOf(t, e, o1.ID); got["DATE_MODIFY"] != deal["DATE_MODIFY"] || got["COMPANY_ID"] != co.Str("ID") {
		t.Errorf("the deal changed: %v → %v", deal, got)
	}

	// The customer's next order finds everything in place.
	e.rc.CreateOrder(corporateOrder(cc, person, 0, "2000"))
	e.pull()
	if n := len(e.bx.Companies()); n != 1 {
		t.Errorf("%d companies, want 1", n)
	}
	if n := len(e.requisitesOf(co.Str("ID"))); n != 2 {
		t.Errorf("%d requisites after the next order, want 2", n)
	}
	if got, _ := e.bx.Company(mustID(t, co.Str("ID"))); got.Str("TITLE") != "Пышка и Ко" {
		t.Errorf("company title %q after the next order", got.Str("TITLE"))
	}
	bx0 := e.bx.Stats().Requests
	e.pull()
	if n := e.bx.Stats().Requests - bx0; n != 0 {
		t.Errorf("idle pull after the changes: %d Bitrix24 requests", n)
	}
}

// TestCorporateRenameKeepsPeoplesCompanyName: a company people made (found
// by its requisite's INN) keeps its name when the corporate customer is
// renamed, as it does when orders name it; an unlinked corporate customer's
// rename reads nothing more and writes nothing.
func TestCorporateRenameKeepsPeoplesCompanyName(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	theirs := e.bx.SeedCompany(map[string]any{"TITLE": "Кухни и Ко (ключевой клиент)"})
	e.bx.SeedRequisite(theirs, map[string]any{"RQ_INN": "7707083893", "RQ_KPP": "773601001", "RQ_COMPANY_NAME": "ООО Кухни и Ко"})
	cc, person := e.b2b("Кухни и Ко", retailcrm.Customer{FirstName: "Иван", Email: "ivan@kuhni.example"},
		legalCompany("ООО «Кухни и Ко»", "7707083893", "773601001", "1027700132195"))
	e.rc.CreateOrder(corporateOrder(cc, person, 0, "700"))
	lone, _ := e.b2b("Без заказов", retailcrm.Customer{FirstName: "Пётр", Email: "petr@example.com"},
		legalCompany("ООО «Без заказов»", "7728168971", "770401001", ""))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	for _, id := range []int64{cc.ID, lone.ID} {
		e.updateCorporate(id, func(c *retailcrm.CorporateCustomer) { c.NickName += " (новое имя)" })
	}
	before, reads := e.writes(), e.rc.Requests("/api/v5/customers-corporate")
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	if co, _ := e.bx.Company(theirs); co.Str("TITLE") != "Кухни и Ко (ключевой клиент)" {
		t.Errorf("the people's company was renamed: %q", co.Str("TITLE"))
	}
	if w := e.writes() - before; w != 0 {
		t.Errorf("%d writes, want none", w)
	}
	if n := e.rc.Requests("/api/v5/customers-corporate") - reads; n != 1 {
		t.Errorf("%d reads of the corporate customers, want 1 (the linked one only)", n)
	}
	if n := len(e.bx.Companies()); n != 1 {
		t.Errorf("%d companies, want 1", n)
	}
}

// TestBadCorporateDetailsParkTheCustomer: a company corrected to an INN
// that cannot be one parks its corporate customer with the reason (kind
// "corporate"); another corporate customer's rename in the same page still
// reaches its company, and the parked one is retried once corrected.
func TestBadCorporateDetailsParkTheCustomer(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	bad, p1 := e.b2b("Плохой ИНН", retailcrm.Customer{FirstName: "А", Email: "a@example.com"},
		legalCompany("ООО «Плохой»", "7704211201", "770401001", ""))
	good, p2 := e.b2b("Хороший", retailcrm.Customer{FirstName: "Б", Email: "b@example.com"},
		legalCompany("ООО «Хороший»", "7707083893", "773601001", ""))
	e.rc.CreateOrder(corporateOrder(bad, p1, 0, "100"))
	e.rc.CreateOrder(corporateOrder(good, p2, 0, "200"))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	e.updateCompany(bad, 0, func(c *retailcrm.Company) { c.Contragent.INN = "77042" })
	e.updateCorporate(good.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = "Хороший и Ко" })
	res := e.pull()
	if len(res.Report.Parked) != 1 {
		t.Fatalf("parked %+v, want the corporate customer with the bad INN", res.Report.Parked)
	}
	p := res.Report.Parked[0]
	if p.Kind != "corporate" || p.Key != strconv.FormatInt(bad.ID, 10) || !strings.Contains(p.Reason, `INN "77042"`) ||
		!strings.Contains(p.Reason, "corporate customer "+strconv.FormatInt(bad.ID, 10)) {
		t.Errorf("parked %+v", p)
	}
	co := e.companiesByOrigin()[strconv.FormatInt(good.ID, 10)][0]
	if co.Str("TITLE") != "Хороший и Ко" {
		t.Errorf("the other customer's company is %q", co.Str("TITLE"))
	}

	e.updateCompany(bad, 0, func(c *retailcrm.Company) { c.Contragent.INN = "7704211201" })
	if res := e.pull(func(o *Options) { o.RetryDelay = 1 }); res.Parked() != 0 {
		t.Errorf("still parked after the correction: %+v", res.Report.Parked)
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestBackfillStartsTheCorporateCursorAtTheHead: a backfill reads the
// companies' current data with their orders, so it sets the corporate
// history cursor at the head (when pull has none): the next pull does not
// replay the corporate history.
func TestBackfillStartsTheCorporateCursorAtTheHead(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	e.rc.CreateOrder(corporateOrder(cc, person, 0, "1000"))
	e.updateCorporate(cc.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = "Пышка и Ко" })
	e.mustBackfill(BackfillOptions{})
	if c := e.cursor(store.CursorCorporateHistory); c != e.rc.LastCorporateHistoryID() {
		t.Errorf("corporate cursor %d, want the head %d", c, e.rc.LastCorporateHistoryID())
	}
	if co := e.companiesByOrigin()[strconv.FormatInt(cc.ID, 10)]; len(co) != 1 || co[0].Str("TITLE") != "Пышка и Ко" {
		t.Errorf("companies after the backfill %+v", co)
	}
	reads := e.rc.Requests("/api/v5/customers-corporate")
	e.pull()
	if n := e.rc.Requests("/api/v5/customers-corporate") - reads; n != 0 {
		t.Errorf("the pull after the backfill read %d corporate customers", n)
	}
}

// TestDryRunAnnouncesCorporateChanges: a dry run announces the company's
// new name and requisite as the real run then makes them, and writes
// nothing.
func TestDryRunAnnouncesCorporateChanges(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	e.rc.CreateOrder(corporateOrder(cc, person, 0, "1000"))
	e.pull()
	e.updateCorporate(cc.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = "Пышка и Ко" })
	e.updateCompany(cc, 0, func(c *retailcrm.Company) { c.Contragent.KPP = "770402002" })
	before := e.writes()
	dry := e.dryPull()
	if w := e.writes() - before; w != 0 {
		t.Fatalf("dry run wrote %d commands", w)
	}
	real := e.pull(keepChanges)
	d, r := strings.Join(normChanges(dry.Report.Changes), "\n"), strings.Join(normChanges(real.Report.Changes), "\n")
	if d != r || !strings.Contains(d, "Пышка и Ко") || !strings.Contains(d, "770402002") {
		t.Errorf("dry run announced\n%s\nreal run did\n%s", d, r)
	}
}
