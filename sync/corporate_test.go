package sync

import (
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

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
