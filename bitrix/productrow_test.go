package bitrix_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func decp(s string) *decimal.Decimal { d := dec(s); return &d }

func TestProductRowsSetCmdQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		e    bitrix.Entity
		row  bitrix.ProductRow
		want string
	}{
		{"free-text row with absolute discount and tax", bitrix.EntityDeal,
			bitrix.ProductRow{ProductName: "Tea & co", Price: dec("899.10"), Quantity: dec("2"), DiscountType: bitrix.DiscountAbsolute,
				DiscountSum: dec("100.0"), TaxRate: decp("20"), TaxIncluded: true, MeasureCode: 796, MeasureName: "pcs", Sort: 10},
			"crm.deal.productrows.set?id=7&rows[0][DISCOUNT_SUM]=100&rows[0][DISCOUNT_TYPE_ID]=1&rows[0][MEASURE_CODE]=796&" +
				"rows[0][MEASURE_NAME]=pcs&rows[0][PRICE]=899.1&rows[0][PRODUCT_ID]=0&rows[0][PRODUCT_NAME]=Tea+%26+co&" +
				"rows[0][QUANTITY]=2&rows[0][SORT]=10&rows[0][TAX_INCLUDED]=Y&rows[0][TAX_RATE]=20"},
		{"catalogue row, percent discount, no tax, exact small quantity", bitrix.EntityLead,
			bitrix.ProductRow{ProductID: 1243, Price: dec("0.1"), Quantity: dec("0.013"), DiscountType: bitrix.DiscountPercent, DiscountRate: dec("12.5")},
			"crm.lead.productrows.set?id=7&rows[0][DISCOUNT_RATE]=12.5&rows[0][DISCOUNT_TYPE_ID]=2&rows[0][PRICE]=0.1&" +
				"rows[0][PRODUCT_ID]=1243&rows[0][QUANTITY]=0.013&rows[0][SORT]=0&rows[0][TAX_INCLUDED]=N"},
		{"100% off sends the sum too", bitrix.EntityDeal,
			bitrix.ProductRow{ProductName: "Gift", Price: dec("0"), Quantity: dec("1"), DiscountType: bitrix.DiscountPercent,
				DiscountRate: dec("100"), DiscountSum: dec("15")},
			"crm.deal.productrows.set?id=7&rows[0][DISCOUNT_RATE]=100&rows[0][DISCOUNT_SUM]=15&rows[0][DISCOUNT_TYPE_ID]=2&" +
				"rows[0][PRICE]=0&rows[0][PRODUCT_ID]=0&rows[0][PRODUCT_NAME]=Gift&rows[0][QUANTITY]=1&rows[0][SORT]=0&rows[0][TAX_INCLUDED]=N"},
		{"no discount type: no discount fields", bitrix.EntityDeal,
			bitrix.ProductRow{ProductName: "Plain", Price: dec("1"), Quantity: dec("1")},
			"crm.deal.productrows.set?id=7&rows[0][PRICE]=1&rows[0][PRODUCT_ID]=0&rows[0][PRODUCT_NAME]=Plain&rows[0][QUANTITY]=1&" +
				"rows[0][SORT]=0&rows[0][TAX_INCLUDED]=N"},
	} {
		cmd, err := bitrix.ProductRowsSetCmd(tc.e, 7, []bitrix.ProductRow{tc.row})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		q, err := cmd.Query()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.NewReplacer("%5B", "[", "%5D", "]").Replace(q); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		// As a JSON body, money and quantities are numbers, not strings.
		b, _ := json.Marshal(cmd.Params)
		if !strings.Contains(string(b), `"PRICE":`+tc.row.Price.String()) {
			t.Errorf("%s: JSON body %s", tc.name, b)
		}
	}
	if got := bitrix.ProductRowsGetCmd(bitrix.EntityLead, 9); got.Method != "crm.lead.productrows.get" || got.Params["id"] != bitrix.ID(9) {
		t.Errorf("get cmd %+v", got)
	}
}

func TestProductRowsSetCmdRefusesBadRows(t *testing.T) {
	t.Parallel()
	ok := bitrix.ProductRow{ProductName: "ok", Price: dec("1"), Quantity: dec("1")}
	for _, tc := range []struct {
		name string
		e    bitrix.Entity
		id   bitrix.ID
		rows []bitrix.ProductRow
		want string
	}{
		{"no name, no product", bitrix.EntityDeal, 1, []bitrix.ProductRow{ok, {Price: dec("1"), Quantity: dec("1")}}, `row 2 (""): bitrix: bad request: no PRODUCT_NAME for a free-text row`},
		{"zero quantity", bitrix.EntityDeal, 1, []bitrix.ProductRow{{ProductName: "a", Quantity: dec("0")}}, `row 1 ("a"): bitrix: bad request: QUANTITY 0 is not positive`},
		{"negative price", bitrix.EntityDeal, 1, []bitrix.ProductRow{{ProductName: "a", Quantity: dec("1"), Price: dec("-1")}}, "negative PRICE -1"},
		{"rate above 100", bitrix.EntityDeal, 1, []bitrix.ProductRow{{ProductName: "a", Quantity: dec("1"), DiscountType: bitrix.DiscountPercent, DiscountRate: dec("101")}}, "DISCOUNT_RATE 101 is not within 0..100"},
		{"unknown discount type", bitrix.EntityDeal, 1, []bitrix.ProductRow{{ProductName: "a", Quantity: dec("1"), DiscountType: 3}}, "DISCOUNT_TYPE_ID 3 is neither"},
		{"negative tax", bitrix.EntityDeal, 1, []bitrix.ProductRow{{ProductName: "a", Quantity: dec("1"), TaxRate: decp("-1")}}, "negative TAX_RATE -1"},
		{"contacts have no rows", bitrix.EntityContact, 1, []bitrix.ProductRow{ok}, "crm.contact has no productrows methods"},
		{"no id", bitrix.EntityDeal, 0, []bitrix.ProductRow{ok}, "id 0"},
		{"empty list in a batch", bitrix.EntityDeal, 1, nil, "a batch query cannot carry an empty list"},
	} {
		_, err := bitrix.ProductRowsSetCmd(tc.e, tc.id, tc.rows)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, bitrix.ErrBadRequest) {
			t.Errorf("%s: err %v, want ErrBadRequest with %q", tc.name, err, tc.want)
		}
	}
}

func TestProductRowsHash(t *testing.T) {
	t.Parallel()
	a := bitrix.ProductRow{ProductName: "A", Price: dec("10.50"), Quantity: dec("1.000"), DiscountType: bitrix.DiscountAbsolute, DiscountSum: dec("0.50"), TaxRate: decp("20.0"), TaxIncluded: true, Sort: 10}
	aSame := bitrix.ProductRow{ProductName: "A", Price: dec("10.5"), Quantity: dec("1"), DiscountType: bitrix.DiscountAbsolute, DiscountSum: dec("0.5"), TaxRate: decp("20"), TaxIncluded: true, Sort: 10}
	b := bitrix.ProductRow{ProductName: "B", Price: dec("1"), Quantity: dec("2"), Sort: 20}
	h := bitrix.ProductRowsHash
	base := h([]bitrix.ProductRow{a, b})
	if !strings.HasPrefix(base, bitrix.ProductRowsHashVersion+":") {
		t.Errorf("hash %q has no version", base)
	}
	if h([]bitrix.ProductRow{aSame, b}) != base {
		t.Error("trailing zeros changed the hash")
	}
	if h([]bitrix.ProductRow{b, a}) == base {
		t.Error("the order of rows is content: a reordering must change the hash")
	}
	for name, change := range map[string]func(r *bitrix.ProductRow){
		"price":        func(r *bitrix.ProductRow) { r.Price = dec("10.51") },
		"quantity":     func(r *bitrix.ProductRow) { r.Quantity = dec("2") },
		"name":         func(r *bitrix.ProductRow) { r.ProductName = "a" },
		"discount":     func(r *bitrix.ProductRow) { r.DiscountSum = dec("0.6") },
		"tax dropped":  func(r *bitrix.ProductRow) { r.TaxRate = nil },
		"tax included": func(r *bitrix.ProductRow) { r.TaxIncluded = false },
		"measure":      func(r *bitrix.ProductRow) { r.MeasureName = "kg" },
		"product":      func(r *bitrix.ProductRow) { r.ProductID = 5 },
		"sort":         func(r *bitrix.ProductRow) { r.Sort = 11 },
	} {
		c := a
		change(&c)
		if h([]bitrix.ProductRow{c, b}) == base {
			t.Errorf("changing the %s left the hash alone", name)
		}
	}
	if h(nil) != h([]bitrix.ProductRow{}) || h(nil) == "" || h(nil) == base {
		t.Errorf("no rows: %q", h(nil))
	}
}

func TestDecodeProductRowsFixture(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join(fixtureDir, "crm_deal_productrows_get.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Result json.RawMessage }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	rows, err := bitrix.DecodeProductRows(env.Result)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	for name, c := range map[string][2]decimal.Decimal{
		"PRICE": {r.Price, dec("899.1")}, "PRICE_NETTO": {r.PriceNetto, dec("999")}, "DISCOUNT_SUM": {r.DiscountSum, dec("99.9")},
		"DISCOUNT_RATE": {r.DiscountRate, dec("10")}, "QUANTITY": {r.Quantity, dec("1")},
	} {
		if !c[0].Equal(c[1]) {
			t.Errorf("%s = %s, want %s", name, c[0], c[1])
		}
	}
	if r.ID != 5 || r.OwnerID != 5 || r.OwnerType != "D" || r.ProductID != 450 || r.TaxRate != nil || !r.TaxIncluded ||
		r.MeasureCode != 796 || r.Sort != 10 || r.XMLID != "sale_basket_651" || r.Type != 1 || r.DiscountType != bitrix.DiscountPercent {
		t.Errorf("row %+v", r)
	}
	if _, err := bitrix.DecodeProductRows(json.RawMessage(`[{"PRICE":"abc"}]`)); !errors.Is(err, bitrix.ErrBadResponse) {
		t.Errorf("bad number: %v", err)
	}
	if rows, err := bitrix.DecodeProductRows(json.RawMessage(`[]`)); err != nil || len(rows) != 0 {
		t.Errorf("no rows: %v %v", rows, err)
	}
}

// TestProductRowsAgainstPortal sends rows in a batch, reads them back and
// finds the same content hash, then clears them with a plain call.
func TestProductRowsAgainstPortal(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	ctx := context.Background()
	deal := bitrix.ID(p.srv.SeedDeal(map[string]any{"OPPORTUNITY": 1, "IS_MANUAL_OPPORTUNITY": "Y"}))
	rows := []bitrix.ProductRow{
		{ProductName: "Tea (A-1)", Price: dec("450.00"), Quantity: dec("2"), DiscountType: bitrix.DiscountAbsolute, DiscountSum: dec("50"),
			TaxRate: decp("20"), TaxIncluded: true, MeasureCode: 796, MeasureName: "pcs", Sort: 10},
		{ProductName: "Delivery", Price: dec("300"), Quantity: dec("1"), DiscountType: bitrix.DiscountPercent, DiscountRate: dec("0"),
			TaxIncluded: true, Sort: 20},
	}
	cmd, err := bitrix.ProductRowsSetCmd(bitrix.EntityDeal, deal, rows)
	if err != nil {
		t.Fatal(err)
	}
	b := bitrix.NewBatch(false)
	if err := b.Add("rows", cmd); err != nil {
		t.Fatal(err)
	}
	res, err := p.c.Batch(ctx, b)
	if err != nil || res.Get("rows").Status != bitrix.Done {
		t.Fatalf("batch: %v %+v", err, res.Get("rows"))
	}
	if err := bitrix.DecodeTrue(cmd.Method, res.Get("rows").Result); err != nil {
		t.Fatal(err)
	}
	stored, err := p.c.ProductRows(ctx, bitrix.EntityDeal, deal)
	if err != nil {
		t.Fatal(err)
	}
	back := make([]bitrix.ProductRow, len(stored))
	for i, s := range stored {
		back[i] = s.Row()
	}
	if bitrix.ProductRowsHash(back) != bitrix.ProductRowsHash(rows) {
		t.Errorf("read back rows hash differently:\n%+v\n%+v", back, rows)
	}
	if d, _ := p.srv.Deal(int64(deal)); d.Str("OPPORTUNITY") != "1.00" {
		t.Errorf("manual OPPORTUNITY changed to %s", d.Str("OPPORTUNITY"))
	}
	if err := p.c.SetProductRows(ctx, bitrix.EntityDeal, deal, nil); err != nil {
		t.Fatalf("clearing: %v", err)
	}
	if left := p.srv.ProductRows("deal", int64(deal)); len(left) != 0 {
		t.Errorf("rows left after clearing: %v", left)
	}
	if err := p.c.SetProductRows(ctx, bitrix.EntityDeal, 999, rows); !errors.Is(err, bitrix.ErrNotFound) {
		t.Errorf("missing deal: %v", err)
	}
}

func TestCatalogProductLookupCmds(t *testing.T) {
	t.Parallel()
	var codes []string
	for i := range 120 {
		codes = append(codes, fmt.Sprint("x", i))
	}
	codes = append(codes, "x3", "", "x7") // repeats and blanks are dropped
	cmds := bitrix.CatalogProductLookupCmds(23, codes)
	if len(cmds) != 3 {
		t.Fatalf("%d commands for 120 codes", len(cmds))
	}
	q, err := cmds[2].Query()
	if err != nil {
		t.Fatal(err)
	}
	q = strings.NewReplacer("%5B", "[", "%5D", "]").Replace(q)
	want := "catalog.product.list?filter[iblockId]=23&filter[xmlId][0]=x100&"
	if !strings.HasPrefix(q, want) || !strings.Contains(q, "filter[xmlId][19]=x119&order[id]=asc&select[0]=id&select[1]=iblockId&") ||
		strings.Contains(q, "[20]=") || !strings.Contains(q, "start=0") {
		t.Errorf("query %s", q)
	}
	if got := bitrix.CatalogProductLookupCmds(23, []string{"", ""}); len(got) != 0 {
		t.Errorf("no codes: %d commands", len(got))
	}
}

func TestCatalogueAgainstPortal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true, Scopes: append(bitrixtest.DefaultScopes(), "catalog")})
	p.srv.SeedCatalog(23, "Products", 0)
	p.srv.SeedCatalog(24, "Offers", 23)
	want := map[string]bitrix.ID{}
	for i := range 70 {
		// 60 products share "dup", which needs a second page.
		code := "dup"
		if i >= 60 {
			code = fmt.Sprint("c", i)
		}
		id := p.srv.SeedProduct(bitrixtest.CatalogProduct{IBlockID: 23, Name: fmt.Sprint("p", i), XMLID: code})
		if code != "dup" {
			want[code] = bitrix.ID(id)
		}
	}
	p.srv.SeedProduct(bitrixtest.CatalogProduct{IBlockID: 24, Name: "offer", XMLID: "c60", Type: 4})
	cats, err := p.c.Catalogs(ctx)
	if err != nil || len(cats) != 2 || cats[0].IsOffers() || !cats[1].IsOffers() || cats[1].ProductIBlockID != 23 {
		t.Fatalf("catalogs %+v %v", cats, err)
	}
	found, err := p.c.CatalogProductsByXMLID(ctx, 23, []string{"c60", "c65", "dup", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range found {
		got[f.XMLID]++
		if f.IBlockID != 23 || !f.Active || f.Type != 1 || f.Measure == 0 {
			t.Errorf("product %+v", f)
		}
		if id, ok := want[f.XMLID]; ok && id != f.ID {
			t.Errorf("%s: id %d, want %d", f.XMLID, f.ID, id)
		}
	}
	if d := cmp.Diff(map[string]int{"c60": 1, "c65": 1, "dup": 60}, got); d != "" {
		t.Errorf("found (all pages): %s", d)
	}
	if n := p.srv.Stats().PerMethod["catalog.product.list"]; n != 2 {
		t.Errorf("%d requests, want 2 (one page more for the 60 duplicates)", n)
	}
	// A webhook without the catalog scope is told so.
	plain := newPair(t, bitrixtest.Options{Unlimited: true})
	if _, err := plain.c.CatalogProductsByXMLID(ctx, 23, []string{"x"}); !errors.Is(err, bitrix.ErrAuth) {
		t.Errorf("without scope: %v", err)
	}
}

func TestFormatAndParseDate(t *testing.T) {
	t.Parallel()
	msk := time.FixedZone("MSK", 3*3600)
	if got := bitrix.FormatDate(time.Date(2026, 12, 6, 23, 59, 0, 0, msk)); got != "2026-12-06" {
		t.Errorf("FormatDate = %q (the day in the time's own zone)", got)
	}
	if got := bitrix.FormatDate(time.Date(2026, 12, 6, 23, 59, 0, 0, msk).UTC()); got != "2026-12-06" {
		t.Errorf("FormatDate UTC = %q", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"2024-08-30T02:00:00+02:00", "2024-08-30"}, // the docs' crm.deal.get: midnight UTC in +02:00
		{"2026-12-06T03:00:00+03:00", "2026-12-06"},
		{"2026-12-05T19:00:00-05:00", "2026-12-06"}, // midnight UTC in a negative offset
		{"2026-12-06T00:00:00+03:00", "2026-12-06"}, // local midnight: the day as written
		{"2026-12-06", "2026-12-06"},
		{"", "0001-01-01"},
	} {
		got, err := bitrix.ParseDate(tc.in)
		if err != nil || got.Format("2006-01-02") != tc.want || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v, %v; want %s UTC", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"06.12.2026", "2026-13-01", "tomorrow"} {
		if _, err := bitrix.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

// TestDealDatesRoundTrip writes the day crmsync means and reads the same
// day back on portals east and west of UTC.
func TestDealDatesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, zone := range []*time.Location{time.FixedZone("MSK", 3*3600), time.UTC, time.FixedZone("EST", -5*3600)} {
		clock := bitrixtest.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, zone))
		p := newPair(t, bitrixtest.Options{Unlimited: true, Now: clock.Now})
		begin := time.Date(2026, 11, 30, 22, 0, 0, 0, zone)
		id, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{bitrix.FieldBeginDate: bitrix.FormatDate(begin)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.c.Get(ctx, bitrix.EntityDeal, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err1 := r.Date(bitrix.FieldBeginDate)
		c, err2 := r.Date(bitrix.FieldCloseDate)
		if err1 != nil || err2 != nil || b.Format("2006-01-02") != "2026-11-30" || c.Format("2006-01-02") != "2026-12-13" {
			t.Errorf("%s: BEGINDATE %s → %v, CLOSEDATE %s → %v (%v %v)", zone, r.String(bitrix.FieldBeginDate), b,
				r.String(bitrix.FieldCloseDate), c, err1, err2)
		}
	}
}

func TestEnumerationItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	if _, err := p.c.UserFieldAdd(ctx, bitrix.EntityDeal, bitrix.Fields{"FIELD_NAME": "PAY", "USER_TYPE_ID": "enumeration",
		"LIST": []map[string]any{{"VALUE": "Cash", "SORT": 10}, {"VALUE": "Card", "SORT": 20, "XML_ID": "card"}}}); err != nil {
		t.Fatal(err)
	}
	ufs, err := p.c.DealUserFieldList(ctx, map[string]any{"FIELD_NAME": "UF_CRM_PAY"})
	if err != nil || len(ufs) != 1 {
		t.Fatalf("%v %v", ufs, err)
	}
	items, err := ufs[0].Items()
	if err != nil || len(items) != 2 || items[0].Value != "Cash" || items[1].XMLID != "card" || items[1].Sort != 20 {
		t.Fatalf("items %+v %v", items, err)
	}
	fields, err := p.c.DealFields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(items[1].ID, fields["UF_CRM_PAY"].Items[1].ID); d != "" || fields["UF_CRM_PAY"].Items[1].Value != "Card" {
		t.Errorf("crm.deal.fields items %+v", fields["UF_CRM_PAY"].Items)
	}
	card, ok := bitrix.EnumItemID(fields["UF_CRM_PAY"].Items, "Card")
	if !ok {
		t.Fatal("Card not found")
	}
	if _, ok := bitrix.EnumItemID(items, "Cheque"); ok {
		t.Error("an unknown value was found")
	}
	id, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"UF_CRM_PAY": card}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := p.c.Get(ctx, bitrix.EntityDeal, id); r.IDField("UF_CRM_PAY") != card {
		t.Errorf("stored %s, want %d", r.String("UF_CRM_PAY"), card)
	}
}
