package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestCheckDealContent: check verifies mapping.paid_field exists, that
// each target of mapping.values is an item id of its list field (naming
// the wrong ones and the ids to use), the catalog scope and the catalogue
// that rows are matched in.
func TestCheckDealContent(t *testing.T) {
	t.Parallel()
	scopes := append(bitrixtest.DefaultScopes(), "catalog")
	f := newFakes(t, retailcrmtest.Options{}, bitrixtest.Options{Scopes: scopes})
	_, items := f.bx.SeedEnumField("CRM_DEAL", "UF_CRM_DELIVERY", false, "Курьер", "Самовывоз")
	f.bx.SeedUserField("CRM_DEAL", "UF_CRM_PAID", "string", false)
	f.bx.SeedCatalog(14, "Товары", 0)
	good := itoa(items[0])
	content := func(target, paid string, iblock int) string {
		return fullMapping + "  deal_fields: {UF_CRM_DELIVERY: delivery.code}\n" +
			"  values: {UF_CRM_DELIVERY: {courier: \"" + good + "\", self-delivery: \"" + target + "\"}}\n" +
			"  paid_field: " + paid + "\n  products: {match: external_id, iblock_id: " + strconv.Itoa(iblock) + "}\n"
	}
	dir := t.TempDir()

	r := runInProcess(t, "--config", writeConfig(t, dir, f.config(content(itoa(items[1]), "UF_CRM_PAID", 14))), "check", "--json")
	r.mustCode(t, exitOK)
	rep := checkJSON(t, r)
	for _, c := range []string{"mapping.values.UF_CRM_DELIVERY", "mapping.paid_field", "mapping.products"} {
		if fs := findingOf(rep, c); len(fs) != 1 || fs[0].Status != checkOK {
			t.Errorf("%s: %+v", c, fs)
		}
	}

	// A text instead of an item id, a missing paid field, the catalogues
	// listed (iblock_id 0).
	r = runInProcess(t, "--config", writeConfig(t, dir, f.config(content("Самовывоз", "UF_CRM_IS_PAID", 0))), "check", "--json")
	r.mustCode(t, exitConfig)
	rep = checkJSON(t, r)
	if fs := findingOf(rep, "mapping.values.UF_CRM_DELIVERY"); len(fs) != 1 || fs[0].Status != checkFail ||
		!strings.Contains(fs[0].Detail, "self-delivery → Самовывоз") || !strings.Contains(fs[0].Fix, itoa(items[1])+` = "Самовывоз"`) {
		t.Errorf("values: %+v", fs)
	}
	if fs := findingOf(rep, "mapping.paid_field"); len(fs) != 1 || fs[0].Status != checkFail || !strings.Contains(fs[0].Detail, "UF_CRM_IS_PAID") {
		t.Errorf("paid field: %+v", fs)
	}
	if fs := findingOf(rep, "mapping.products"); len(fs) != 1 || fs[0].Status != checkOK || !strings.Contains(fs[0].Detail, "14 (Товары)") {
		t.Errorf("products: %+v", fs)
	}

	// Without the catalog scope.
	f2 := defaultFakes(t)
	f2.bx.SeedEnumField("CRM_DEAL", "UF_CRM_DELIVERY", false, "Курьер", "Самовывоз")
	r = runInProcess(t, "--config", writeConfig(t, t.TempDir(), f2.config(fullMapping+"  products: {match: external_id, iblock_id: 14}\n")), "check", "--json")
	r.mustCode(t, exitConfig)
	rep = checkJSON(t, r)
	if fs := findingOf(rep, "bitrix.scopes"); len(fs) != 1 || fs[0].Status != checkFail || !strings.Contains(fs[0].Detail, "catalog") {
		t.Errorf("scopes: %+v", fs)
	}
}

// TestCheckListFieldsNeedValues: a list (enumeration) field stores its
// items' ids, so a mapped field or mapping.paid_field that is one needs a
// mapping.values table whose targets are those ids; without one, crmsync
// would write order codes (or Y/N) the field has no item for. check says
// so, naming the ids to use; a paid field's table must translate both Y
// and N.
func TestCheckListFieldsNeedValues(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	_, delivery := f.bx.SeedEnumField("CRM_DEAL", "UF_CRM_DELIVERY", false, "Курьер", "Самовывоз")
	_, paid := f.bx.SeedEnumField("CRM_DEAL", "UF_CRM_PAID", false, "Да", "Нет")
	f.bx.SeedUserField("CRM_DEAL", "UF_CRM_NOTE", "string", false)
	dir := t.TempDir()
	check := func(extra string) checkReport {
		t.Helper()
		r := runInProcess(t, "--config", writeConfig(t, dir, f.config(fullMapping+extra)), "check", "--json")
		return checkJSON(t, r)
	}

	rep := check("  deal_fields: {UF_CRM_DELIVERY: delivery.code, UF_CRM_NOTE: customerComment}\n  paid_field: UF_CRM_PAID\n")
	if fs := findingOf(rep, "mapping.values.UF_CRM_DELIVERY"); len(fs) != 1 || fs[0].Status != checkFail ||
		!strings.Contains(fs[0].Detail, "list field") || !strings.Contains(fs[0].Fix, itoa(delivery[0])+` = "Курьер"`) {
		t.Errorf("list field without values: %+v", fs)
	}
	if fs := findingOf(rep, "mapping.values.UF_CRM_PAID"); len(fs) != 1 || fs[0].Status != checkFail ||
		!strings.Contains(fs[0].Fix, itoa(paid[1])+` = "Нет"`) {
		t.Errorf("list paid field without values: %+v", fs)
	}
	if fs := findingOf(rep, "mapping.values.UF_CRM_NOTE"); len(fs) != 0 {
		t.Errorf("a string field needs no values: %+v", fs)
	}

	// A paid field's table without N leaves unpaid orders unmarked.
	rep = check("  paid_field: UF_CRM_PAID\n  values: {UF_CRM_PAID: {\"Y\": \"" + itoa(paid[0]) + "\"}}\n")
	if fs := findingOf(rep, "mapping.values.UF_CRM_PAID"); len(fs) != 1 || fs[0].Status != checkFail || !strings.Contains(fs[0].Detail, "N") {
		t.Errorf("paid field's table without N: %+v", fs)
	}

	// Both translated: fine.
	rep = check("  deal_fields: {UF_CRM_DELIVERY: delivery.code}\n  paid_field: UF_CRM_PAID\n" +
		"  values: {UF_CRM_PAID: {\"Y\": \"" + itoa(paid[0]) + "\", \"N\": \"" + itoa(paid[1]) + "\"}, " +
		"UF_CRM_DELIVERY: {courier: \"" + itoa(delivery[0]) + "\"}}\n")
	for _, c := range []string{"mapping.values.UF_CRM_DELIVERY", "mapping.values.UF_CRM_PAID"} {
		if fs := findingOf(rep, c); len(fs) != 1 || fs[0].Status != checkOK {
			t.Errorf("%s: %+v", c, fs)
		}
	}
}
