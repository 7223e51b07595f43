package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/runs"
)

// wantRow is a product row as a test expects it on the fake portal.
type wantRow struct {
	Name, Price, Qty, Discount, Tax string // Tax "" for none
	Code                            int
	Measure                         string
	ProductID                       int64
}

func rowsOn(e *env, kind string, id int64) []wantRow {
	var out []wantRow
	for _, r := range e.bx.ProductRows(kind, id) {
		w := wantRow{Name: r.ProductName, Price: r.Price.String(), Qty: r.Quantity.String(), Discount: r.DiscountSum.String(),
			Code: r.MeasureCode, Measure: r.MeasureName, ProductID: r.ProductID}
		if r.DiscountTypeID != 1 || !r.TaxIncluded {
			w.Discount = "type " + strconv.Itoa(r.DiscountTypeID) + " included " + strconv.FormatBool(r.TaxIncluded)
		}
		if r.TaxRate != nil {
			w.Tax = r.TaxRate.String()
		}
		out = append(out, w)
	}
	return out
}

func dealID(t *testing.T, e *env, orderID int64) int64 {
	t.Helper()
	id, err := strconv.ParseInt(dealOf(t, e, orderID)["ID"].(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func line(id int64, name, article, price, discount, qty string, vat retailcrm.VATRate, unit *retailcrm.Unit) retailcrm.Item {
	return retailcrm.Item{ID: id, InitialPrice: money(price), DiscountTotal: money(discount), Quantity: money(qty), VATRate: vat,
		Offer: &retailcrm.Offer{ID: id * 10, ExternalID: "sku-" + strconv.FormatInt(id, 10), Name: name, Article: article, Unit: unit}}
}

// contentShop seeds orders of every kind a deal carries: discounts, VAT
// rates and none, a returned line, free and paid delivery, UTM tags, a
// paid and an unpaid order, open and closed ones, made long ago.
func contentShop(t *testing.T, e *env) (closed, open retailcrm.Order) {
	t.Helper()
	pc := &retailcrm.Unit{Code: "796", Name: "Штука", Sym: "шт"}
	set := &retailcrm.Unit{Code: "set", Name: "Набор", Sym: "наб."}
	c := &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}
	o := order(c, "0")
	o.Items = []retailcrm.Item{
		line(1, "Чайник", "KT-2490", "2490.00", "249.00", "2", "20", pc),
		line(2, "Набор ножей", "", "3200", "0", "1.5", "none", set),
		line(3, "Термос", "TH-1", "1290", "0", "1", "10", nil),
	}
	o.Delivery = &retailcrm.Delivery{Code: "courier", Cost: money("300"), VATRate: "20",
		Address: &retailcrm.Address{Text: "г. Москва, ул. Лесная, д. 5"}}
	o.TotalSumm = money("10872.00") // 2241×2 + 3200×1.5 + 1290 + 300, as RetailCRM computed it
	o.Status, o.CreatedAt, o.StatusUpdatedAt = "complete", dt("2025-03-30 23:50:00"), dt("2025-04-02 09:15:00")
	o.Source = &retailcrm.Source{Source: "yandex", Medium: "cpc", Campaign: "spring", Keyword: "купить чайник", Content: "ad_1"}
	o.Payments = retailcrm.Payments{{ID: 1, Type: "bank-card", Status: "paid", Amount: money("10872.00"), PaidAt: dt("2025-03-31 10:00:00")}}
	closed = e.rc.CreateOrder(o)

	o2 := order(c, "1790.50")
	o2.Items = []retailcrm.Item{
		line(4, "Кофемолка", "CG-1890", "1890.50", "100", "1", "20", pc),
		line(5, "Тостер", "TS-2750", "2750", "0", "1", "20", pc),
	}
	o2.Items[1].Status = "returned"
	o2.Delivery = &retailcrm.Delivery{Code: "self-delivery", Cost: decimal.Zero}
	o2.CreatedAt = dt("2025-05-10 08:00:00")
	o2.Source = &retailcrm.Source{Source: "vk"}
	open = e.rc.CreateOrder(o2)
	return closed, open
}

func dt(s string) retailcrm.DateTime {
	d, err := retailcrm.ParseDateTime(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestDealCarriesTheOrder: rows equal the order's lines (returned ones
// left out, delivery with a cost as a row), the amount stays totalSumm,
// the deal is dated as the order, UTM tags, a mapped field and a list
// field translated to its item id are set; a repeated pull writes
// nothing; one changed line re-sends that deal's rows only; a deal whose
// lines all came back loses its rows.
func TestDealCarriesTheOrder(t *testing.T) {
	e := newEnv(t)
	_, items := e.bx.SeedEnumField("CRM_DEAL", "UF_CRM_DELIVERY", false, "Курьер", "Самовывоз")
	e.bx.SeedUserField("CRM_DEAL", "UF_CRM_ADDRESS", "string", false)
	e.bx.SeedUserField("CRM_DEAL", "UF_CRM_PAID", "string", false)
	e.bx.SeedUserField("CRM_DEAL", "UF_CRM_VIP", "string", false)
	// customer.vip is in the order as RetailCRM sends it, not in the typed
	// order: only the raw document has it.
	e.cfg.Mapping.DealFields = map[string]string{"UF_CRM_DELIVERY": "delivery.code", "UF_CRM_ADDRESS": "delivery.address.text",
		"UF_CRM_VIP": "customer.vip"}
	e.cfg.Mapping.Values = map[string]map[string]string{"UF_CRM_DELIVERY": {
		"courier": strconv.FormatInt(items[0], 10), "self-delivery": strconv.FormatInt(items[1], 10)}}
	e.cfg.Mapping.PaidField = "UF_CRM_PAID"
	closed, open := contentShop(t, e)

	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	d1, d2 := dealOf(t, e, closed.ID), dealOf(t, e, open.ID)
	want1 := []wantRow{
		{Name: "Чайник (KT-2490)", Price: "2241", Qty: "2", Discount: "249", Tax: "20", Code: 796, Measure: "шт"},
		{Name: "Набор ножей", Price: "3200", Qty: "1.5", Discount: "0", Measure: "наб."},
		{Name: "Термос (TH-1)", Price: "1290", Qty: "1", Discount: "0", Tax: "10"},
		{Name: "Delivery", Price: "300", Qty: "1", Discount: "0", Tax: "20"},
	}
	if diff := cmp.Diff(want1, rowsOn(e, "deal", dealID(t, e, closed.ID))); diff != "" {
		t.Errorf("rows of the closed order (-want +got):\n%s", diff)
	}
	want2 := []wantRow{{Name: "Кофемолка (CG-1890)", Price: "1790.5", Qty: "1", Discount: "100", Tax: "20", Code: 796, Measure: "шт"}}
	if diff := cmp.Diff(want2, rowsOn(e, "deal", dealID(t, e, open.ID))); diff != "" {
		t.Errorf("rows of the open order (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		deal  map[string]any
		field string
		want  string
	}{
		{d1, "OPPORTUNITY", "10872.00"}, {d1, "IS_MANUAL_OPPORTUNITY", "Y"},
		{d1, "UTM_SOURCE", "yandex"}, {d1, "UTM_MEDIUM", "cpc"}, {d1, "UTM_CAMPAIGN", "spring"},
		{d1, "UTM_TERM", "купить чайник"}, {d1, "UTM_CONTENT", "ad_1"},
		{d1, "UF_CRM_DELIVERY", strconv.FormatInt(items[0], 10)}, {d1, "UF_CRM_ADDRESS", "г. Москва, ул. Лесная, д. 5"},
		{d1, "UF_CRM_PAID", "Y"}, {d1, "UF_CRM_VIP", "N"},
		{d2, "OPPORTUNITY", "1790.50"}, {d2, "UTM_SOURCE", "vk"}, {d2, "UF_CRM_DELIVERY", strconv.FormatInt(items[1], 10)},
		{d2, "UF_CRM_PAID", "N"},
	} {
		if got := bitrixtest.Str(tt.deal[tt.field]); got != tt.want {
			t.Errorf("deal %v %s = %q, want %q", tt.deal["ID"], tt.field, got, tt.want)
		}
	}
	for _, f := range []string{"UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_TERM", "UTM_CONTENT", "UF_CRM_ADDRESS"} {
		if v := bitrixtest.Str(d2[f]); v != "" {
			t.Errorf("open order: %s = %q, want none", f, v)
		}
	}
	r1, _ := e.bx.Deal(dealID(t, e, closed.ID))
	r2, _ := e.bx.Deal(dealID(t, e, open.ID))
	for _, tt := range []struct {
		row        bitrixtest.Row
		begin, end string
	}{
		{r1, "2025-03-30", "2025-04-02"}, // closed: the day it reached complete
		{r2, "2025-05-10", "2025-05-17"}, // open: created + 7 days
	} {
		if b, c := tt.row.Day("BEGINDATE"), tt.row.Day("CLOSEDATE"); b != tt.begin || c != tt.end {
			t.Errorf("deal %s dated %s – %s, want %s – %s", tt.row.Str("ID"), b, c, tt.begin, tt.end)
		}
	}

	// Nothing changed: nothing written.
	if _, n := e.pullWrites(); n != 0 {
		t.Errorf("a repeated pull wrote %d times", n)
	}

	// A change that leaves the lines alone sends the deal's fields only.
	e.updateOrder(closed.ID, func(o *retailcrm.Order) { o.ManagerComment = "gift wrap" })
	s0 := e.bx.Stats()
	e.pull()
	if s1 := e.bx.Stats(); s1.CommandsPerMethod["crm.deal.productrows.set"] != s0.CommandsPerMethod["crm.deal.productrows.set"] ||
		s1.CommandsPerMethod["crm.deal.update"] != s0.CommandsPerMethod["crm.deal.update"]+1 {
		t.Errorf("a comment sent %d rows sets and %d updates, want 0 and 1",
			s1.CommandsPerMethod["crm.deal.productrows.set"]-s0.CommandsPerMethod["crm.deal.productrows.set"],
			s1.CommandsPerMethod["crm.deal.update"]-s0.CommandsPerMethod["crm.deal.update"])
	}

	// One line changes: that deal's rows (and amount) are sent, nothing else.
	e.updateOrder(closed.ID, func(o *retailcrm.Order) {
		o.Items[2].Quantity = money("3")
		o.TotalSumm = money("13452.00")
	})
	s0 = e.bx.Stats()
	res := e.pull(keepChanges)
	s1 := e.bx.Stats()
	if n := s1.CommandsPerMethod["crm.deal.productrows.set"] - s0.CommandsPerMethod["crm.deal.productrows.set"]; n != 1 || res.Report.Summary.RowsSet != 1 {
		t.Errorf("rows sets %d (summary %d), want 1", n, res.Report.Summary.RowsSet)
	}
	want1[2].Qty = "3"
	if diff := cmp.Diff(want1, rowsOn(e, "deal", dealID(t, e, closed.ID))); diff != "" {
		t.Errorf("rows after the change (-want +got):\n%s", diff)
	}
	var rowsChange *Change
	for i, c := range res.Report.Changes {
		if c.Op == OpRows {
			rowsChange = &res.Report.Changes[i]
		}
	}
	if rowsChange == nil || rowsChange.OrderID != closed.ID || rowsChange.Rows.Lines != 4 || rowsChange.Rows.Total != "13452.00" ||
		len(rowsChange.Rows.Old) != 4 {
		t.Fatalf("rows change %+v %+v", rowsChange, rowsChange.Rows)
	}
	if got, want := rowsChange.line(), fmt.Sprintf("~ rows    %-23s ", "order "+closed.Number+" (#"+strconv.FormatInt(dealID(t, e, closed.ID), 10)+")")+`rows: 4 lines, 13 452.00 RUB (was 4 lines, 10 872.00 RUB): ~ "Термос (TH-1)" 1 × 1 290.00 → 3 × 1 290.00`; got != want {
		t.Errorf("report line\n got %s\nwant %s", got, want)
	}

	// Every line of the open order comes back: its rows are cleared.
	e.updateOrder(open.ID, func(o *retailcrm.Order) { o.Items[0].Status = "returned" })
	e.pull()
	if got := e.bx.ProductRows("deal", dealID(t, e, open.ID)); len(got) != 0 {
		t.Errorf("rows left after every line came back: %+v", got)
	}
	if _, n := e.pullWrites(); n != 0 {
		t.Errorf("a repeated pull after clearing wrote %d times", n)
	}
}

// TestLeadCarriesRows: a lead gets its rows through crm.lead.productrows.set
// in the batch that creates it; leads have no BEGINDATE/CLOSEDATE.
func TestLeadCarriesRows(t *testing.T) {
	e := newEnv(t)
	e.cfg.Bitrix.Entity = config.EntityLead
	e.cfg.Mapping.Statuses = map[string]string{"new": "NEW", "group:complete": "CONVERTED", "group:cancel": "JUNK"}
	closed, open := contentShop(t, e)
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	leads := map[string]bitrixtest.Row{}
	for _, l := range e.bx.Leads() {
		leads[l.Str("ORIGIN_ID")] = l
	}
	for id, n := range map[int64]int{closed.ID: 4, open.ID: 1} {
		l, ok := leads[strconv.FormatInt(id, 10)]
		if !ok {
			t.Fatalf("no lead for order %d", id)
		}
		lid, _ := strconv.ParseInt(l.Str("ID"), 10, 64)
		if got := e.bx.ProductRows("lead", lid); len(got) != n {
			t.Errorf("lead of order %d has %d rows, want %d", id, len(got), n)
		}
		if l.Str("BEGINDATE") != "" || l.Str("UTM_SOURCE") == "" {
			t.Errorf("lead %s: BEGINDATE %q UTM_SOURCE %q", l.Str("ID"), l.Str("BEGINDATE"), l.Str("UTM_SOURCE"))
		}
	}
	if s := e.bx.Stats(); s.CommandsPerMethod["crm.lead.productrows.set"] != 2 || s.CommandsPerMethod["crm.deal.productrows.set"] != 0 {
		t.Errorf("rows calls %v", s.CommandsPerMethod)
	}
}

// TestBackfilledDealIsDatedAsTheOrder: a backfill dates deals by the
// orders' days, not the import day.
func TestBackfilledDealIsDatedAsTheOrder(t *testing.T) {
	e := newEnv(t)
	closed, open := contentShop(t, e)
	if res := e.mustBackfill(BackfillOptions{}); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	for id, want := range map[int64][2]string{closed.ID: {"2025-03-30", "2025-04-02"}, open.ID: {"2025-05-10", "2025-05-17"}} {
		r, _ := e.bx.Deal(dealID(t, e, id))
		if b, c := r.Day("BEGINDATE"), r.Day("CLOSEDATE"); b != want[0] || c != want[1] {
			t.Errorf("order %d: deal dated %s – %s, want %s – %s", id, b, c, want[0], want[1])
		}
	}
	_ = context.Background()
}

// catalogEnv is an env whose webhook has the catalog scope, with a
// catalogue (iblock 14) holding the products of two of the shop's offers
// (one of them twice: the active copy wins) and a catalogue of variations.
func catalogEnv(t *testing.T, scopes ...string) (*env, map[string]int64) {
	t.Helper()
	e := newEnv(t)
	if scopes == nil {
		scopes = append(bitrixtest.DefaultScopes(), "catalog")
	}
	e.useBitrix(bitrixtest.Options{Scopes: scopes})
	e.cfg.Mapping.Products = config.Products{Match: config.ProductsMatchExternalID, IBlockID: 14}
	e.bx.SeedCatalog(14, "Товары", 0)
	e.bx.SeedCatalog(15, "Вариации", 14)
	ids := map[string]int64{}
	e.bx.SeedProduct(bitrixtest.CatalogProduct{IBlockID: 14, Name: "old kettle", XMLID: "sku-1", Inactive: true})
	ids["sku-1"] = e.bx.SeedProduct(bitrixtest.CatalogProduct{IBlockID: 14, Name: "Чайник", XMLID: "sku-1"})
	ids["sku-3"] = e.bx.SeedProduct(bitrixtest.CatalogProduct{IBlockID: 15, Name: "Термос 1 л", XMLID: "sku-3"})
	return e, ids
}

// TestRowsFindCatalogueProducts: with match external_id, a row names the
// product whose XML_ID is the offer's externalId (0 when none has it);
// lookups are batched and cached, so orders with known codes look nothing
// up; iblock_id 0 searches every catalogue the portal lists.
func TestRowsFindCatalogueProducts(t *testing.T) {
	for _, tt := range []struct {
		name    string
		iblock  int
		product map[string]bool // codes found
	}{
		{"configured catalogue", 14, map[string]bool{"sku-1": true}},
		{"catalogues listed", 0, map[string]bool{"sku-1": true, "sku-3": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, ids := catalogEnv(t)
			e.cfg.Mapping.Products.IBlockID = tt.iblock
			closed, _ := contentShop(t, e)
			if res := e.pull(); res.Parked() != 0 {
				t.Fatalf("parked: %+v", res.Report.Parked)
			}
			rows := rowsOn(e, "deal", dealID(t, e, closed.ID))
			for i, code := range []string{"sku-1", "sku-2", "sku-3", ""} {
				want := int64(0)
				if tt.product[code] {
					want = ids[code]
				}
				if rows[i].ProductID != want {
					t.Errorf("row %d (%s): product %d, want %d", i, code, rows[i].ProductID, want)
				}
			}
			lookups := e.bx.Stats().CommandsPerMethod["catalog.product.list"]
			if want := max(1, 2*(1-tt.iblock/14)); lookups != want {
				t.Errorf("%d catalogue lookups, want %d (one per catalogue)", lookups, want)
			}
			// A new order of known offers looks nothing up.
			c := &retailcrm.Customer{FirstName: "Boris", Email: "boris@example.com"}
			o := order(c, "2490")
			o.Items = []retailcrm.Item{line(1, "Чайник", "KT-2490", "2490", "0", "1", "20", nil), line(2, "Нож", "", "10", "0", "1", "20", nil)}
			o3 := e.rc.CreateOrder(o)
			e.pull()
			if n := e.bx.Stats().CommandsPerMethod["catalog.product.list"]; n != lookups {
				t.Errorf("known codes looked up again: %d lookups", n-lookups)
			}
			if got := rowsOn(e, "deal", dealID(t, e, o3.ID)); got[0].ProductID != ids["sku-1"] || got[1].ProductID != 0 {
				t.Errorf("rows of the new order %+v", got)
			}
		})
	}
}

// TestCatalogueWithoutScopeIsAConfigurationError: without the catalog
// scope the run stops with a configuration error naming the setting.
func TestCatalogueWithoutScopeIsAConfigurationError(t *testing.T) {
	e, _ := catalogEnv(t, bitrixtest.DefaultScopes()...)
	contentShop(t, e)
	eng, st := e.engine(false)
	defer st.Close()
	_, err := eng.Pull(context.Background())
	if err == nil || runs.Classify(err) != runs.ClassConfig || !strings.Contains(err.Error(), "mapping.products") {
		t.Fatalf("pull: %v (class %s), want a configuration error naming mapping.products", err, runs.Classify(err))
	}
	if n := len(e.bx.Deals()); n != 0 {
		t.Errorf("%d deals written", n)
	}
}

// TestDryRunShowsRows: the dry-run report shows one line per deal whose
// rows are set, a summary for a new deal and the difference for a changed
// one; the JSON report carries every row; the real run does what the dry
// run said.
func TestDryRunShowsRows(t *testing.T) {
	e := newEnv(t)
	closed, _ := contentShop(t, e)
	e.pull()
	e.updateOrder(closed.ID, func(o *retailcrm.Order) {
		o.Items[2].Quantity = money("3")
		o.Items = append(o.Items[:1], o.Items[2:]...) // the knives are taken off
		o.Items = append(o.Items, line(6, "Весы", "SC-890", "890", "0", "1", "10", nil))
	})
	c := &retailcrm.Customer{FirstName: "Boris", Email: "boris@example.com"}
	o := order(c, "12400")
	o.Items = []retailcrm.Item{line(7, "Мультиварка", "MC-6490", "6200", "0", "2", "none", nil)}
	fresh := e.rc.CreateOrder(o)

	dry := e.dryPull()
	var text, js bytes.Buffer
	if err := dry.Report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := dry.Report.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	t.Logf("dry-run report:\n%s", text.String())
	for _, want := range []string{
		fmt.Sprintf("+ rows    %-23s rows: 1 line, 12 400.00 RUB", "order "+fresh.Number),
		fmt.Sprintf("~ rows    %-23s rows: 4 lines, 9 542.00 RUB (was 4 lines, 10 872.00 RUB): ", "order "+closed.Number+" (#"+strconv.FormatInt(dealID(t, e, closed.ID), 10)+")") +
			`~ "Термос (TH-1)" 1 × 1 290.00 → 3 × 1 290.00; + "Весы (SC-890)" 1 × 890.00; - "Набор ножей" 1.5 × 3 200.00`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	var doc struct {
		Changes []struct {
			Op      string `json:"op"`
			OrderID int64  `json:"order_id"`
			Rows    *struct {
				Lines int `json:"lines"`
				Total string
				Rows  []struct {
					Name, Price, Quantity string
					DiscountSum           string  `json:"discount_sum"`
					TaxRate               *string `json:"tax_rate"`
					TaxIncluded           bool    `json:"tax_included"`
				} `json:"rows"`
				Old []json.RawMessage `json:"old"`
			} `json:"rows"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, c := range doc.Changes {
		if c.Op != OpRows || c.Rows == nil {
			continue
		}
		var names []string
		for _, r := range c.Rows.Rows {
			tax := "null"
			if r.TaxRate != nil {
				tax = *r.TaxRate
			}
			names = append(names, fmt.Sprintf("%s %s×%s -%s vat %s incl %v", r.Name, r.Price, r.Quantity, r.DiscountSum, tax, r.TaxIncluded))
		}
		got[c.OrderID] = fmt.Sprintf("%d %s old %d: %s", c.Rows.Lines, c.Rows.Total, len(c.Rows.Old), strings.Join(names, "; "))
	}
	want := map[int64]string{
		fresh.ID: "1 12400.00 old 0: Мультиварка (MC-6490) 6200×2 -0 vat null incl true",
		closed.ID: "4 9542.00 old 4: Чайник (KT-2490) 2241×2 -249 vat 20 incl true; Термос (TH-1) 1290×3 -0 vat 10 incl true; " +
			"Весы (SC-890) 890×1 -0 vat 10 incl true; Delivery 300×1 -0 vat 20 incl true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON rows (-want +got):\n%s", diff)
	}

	real := e.pull(keepChanges)
	var sets []int64
	for _, c := range real.Report.Changes {
		if c.Op == OpRows {
			sets = append(sets, c.OrderID)
		}
	}
	if len(sets) != 2 || real.Report.Summary.RowsSet != 2 {
		t.Errorf("the real run set the rows of %v (summary %d), the dry run announced 2", sets, real.Report.Summary.RowsSet)
	}
}

// TestRowsOfARefusedAddGoAgainWithIt: when the portal refuses a deal's add
// inside the batch (its operating time ran out), the rows that referred to
// it go again with it; nothing is parked and every deal gets its rows.
func TestRowsOfARefusedAddGoAgainWithIt(t *testing.T) {
	e := newEnv(t)
	e.useBitrix(bitrixtest.Options{OperatingWindow: 50 * time.Millisecond,
		OperatingCost: map[string]float64{"crm.deal.add": 1}, OperatingLimit: map[string]float64{"crm.deal.add": 1}})
	var ids []int64
	for i := range 4 {
		c := &retailcrm.Customer{FirstName: "P", Email: fmt.Sprintf("p%d@example.com", i)}
		o := order(c, "100")
		o.Items = []retailcrm.Item{line(int64(i+1), "Чайник", "", "100", "0", "1", "20", nil)}
		ids = append(ids, e.rc.CreateOrder(o).ID)
	}
	res := e.pull(func(o *Options) { o.Sleep = nil })
	if res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	if s := e.bx.Stats(); s.OperationLimitInBatch == 0 {
		t.Fatal("the portal refused no add: the test tests nothing")
	}
	for _, id := range ids {
		if got := rowsOn(e, "deal", dealID(t, e, id)); len(got) != 1 {
			t.Errorf("order %d: rows %+v", id, got)
		}
	}
}

// TestLostDatabaseUnchangedOrdersAreUnchanged: after losing the database,
// a pull over unchanged orders finds their deals by ORIGIN_ID and reads
// their rows: the dry run reports every order unchanged (and counts its
// deal so), the real run sends no Bitrix24 write, creates nothing twice,
// and records the rows so the next run reads them no more. Rows the portal
// completes (a catalogue product's measure), decimals it answers in its
// own form and zero discounts are no difference.
func TestLostDatabaseUnchangedOrdersAreUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name      string
		catalogue bool
	}{
		{name: "free-text rows"},
		{name: "catalogue products", catalogue: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.catalogue {
				e, _ = catalogEnv(t)
				e.cfg.Mapping.Products.IBlockID = 0 // both catalogues: the thermos row takes its product's measure
			}
			contentShop(t, e)
			if res := e.pull(); res.Parked() != 0 {
				t.Fatalf("parked: %+v", res.Report.Parked)
			}
			deals, contacts := len(e.bx.Deals()), len(e.bx.Contacts())
			sets := e.commands("crm.deal.productrows.set")

			e.loseDatabase()
			dry := e.dryPull()
			text := reportText(t, dry.Report)
			if s := dry.Report.Summary; s.DealsUnchanged != 2 || s.DealsUpdated != 0 || s.DealsCreated != 0 || dry.Report.Unchanged != 2 ||
				len(dry.Report.Changes) != 0 {
				t.Errorf("dry run after the loss: %s\n%s", s.Line(), text)
			}
			if !strings.Contains(text, "= 2 orders unchanged") {
				t.Errorf("dry run's report:\n%s", text)
			}

			res, writes := e.pullWrites()
			if s := res.Report.Summary; writes != 0 || s.DealsUnchanged != 2 || res.Report.Unchanged != 2 || s.RowsSet != 0 {
				t.Errorf("real run after the loss: %d writes; %s", writes, s.Line())
			}
			if n := e.commands("crm.deal.productrows.set") - sets; n != 0 {
				t.Errorf("%d product rows sets for unchanged orders", n)
			}
			if n, m := len(e.bx.Deals()), len(e.bx.Contacts()); n != deals || m != contacts {
				t.Errorf("after the loss: %d deals, %d contacts; want %d, %d", n, m, deals, contacts)
			}
			// The links now record the rows: nothing is read again.
			reads := e.commands("crm.deal.productrows.get")
			if _, writes := e.pullWrites(); writes != 0 || e.commands("crm.deal.productrows.get") != reads {
				t.Errorf("the next run: %d writes, %d rows reads", writes, e.commands("crm.deal.productrows.get")-reads)
			}
		})
	}
}

// TestLostDatabaseRowsThatDifferAreSet: after losing the database, a deal
// whose rows differ from the order's (a manager changed a quantity, or a
// tax rate: the total stays) gets the order's rows, once, and the dry run
// names the difference; the deal counts as updated, the other unchanged.
func TestLostDatabaseRowsThatDifferAreSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*bitrix.ProductRow)
		line string
	}{
		{name: "quantity", edit: func(r *bitrix.ProductRow) { r.Quantity = money("3") },
			line: `~ "Термос (TH-1)" 3 × 1 290.00 → 1 × 1 290.00`},
		{name: "tax rate", edit: func(r *bitrix.ProductRow) { r.TaxRate = nil },
			line: `(was 4 lines, 10 872.00 RUB): ~ "Термос (TH-1)" tax none → 10`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			closed, _ := contentShop(t, e)
			e.pull()
			id := dealID(t, e, closed.ID)
			want := rowsOn(e, "deal", id)
			held, err := e.bxc.ProductRows(context.Background(), bitrix.EntityDeal, bitrix.ID(id))
			if err != nil {
				t.Fatal(err)
			}
			rows := make([]bitrix.ProductRow, len(held))
			for i, r := range held {
				rows[i] = r.Row()
			}
			tc.edit(&rows[2])
			if err := e.bxc.SetProductRows(context.Background(), bitrix.EntityDeal, bitrix.ID(id), rows); err != nil {
				t.Fatal(err)
			}
			sets := e.commands("crm.deal.productrows.set")

			e.loseDatabase()
			dry := e.dryPull()
			text := reportText(t, dry.Report)
			if !strings.Contains(text, tc.line) || dry.Report.Unchanged != 1 ||
				dry.Report.Summary.DealsUpdated != 1 || dry.Report.Summary.DealsUnchanged != 1 {
				t.Errorf("dry run after the loss: %s\n%s", dry.Report.Summary.Line(), text)
			}
			res := e.pull()
			if n := e.commands("crm.deal.productrows.set") - sets; n != 1 || res.Report.Summary.DealsUpdated != 1 {
				t.Errorf("%d product rows sets; %s", n, res.Report.Summary.Line())
			}
			if got := rowsOn(e, "deal", id); !cmp.Equal(got, want) {
				t.Errorf("rows: %s", cmp.Diff(want, got))
			}
		})
	}
}

// reportText is the report's text, as the command prints it.
func reportText(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
