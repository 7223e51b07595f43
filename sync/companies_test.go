package sync

import (
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
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
	cc, person := e.b2b("Кафе «Пышка»", retailcrm.Customer{FirstName: "Олег", Email: "oleg@pyshka.example"},
		legalCompany("ООО «Пышка»", "7704211201", "770401001", "1027739244741"))
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

	before := e.writes()
	res := e.pull()
	if w := e.writes() - before; w != 0 || res.Report.Summary.BitrixRequests != 0 {
		t.Errorf("repeated pull: %d writes, %d requests", w, res.Report.Summary.BitrixRequests)
	}
}
