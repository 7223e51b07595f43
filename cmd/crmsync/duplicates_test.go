package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// A person copied an order's deal 59 times: pull uses the oldest and creates
// nothing, status (text and --json) lists the copies, and check finds them
// still on the portal.
func TestDuplicatesReportedByStatusAndCheck(t *testing.T) {
	t.Parallel()
	f, cfg, db := duplicatesFakes(t)
	anna := &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}
	a := f.rc.CreateOrder(retailcrm.Order{Customer: anna, TotalSumm: decimal.RequireFromString("100"), Currency: "RUB"})
	boris := &retailcrm.Customer{FirstName: "Boris", Email: "boris@example.com"}
	b := f.rc.CreateOrder(retailcrm.Order{Customer: boris, TotalSumm: decimal.RequireFromString("200"), Currency: "RUB"})
	var copies []int64
	for range 60 {
		copies = append(copies, f.bx.SeedDeal(map[string]any{"TITLE": "copy", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(a.ID, 10)}))
	}
	f.bx.SeedDeal(map[string]any{"TITLE": "by hand", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(b.ID, 10)})

	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	if n := len(f.bx.Deals()); n != 61 {
		t.Fatalf("%d deals after pull, want 61", n)
	}

	line := fmt.Sprintf("deal of order %d: uses %d; 59 other(s): %d, %d", a.ID, copies[0], copies[1], copies[2])
	_, rep := reportsDuplicates(t, cfg, db, "duplicates", "Duplicates in Bitrix24: 1 ORIGIN_ID(s)", line)
	if len(rep.Duplicates) != 1 {
		t.Fatalf("duplicates %+v", rep.Duplicates)
	}
	d := rep.Duplicates[0]
	if d.Entity != "deal" || d.OriginID != a.ID || d.KeptID != copies[0] || !slices.Equal(d.Others, copies[1:]) || d.SeenAt.IsZero() {
		t.Errorf("duplicate %+v; want deal of order %d kept %d with the %d others", d, a.ID, copies[0], len(copies)-1)
	}
}

// check says so when the database records no duplicates.
func TestCheckReportsNoDuplicates(t *testing.T) {
	t.Parallel()
	f, cfg, db := duplicatesFakes(t)
	f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Anna"}, TotalSumm: decimal.RequireFromString("1"), Currency: "RUB"})
	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	found := findingOf(checkJSON(t, runInProcess(t, "--config", cfg, "--db", db, "check", "--json")), "bitrix.duplicates")
	if len(found) != 1 || found[0].Status != checkOK {
		t.Errorf("duplicates finding %+v", found)
	}
}

// People copied a corporate customer's company twice: pull uses the oldest
// and creates none, status (text and the --json field company_duplicates)
// lists the copies, and check finds them still on the portal.
func TestDuplicateCompaniesReportedByStatusAndCheck(t *testing.T) {
	t.Parallel()
	f, cfg, db := duplicatesFakes(t)
	person := f.rc.AddCustomer(retailcrm.Customer{FirstName: "Oleg", Email: "oleg@pyshka.example"})
	cc := f.rc.AddCorporateCustomer(retailcrm.CorporateCustomer{NickName: "Pyshka", Companies: []retailcrm.Company{{Name: "OOO Pyshka",
		Contragent: &retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "OOO Pyshka", INN: "7704211201", KPP: "770401001"}}},
		CustomerContacts: []retailcrm.CorporateContact{{IsMain: true, Customer: &retailcrm.Customer{ID: person.ID}}}})
	f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{Type: retailcrm.CustomerTypeCorporate, ID: cc.ID},
		Contact: &retailcrm.Customer{ID: person.ID}, Company: &retailcrm.Company{ID: cc.Companies[0].ID},
		TotalSumm: decimal.RequireFromString("100"), Currency: "RUB"})
	var copies []int64
	for range 3 {
		copies = append(copies, f.bx.SeedCompany(map[string]any{"TITLE": "Pyshka", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(cc.ID, 10)}))
	}

	runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
	if n := len(f.bx.Companies()); n != 3 {
		t.Fatalf("%d companies after pull, want the 3 there were", n)
	}

	line := fmt.Sprintf("company of corporate customer %d: uses %d; 2 other(s): %d, %d", cc.ID, copies[0], copies[1], copies[2])
	raw, rep := reportsDuplicates(t, cfg, db, "company_duplicates", "Duplicate companies in Bitrix24: 1 ORIGIN_ID(s)", line)
	if d, ok := raw["duplicates"].([]any); !ok || len(d) != 0 {
		t.Errorf("duplicates %v, want an empty list (the companies have their own field)", raw["duplicates"])
	}
	if len(rep.CompanyDuplicates) != 1 {
		t.Fatalf("company duplicates %+v", rep.CompanyDuplicates)
	}
	d := rep.CompanyDuplicates[0]
	if d.OriginID != strconv.FormatInt(cc.ID, 10) || d.KeptID != copies[0] || !slices.Equal(d.Others, copies[1:]) || d.SeenAt.IsZero() {
		t.Errorf("company duplicate %+v; want corporate customer %d's kept %d with %v", d, cc.ID, copies[0], copies[1:])
	}
}

// duplicatesFakes are both fakes, a config with fullMapping for them and
// the database path next to it.
func duplicatesFakes(t *testing.T) (f fakes, cfg, db string) {
	t.Helper()
	f = newFakes(t, retailcrmtest.Options{}, bitrixtest.Options{})
	dir := t.TempDir()
	return f, writeConfig(t, dir, f.config(fullMapping)), filepath.Join(dir, "d.db")
}

// reportsDuplicates runs status --json, status and check on the database
// and wants the copies reported: the JSON has field, the text header and
// line, and check a bitrix.duplicates warning with line that says to use
// the oldest. It returns status --json, raw and decoded.
func reportsDuplicates(t *testing.T, cfg, db, field, header, line string) (raw map[string]any, rep statusReport) {
	t.Helper()
	r := runInProcess(t, "--config", cfg, "--db", db, "status", "--json")
	r.mustCode(t, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw[field]; !ok {
		t.Fatalf("status --json lacks %q:\n%s", field, r.stdout)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	r = runInProcess(t, "--config", cfg, "--db", db, "status")
	r.mustCode(t, exitOK)
	for _, want := range []string{header, line} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runInProcess(t, "--config", cfg, "--db", db, "check", "--json")
	found := findingOf(checkJSON(t, r), "bitrix.duplicates")
	if len(found) != 1 || found[0].Status != checkWarn || !strings.Contains(found[0].Detail, line) || !strings.Contains(found[0].Fix, "oldest") {
		t.Errorf("check's duplicates finding %+v, want a warning with %q that says to use the oldest\n%s", found, line, r.stdout)
	}
	return raw, rep
}
