package bitrixtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reply is one decoded reply of the fake.
type reply struct {
	status int
	body   map[string]any
}

func (a reply) result() any { return a.body["result"] }

func (a reply) errText() string {
	if _, ok := a.body["error"]; !ok {
		return ""
	}
	return fmt.Sprintf("%v: %v", a.body["error"], a.body["error_description"])
}

// call posts a JSON body and decodes the reply keeping numbers' text.
func call(t *testing.T, s *Server, method string, params map[string]any) reply {
	t.Helper()
	status, raw := postRaw(t, s, method, params)
	m, err := decodeJSONObject(raw)
	if err != nil {
		t.Fatalf("%s: %v: %s", method, err, raw)
	}
	return reply{status, m}
}

func mustOK(t *testing.T, a reply) any {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.errText())
	}
	return a.result()
}

func rowsOf(t *testing.T, s *Server, kind string, id int64) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range List(mustOK(t, call(t, s, "crm."+kind+".productrows.get", map[string]any{"id": id}))) {
		out = append(out, asMap(r))
	}
	return out
}

func TestProductRowsSetReplacesEveryRow(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	deal := s.SeedDeal(map[string]any{"TITLE": "d"})
	set := func(rows ...any) reply {
		if rows == nil {
			rows = []any{} // null would be no array at all
		}
		return call(t, s, "crm.deal.productrows.set", map[string]any{"id": deal, "rows": rows})
	}
	mustOK(t, set(
		map[string]any{"PRODUCT_NAME": "B", "PRICE": 2, "QUANTITY": 1, "SORT": 20},
		map[string]any{"PRODUCT_NAME": "A", "PRICE": 1, "QUANTITY": 1, "SORT": 10},
	))
	first := rowsOf(t, s, "deal", deal)
	if names := []any{first[0]["PRODUCT_NAME"], first[1]["PRODUCT_NAME"]}; !cmp.Equal(names, []any{"A", "B"}) {
		t.Fatalf("rows not in SORT order: %v", names)
	}
	mustOK(t, set(map[string]any{"PRODUCT_NAME": "C", "PRICE": 3, "QUANTITY": 2}))
	second := rowsOf(t, s, "deal", deal)
	if len(second) != 1 || second[0]["PRODUCT_NAME"] != "C" {
		t.Fatalf("after a second set: %v, want only C", second)
	}
	if second[0]["ID"] == first[0]["ID"] || second[0]["ID"] == first[1]["ID"] {
		t.Errorf("a replaced row kept an old id: %v", second[0]["ID"])
	}
	if second[0]["OWNER_ID"] != fmt.Sprint(deal) || second[0]["OWNER_TYPE"] != "D" {
		t.Errorf("owner %v %v", second[0]["OWNER_ID"], second[0]["OWNER_TYPE"])
	}
	// A lead has its own rows, owner type L.
	lead := s.SeedLead(map[string]any{"TITLE": "l"})
	mustOK(t, call(t, s, "crm.lead.productrows.set", map[string]any{"id": lead, "rows": []any{map[string]any{"PRODUCT_NAME": "L1", "PRICE": 5}}}))
	if lr := rowsOf(t, s, "lead", lead); len(lr) != 1 || lr[0]["OWNER_TYPE"] != "L" || lr[0]["QUANTITY"] != json.Number("1") {
		t.Errorf("lead rows %v (quantity defaults to 1)", lr)
	}
	if got := s.ProductRows("deal", deal); len(got) != 1 {
		t.Errorf("the lead's set touched the deal: %v", got)
	}
	// An empty list (JSON) clears them.
	mustOK(t, set())
	if got := rowsOf(t, s, "deal", deal); len(got) != 0 {
		t.Errorf("after an empty set: %v", got)
	}
}

func TestProductRowsComputedPrices(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	deal := s.SeedDeal(nil)
	for _, tc := range []struct {
		name string
		row  map[string]any
		want map[string]any
	}{
		{"docs example: 10% off 999", map[string]any{"PRICE": 899.1, "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 10},
			map[string]any{"PRICE_EXCLUSIVE": "899.1", "PRICE_NETTO": "999", "PRICE_BRUTTO": "999", "DISCOUNT_SUM": "99.9", "DISCOUNT_RATE": "10", "TAX_RATE": nil}},
		{"absolute discount gives the rate", map[string]any{"PRICE": 90, "DISCOUNT_TYPE_ID": 1, "DISCOUNT_SUM": 10},
			map[string]any{"PRICE_EXCLUSIVE": "90", "PRICE_NETTO": "100", "DISCOUNT_RATE": "10", "DISCOUNT_SUM": "10", "DISCOUNT_TYPE_ID": "1"}},
		{"tax included", map[string]any{"PRICE": 120, "TAX_RATE": 20, "TAX_INCLUDED": "Y"},
			map[string]any{"PRICE_EXCLUSIVE": "100", "PRICE_NETTO": "100", "PRICE_BRUTTO": "120", "TAX_RATE": "20", "TAX_INCLUDED": "Y", "DISCOUNT_TYPE_ID": "2"}},
		{"defaults", map[string]any{"PRODUCT_NAME": "x"},
			map[string]any{"PRICE": "0", "QUANTITY": "1", "DISCOUNT_TYPE_ID": "2", "DISCOUNT_RATE": "0", "TAX_INCLUDED": "N", "MEASURE_CODE": "0", "MEASURE_NAME": "", "SORT": "0"}},
	} {
		mustOK(t, call(t, s, "crm.deal.productrows.set", map[string]any{"id": deal, "rows": []any{tc.row}}))
		got := rowsOf(t, s, "deal", deal)[0]
		for k, w := range tc.want {
			g := got[k]
			if n, isNum := g.(json.Number); isNum {
				g = n.String()
			}
			if g != w {
				t.Errorf("%s: %s = %#v, want %#v", tc.name, k, got[k], w)
			}
		}
	}
}

func TestProductRowsNames(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	pid := s.SeedProduct(CatalogProduct{IBlockID: 23, Name: "Catalogue tea", XMLID: "tea-1", MeasureCode: 166, MeasureName: "kg", Measure: 7})
	deal := s.SeedDeal(nil)
	mustOK(t, call(t, s, "crm.deal.productrows.set", map[string]any{"id": deal, "rows": []any{
		map[string]any{"PRICE": 1, "SORT": 1},
		map[string]any{"PRODUCT_ID": pid, "PRICE": 1, "SORT": 2},
		map[string]any{"PRODUCT_ID": pid, "PRODUCT_NAME": "Tea (own name)", "MEASURE_CODE": 796, "MEASURE_NAME": "pcs", "SORT": 3},
	}}))
	rows := rowsOf(t, s, "deal", deal)
	if want := "[" + rows[0]["ID"].(string) + "]"; rows[0]["PRODUCT_NAME"] != want || rows[0]["PRODUCT_ID"] != json.Number("0") {
		t.Errorf("a row without product and name: %v %v, want %s", rows[0]["PRODUCT_NAME"], rows[0]["PRODUCT_ID"], want)
	}
	if rows[1]["PRODUCT_NAME"] != "Catalogue tea" || rows[1]["MEASURE_NAME"] != "kg" || rows[1]["MEASURE_CODE"] != json.Number("166") {
		t.Errorf("a catalogue row takes name and measure from the product: %v", rows[1])
	}
	if rows[2]["PRODUCT_NAME"] != "Tea (own name)" || rows[2]["ORIGINAL_PRODUCT_NAME"] != "Catalogue tea" || rows[2]["MEASURE_NAME"] != "pcs" {
		t.Errorf("given name and measure win: %v", rows[2])
	}
}

func TestProductRowsRefusedLeaveRowsAlone(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	deal := s.SeedDeal(nil)
	mustOK(t, call(t, s, "crm.deal.productrows.set", map[string]any{"id": deal, "rows": []any{map[string]any{"PRODUCT_NAME": "kept", "PRICE": 5}}}))
	good := map[string]any{"PRODUCT_NAME": "ok", "PRICE": 1}
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"type 2 without rate", map[string]any{"id": deal, "rows": []any{good, map[string]any{"PRODUCT_NAME": "x", "DISCOUNT_TYPE_ID": 2}}},
			"ERROR_CORE: Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined<br>"},
		{"type 1 without sum", map[string]any{"id": deal, "rows": []any{map[string]any{"PRODUCT_NAME": "x", "DISCOUNT_TYPE_ID": 1, "DISCOUNT_RATE": 5}}},
			"ERROR_CORE: Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type (DISCOUNT_TYPE_ID) is defined<br>"},
		{"100% without sum", map[string]any{"id": deal, "rows": []any{map[string]any{"PRODUCT_NAME": "x", "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 100}}},
			"ERROR_CORE: Discount Sum (DISCOUNT_SUM) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined and Discount Rate (DISCOUNT_RATE) is 100%<br>"},
		{"unknown product", map[string]any{"id": deal, "rows": []any{map[string]any{"PRODUCT_ID": 99999}}},
			"ERROR_CORE: bitrixtest: product 99999 is not in the catalogue<br>"},
		{"rows missing", map[string]any{"id": deal}, ": The parameter rows must be array."},
		{"rows not a list", map[string]any{"id": deal, "rows": "x"}, ": The parameter rows must be array."},
		{"no id", map[string]any{"rows": []any{good}}, ": The parameter id is invalid or not defined."},
		{"no such deal", map[string]any{"id": 777, "rows": []any{good}}, ": Not found."},
	} {
		a := call(t, s, "crm.deal.productrows.set", tc.params)
		if a.status != 400 || a.errText() != tc.want {
			t.Errorf("%s: %d %q, want 400 %q", tc.name, a.status, a.errText(), tc.want)
		}
	}
	if rows := s.ProductRows("deal", deal); len(rows) != 1 || rows[0].ProductName != "kept" {
		t.Errorf("a refused set changed the rows: %+v", rows)
	}
	// In a batch an empty list of rows vanishes from the query string, so
	// the command has no rows at all and is refused.
	a := call(t, s, "batch", map[string]any{"halt": 0, "cmd": map[string]any{"c0": fmt.Sprintf("crm.deal.productrows.set?id=%d", deal)}})
	errs := asMap(asMap(mustOK(t, a))["result_error"])
	if got := Str(asMap(errs["c0"])["error_description"]); got != "The parameter rows must be array." {
		t.Errorf("batch without rows: %v", errs)
	}
}

func TestOpportunityFollowsRowsUnlessManual(t *testing.T) {
	t.Parallel()
	rows := []any{
		map[string]any{"PRODUCT_NAME": "a", "PRICE": 10.5, "QUANTITY": 3},
		map[string]any{"PRODUCT_NAME": "b", "PRICE": 0.1, "QUANTITY": 0.3},
	}
	for _, tc := range []struct {
		name   string
		deal   map[string]any
		rows   []any
		update map[string]any // after the set
		want   string
	}{
		{"automatic: the rows' total", map[string]any{"OPPORTUNITY": 999}, rows, nil, "31.53"},
		{"manual: kept", map[string]any{"OPPORTUNITY": 999, "IS_MANUAL_OPPORTUNITY": "Y"}, rows, nil, "999.00"},
		{"automatic: a written amount is replaced", nil, rows, map[string]any{"OPPORTUNITY": 5}, "31.53"},
		{"manual: a written amount stays", map[string]any{"IS_MANUAL_OPPORTUNITY": "Y"}, rows, map[string]any{"OPPORTUNITY": 5}, "5.00"},
		{"manual switched off: recomputed", map[string]any{"OPPORTUNITY": 999, "IS_MANUAL_OPPORTUNITY": "Y"}, rows,
			map[string]any{"IS_MANUAL_OPPORTUNITY": "N"}, "31.53"},
		{"automatic, rows cleared: 0", map[string]any{"OPPORTUNITY": 999}, []any{}, nil, "0.00"},
	} {
		s := New(t, Options{Unlimited: true})
		deal := s.SeedDeal(tc.deal)
		mustOK(t, call(t, s, "crm.deal.productrows.set", map[string]any{"id": deal, "rows": tc.rows}))
		if tc.update != nil {
			mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": tc.update}))
		}
		got := asMap(mustOK(t, call(t, s, "crm.deal.get", map[string]any{"id": deal})))["OPPORTUNITY"]
		if got != tc.want {
			t.Errorf("%s: OPPORTUNITY %v, want %s", tc.name, got, tc.want)
		}
	}
	// A lead's amount follows its rows the same way.
	s := New(t, Options{Unlimited: true})
	lead := s.SeedLead(map[string]any{"OPPORTUNITY": 1})
	mustOK(t, call(t, s, "crm.lead.productrows.set", map[string]any{"id": lead, "rows": rows}))
	if l, _ := s.Lead(lead); l.Str("OPPORTUNITY") != "31.53" {
		t.Errorf("lead OPPORTUNITY %q", l.Str("OPPORTUNITY"))
	}
}

func TestDealDatesDefaultAndForm(t *testing.T) {
	t.Parallel()
	msk := time.FixedZone("MSK", 3*3600)
	clock := NewClock(time.Date(2026, 12, 6, 23, 30, 0, 0, msk)) // 20:30 UTC: the server's day is the 6th
	s := NewServer(Options{Unlimited: true, Now: clock.Now})
	defer s.Close()
	deal := asMap(mustOK(t, call(t, s, "crm.deal.get", map[string]any{"id": mustOK(t, call(t, s, "crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "x"}}))})))
	// Midnight UTC of the day, in the server's offset, as the docs' answers show.
	if deal["BEGINDATE"] != "2026-12-06T03:00:00+03:00" || deal["CLOSEDATE"] != "2026-12-13T03:00:00+03:00" {
		t.Errorf("defaults %v %v, want the creation day and 7 days later", deal["BEGINDATE"], deal["CLOSEDATE"])
	}
	// The default CLOSEDATE is the creation day + 7, not BEGINDATE + 7.
	id := mustOK(t, call(t, s, "crm.deal.add", map[string]any{"fields": map[string]any{"BEGINDATE": "2025-03-01"}}))
	r, _ := s.Deal(mustInt(t, id))
	if r.Day("BEGINDATE") != "2025-03-01" || r.Day("CLOSEDATE") != "2026-12-13" {
		t.Errorf("BEGINDATE given: %s %s", r.Day("BEGINDATE"), r.Day("CLOSEDATE"))
	}
	for _, tc := range []struct{ in, want string }{
		{"2026-01-31", "2026-01-31"},
		{"2026-01-31T23:30:00+03:00", "2026-01-31"},
		{"2026-01-31T22:30:00Z", "2026-02-01"}, // the server's (MSK) day
	} {
		mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": id, "fields": map[string]any{"CLOSEDATE": tc.in}}))
		if r, _ := s.Deal(mustInt(t, id)); r.Day("CLOSEDATE") != tc.want || !strings.HasSuffix(r.Str("CLOSEDATE"), "T03:00:00+03:00") {
			t.Errorf("CLOSEDATE %q stored as %q (%s), want day %s", tc.in, r.Str("CLOSEDATE"), r.Day("CLOSEDATE"), tc.want)
		}
	}
	if got := s.BadTimes(); len(got) != 0 {
		t.Fatalf("documented forms recorded: %v", got)
	}
	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": id, "fields": map[string]any{"CLOSEDATE": "31.01.2026"}}))
	if r, _ := s.Deal(mustInt(t, id)); r.Day("CLOSEDATE") != "2026-02-01" {
		t.Errorf("a value that is no date changed the field: %s", r.Day("CLOSEDATE"))
	}
	if got := s.BadTimes(); len(got) != 1 || got[0].Field != "CLOSEDATE" || !strings.Contains(got[0].String(), "is not YYYY-MM-DD") {
		t.Errorf("bad date not recorded: %v", got)
	}
	// The field list says they are dates.
	fields := asMap(mustOK(t, call(t, s, "crm.deal.fields", nil)))
	if typ := asMap(fields["BEGINDATE"])["type"]; typ != "date" {
		t.Errorf("BEGINDATE type %v", typ)
	}
}

func mustInt(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := intParam(v)
	if !ok {
		t.Fatalf("%v is not an id", v)
	}
	return n
}

func TestUTMFieldsOnDealsAndLeads(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	utm := map[string]any{"UTM_SOURCE": "google", "UTM_MEDIUM": "cpc", "UTM_CAMPAIGN": "spring", "UTM_CONTENT": "banner", "UTM_TERM": "tea"}
	for _, kind := range []string{"deal", "lead"} {
		id := mustOK(t, call(t, s, "crm."+kind+".add", map[string]any{"fields": utm}))
		got := asMap(mustOK(t, call(t, s, "crm."+kind+".get", map[string]any{"id": id})))
		for k, v := range utm {
			if got[k] != v {
				t.Errorf("%s %s = %v, want %v", kind, k, got[k], v)
			}
		}
		mustOK(t, call(t, s, "crm."+kind+".update", map[string]any{"id": id, "fields": map[string]any{"UTM_TERM": "coffee"}}))
		if got := asMap(mustOK(t, call(t, s, "crm."+kind+".get", map[string]any{"id": id}))); got["UTM_TERM"] != "coffee" || got["UTM_SOURCE"] != "google" {
			t.Errorf("%s after update: %v %v", kind, got["UTM_TERM"], got["UTM_SOURCE"])
		}
	}
}

func TestCatalogueLookupAndPaging(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true, Scopes: append(DefaultScopes(), "catalog")})
	s.SeedCatalog(24, "offers", 23)
	var want []string
	for i := range 120 {
		s.SeedProduct(CatalogProduct{IBlockID: 23, Name: fmt.Sprint("p", i), XMLID: fmt.Sprint("x", i%60)}) // each code twice
		if i%60 < 3 {
			want = append(want, fmt.Sprint("p", i))
		}
	}
	s.SeedProduct(CatalogProduct{IBlockID: 24, Name: "offer", XMLID: "x1"})
	sel := []any{"id", "iblockId", "name", "xmlId"}
	list := func(filter map[string]any, start int) reply {
		return call(t, s, "catalog.product.list", map[string]any{"select": sel, "filter": filter, "start": start})
	}
	names := func(a reply) []string {
		var out []string
		for _, p := range List(asMap(mustOK(t, a))["products"]) {
			out = append(out, Str(asMap(p)["name"]))
		}
		return out
	}
	got := names(list(map[string]any{"iblockId": 23, "xmlId": []any{"x0", "x1", "x2", "nope"}}, 0))
	slices.Sort(got)
	slices.Sort(want)
	if !cmp.Equal(got, want) {
		t.Errorf("xmlId IN: %v, want %v (the offer of iblock 24 excluded)", got, want)
	}
	// 120 products: pages of 50 with total and next.
	p1 := list(map[string]any{"iblockId": 23}, 0)
	if len(names(p1)) != 50 || p1.body["total"] != json.Number("120") || p1.body["next"] != json.Number("50") {
		t.Errorf("first page: %d rows, total %v, next %v", len(names(p1)), p1.body["total"], p1.body["next"])
	}
	p3 := list(map[string]any{"iblockId": 23}, 100)
	if len(names(p3)) != 20 || p3.body["next"] != nil {
		t.Errorf("last page: %d rows, next %v", len(names(p3)), p3.body["next"])
	}
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"no iblockId", map[string]any{"select": sel, "filter": map[string]any{"xmlId": "x1"}}, "0: Required filter fields: iblockId"},
		{"select without iblockId", map[string]any{"select": []any{"id", "name"}, "filter": map[string]any{"iblockId": 23}}, "0: Required select fields: id, iblockId"},
		{"@ prefix", map[string]any{"select": sel, "filter": map[string]any{"iblockId": 23, "@xmlId": []any{"x1"}}},
			"0: bitrixtest: filter prefix @ is not documented for catalog.product.list; give an array to xmlId"},
	} {
		if a := call(t, s, "catalog.product.list", tc.params); a.status != 400 || a.errText() != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.name, a.status, a.errText(), tc.want)
		}
	}
	cats := List(asMap(mustOK(t, call(t, s, "catalog.catalog.list", nil)))["catalogs"])
	if len(cats) != 2 || asMap(cats[1])["productIblockId"] != json.Number("23") {
		t.Errorf("catalogs %v", cats)
	}
	// Without the catalog scope the webhook may not read the catalogue.
	plain := New(t, Options{Unlimited: true})
	if a := call(t, plain, "catalog.product.list", map[string]any{"select": sel, "filter": map[string]any{"iblockId": 23}}); a.status != 401 ||
		!strings.HasPrefix(a.errText(), "insufficient_scope") {
		t.Errorf("without the catalog scope: %d %s", a.status, a.errText())
	}
}

func TestEnumerationFields(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{Unlimited: true})
	defer s.Close()
	id := mustOK(t, call(t, s, "crm.deal.userfield.add", map[string]any{"fields": map[string]any{
		"FIELD_NAME": "PAYMENT", "USER_TYPE_ID": "enumeration", "LIST": []any{
			map[string]any{"VALUE": "Cash", "SORT": 20},
			map[string]any{"VALUE": "Card", "SORT": 10, "XML_ID": "card"},
			map[string]any{"VALUE": ""}, // ignored
		}}}))
	if mustInt(t, id) <= 0 {
		t.Fatal("no field id")
	}
	ufs := List(mustOK(t, call(t, s, "crm.deal.userfield.list", map[string]any{"filter": map[string]any{"FIELD_NAME": "UF_CRM_PAYMENT"}})))
	items := List(asMap(ufs[0])["LIST"])
	if len(items) != 2 || asMap(items[0])["VALUE"] != "Card" || asMap(items[0])["XML_ID"] != "card" || asMap(items[1])["VALUE"] != "Cash" {
		t.Fatalf("LIST %v", items)
	}
	card, cash := Str(asMap(items[0])["ID"]), Str(asMap(items[1])["ID"])
	fields := asMap(mustOK(t, call(t, s, "crm.deal.fields", nil)))
	want := []any{map[string]any{"ID": card, "VALUE": "Card"}, map[string]any{"ID": cash, "VALUE": "Cash"}}
	if d := cmp.Diff(want, asMap(fields["UF_CRM_PAYMENT"])["items"]); d != "" || asMap(fields["UF_CRM_PAYMENT"])["type"] != "enumeration" {
		t.Errorf("crm.deal.fields items: %s", d)
	}
	deal := s.SeedDeal(nil)
	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"UF_CRM_PAYMENT": cash}}))
	if d, _ := s.Deal(deal); d.Str("UF_CRM_PAYMENT") != cash {
		t.Errorf("stored %q, want item %s", d.Str("UF_CRM_PAYMENT"), cash)
	}
	if bad := s.BadEnumValues(); len(bad) != 0 {
		t.Fatalf("an item id recorded as bad: %v", bad)
	}
	// The item's text, or an id of no item, is recorded (New fails the test).
	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"UF_CRM_PAYMENT": "Cash"}}))
	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"UF_CRM_PAYMENT": 1}}))
	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"UF_CRM_PAYMENT": ""}}))
	bad := s.BadEnumValues()
	if len(bad) != 2 || bad[0].Value != "Cash" || bad[1].Value != "1" || bad[0].Method != "crm.deal.update" {
		t.Errorf("bad values %v", bad)
	}
	// Seeding: items get ids in order; a multiple field takes a list.
	_, ids := s.SeedEnumField("CRM_DEAL", "UF_CRM_TAGS", true, "a", "b")
	mustOK(t, call(t, s, "crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"UF_CRM_TAGS": ids}}))
	if d, _ := s.Deal(deal); !cmp.Equal(d.Fields["UF_CRM_TAGS"], []any{fmt.Sprint(ids[0]), fmt.Sprint(ids[1])}) {
		t.Errorf("multiple list field %v", d.Fields["UF_CRM_TAGS"])
	}
	rec := &recorder{}
	s2 := New(rec, Options{Unlimited: true})
	s2.SeedEnumField("CRM_DEAL", "UF_CRM_X", false, "a")
	call(t, s2, "crm.deal.update", map[string]any{"id": s2.SeedDeal(nil), "fields": map[string]any{"UF_CRM_X": "a"}})
	for i := len(rec.cleanups) - 1; i >= 0; i-- {
		rec.cleanups[i]()
	}
	if len(rec.errs) != 1 {
		t.Errorf("New reported %d errors, want 1", len(rec.errs))
	}
}
