package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestDealContentAndRulesThroughTheBinary drives the binary with a YAML
// configuration that uses every part of what a deal carries and of the
// rules (docs/configuration.md, docs/rules.md): product rows with a
// catalogue product, the delivery row and a cancelled line left out, the
// amount, dates, UTM tags, mapped fields read from the order as RetailCRM
// sent it (a custom field, the source, the delivery address), a list field
// through mapping.values, the paid field, the English texts; rules on
// created (with conditions), paid, status_group:cancel and returned; the
// built-in timeline comments, the failure stage and the repeat purchase.
func TestDealContentAndRulesThroughTheBinary(t *testing.T) {
	t.Parallel()
	f := newFakes(t, retailcrmtest.Options{}, bitrixtest.Options{Scopes: append(bitrixtest.DefaultScopes(), "catalog")})
	_, items := f.bx.SeedEnumField("CRM_DEAL", "UF_CRM_DELIVERY", false, "Courier", "Pickup")
	for _, uf := range []string{"UF_CRM_ADDRESS", "UF_CRM_GIFT", "UF_CRM_MEDIUM", "UF_CRM_PAID"} {
		f.bx.SeedUserField("CRM_DEAL", uf, "string", false)
	}
	f.bx.SeedCatalog(14, "Products", 0)
	// The manager whose changes the history shows, named in the timeline.
	f.rc.AddUser(retailcrm.User{ID: retailcrmtest.DefaultUserID, Active: true, FirstName: "Olga", LastName: "Petrova"})
	kettle := f.bx.SeedProduct(bitrixtest.CatalogProduct{IBlockID: 14, Name: "Kettle (catalogue)", XMLID: "sku-kettle"})

	dir, cfg, db := workFiles(t, f.pullConfig()+`  order_methods: {phone: CALL}
  deal_fields:
    UF_CRM_DELIVERY: delivery.code
    UF_CRM_ADDRESS: delivery.address.text
    UF_CRM_GIFT: customFields.gift_note
    UF_CRM_MEDIUM: source.medium
  values:
    UF_CRM_DELIVERY: {courier: "`+itoa(items[0])+`", self-delivery: "`+itoa(items[1])+`"}
  paid_field: UF_CRM_PAID
  products: {match: external_id, iblock_id: 14}
rules:
  - on: created
    if: {method: phone, site: shop, paid: true}
    do:
      task: {title: "Call about order {{.Number}}", responsible_id: 7, deadline: 2h}
  - on: created
    if: {paid: false}
    do:
      comment: "Unpaid order {{.Number}} ({{.DeliveryName}})"
  - on: paid
    do:
      comment: "Rule: order {{.Number}} paid={{.Paid}} at {{.PaidAt}}"
  - on: status_group:cancel
    do:
      notify: {user_ids: [7], message: "Order {{.Number}} was cancelled: {{.StatusComment}}"}
  - on: returned
    do:
      comment: "Return registered for order {{.Number}}"
      workflow: {template_id: 12}
locale: en
`)
	run := func(args ...string) result {
		return runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
	}

	// The order as RetailCRM sends it: 2240.5×2 + 100×3 + 300 = 5081, the
	// cancelled tray not counted.
	var o retailcrm.Order
	if err := json.Unmarshal([]byte(`{"orderMethod": "phone", "currency": "RUB", "createdAt": "2025-03-30 23:50:00",
		"customer": {"firstName": "Anna", "email": "anna@example.com"},
		"items": [
			{"id": 1, "initialPrice": 2490, "discountTotal": 249.5, "quantity": 2, "vatRate": "20", "status": "new",
			 "offer": {"id": 10, "externalId": "sku-kettle", "name": "Kettle", "article": "KT-1",
			           "unit": {"code": "796", "name": "Piece", "sym": "pcs"}}},
			{"id": 2, "initialPrice": 100, "discountTotal": 0, "quantity": 3, "vatRate": "none", "status": "new",
			 "offer": {"id": 20, "externalId": "sku-mug", "name": "Mug"}},
			{"id": 3, "initialPrice": 999, "discountTotal": 0, "quantity": 1, "vatRate": "20", "status": "cancelled",
			 "offer": {"id": 30, "externalId": "sku-tray", "name": "Tray"}}],
		"delivery": {"code": "courier", "cost": 300, "vatRate": "20", "address": {"text": "Moscow, Lesnaya 5"}},
		"totalSumm": 5081,
		"source": {"source": "yandex", "medium": "cpc", "campaign": "spring", "keyword": "kettle", "content": "ad1"},
		"customFields": {"gift_note": "wrap it"},
		"payments": {"1": {"id": 1, "type": "bank-card", "status": "paid", "amount": 5081, "paidAt": "2025-03-31 10:00:00"}}
	}`), &o); err != nil {
		t.Fatal(err)
	}
	paid := f.rc.CreateOrder(o)

	run("pull").mustCode(t, exitOK)
	deal, dealID := dealOfOrder(t, f.bx, paid.ID)
	for field, want := range map[string]string{
		"TITLE": "Order " + paid.Number, "OPPORTUNITY": "5081.00", "IS_MANUAL_OPPORTUNITY": "Y", "CURRENCY_ID": "RUB",
		"STAGE_ID": "NEW", "SOURCE_ID": "CALL",
		"UTM_SOURCE": "yandex", "UTM_MEDIUM": "cpc", "UTM_CAMPAIGN": "spring", "UTM_TERM": "kettle", "UTM_CONTENT": "ad1",
		"UF_CRM_DELIVERY": itoa(items[0]), "UF_CRM_ADDRESS": "Moscow, Lesnaya 5", "UF_CRM_GIFT": "wrap it",
		"UF_CRM_MEDIUM": "cpc", "UF_CRM_PAID": "Y", "IS_RETURN_CUSTOMER": "N",
	} {
		if got := deal.Str(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if b, c := deal.Day("BEGINDATE"), deal.Day("CLOSEDATE"); b != "2025-03-30" || c != "2025-04-06" {
		t.Errorf("dated %s – %s, want 2025-03-30 – 2025-04-06 (the order's day + 7)", b, c)
	}
	if c := deal.Str("COMMENTS"); !strings.Contains(c, "Delivery: Курьер") || !strings.Contains(c, "Payment: Банковская карта (Оплачен)") ||
		!strings.Contains(c, "Fully paid: ") {
		t.Errorf("COMMENTS %q", c)
	}
	type row struct {
		ID                                     int64
		Name, Price, Qty, DiscountSum, TaxRate string
		DiscountType                           int
		TaxIncluded                            bool
	}
	var got []row
	for _, r := range f.bx.ProductRows("deal", dealID) {
		tax := "-"
		if r.TaxRate != nil {
			tax = r.TaxRate.String()
		}
		got = append(got, row{r.ProductID, r.ProductName, r.Price.String(), r.Quantity.String(), r.DiscountSum.String(), tax,
			r.DiscountTypeID, r.TaxIncluded})
	}
	want := []row{
		{kettle, "Kettle (KT-1)", "2240.5", "2", "249.5", "20", 1, true},
		{0, "Mug", "100", "3", "0", "-", 1, true},
		{0, "Delivery", "300", "1", "0", "20", 1, true},
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("rows\n got %+v\nwant %+v", got, want)
	}
	tasks := f.bx.Tasks()
	if len(tasks) != 1 || tasks[0].Fields["TITLE"] != "Call about order "+paid.Number || bitrixtest.Str(tasks[0].Fields["RESPONSIBLE_ID"]) != "7" ||
		tasks[0].Fields["DEADLINE"] == nil {
		t.Errorf("tasks %+v", tasks)
	}
	comments := dealComments(f.bx, dealID)
	if len(comments) != 1 || comments[0] != "Rule: order "+paid.Number+" paid=true at 2025-03-31 10:00:00" {
		t.Errorf("comments after the first pull: %q", comments)
	}

	// Nothing changed: nothing is written.
	before := f.bx.Stats().CommandsPerMethod
	run("pull").mustCode(t, exitOK)
	if after := f.bx.Stats().CommandsPerMethod; !reflect.DeepEqual(before, after) {
		t.Errorf("an idle pull sent %v (before %v)", after, before)
	}

	// A second order of the same customer, unpaid, is a repeat purchase;
	// its cancellation moves the deal to the failure stage with a comment
	// and notifies; the first order's return fires returned.
	second := f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{ID: paid.Customer.ID}, OrderMethod: "shopping-cart",
		Currency: "RUB", TotalSumm: paid.TotalSumm.Div(paid.TotalSumm), Delivery: &retailcrm.Delivery{Code: "self-delivery"}})
	run("pull").mustCode(t, exitOK)
	d2, d2ID := dealOfOrder(t, f.bx, second.ID)
	if d2.Str("IS_RETURN_CUSTOMER") != "Y" || d2.Str("UF_CRM_PAID") != "N" || d2.Str("UF_CRM_DELIVERY") != itoa(items[1]) {
		t.Errorf("second deal %v", d2.Fields)
	}
	if c := dealComments(f.bx, d2ID); len(c) != 1 || c[0] != "Unpaid order "+second.Number+" (Самовывоз)" {
		t.Errorf("second deal's comments %q", c)
	}
	if len(f.bx.Tasks()) != 1 {
		t.Errorf("a task for an order the rule's conditions exclude: %+v", f.bx.Tasks())
	}
	if err := f.rc.UpdateOrder(second.ID, func(o *retailcrm.Order) { o.Status, o.StatusComment = "no-call", "no answer" }); err != nil {
		t.Fatal(err)
	}
	run("pull").mustCode(t, exitOK)
	d2, _ = dealOfOrder(t, f.bx, second.ID)
	if d2.Str("STAGE_ID") != "LOSE" {
		t.Errorf("cancelled order's deal in %s", d2.Str("STAGE_ID"))
	}
	if c := dealComments(f.bx, d2ID); len(c) != 2 || !strings.HasPrefix(c[1], "Order status changed: Новый → Недозвон (by Olga Petrova at ") ||
		!strings.HasSuffix(c[1], "). The order was cancelled.") {
		t.Errorf("second deal's comments %q", c)
	}
	if n := f.bx.Notifications(); len(n) != 1 || n[0].UserID != 7 || n[0].Message != "Order "+second.Number+" was cancelled: no answer" {
		t.Errorf("notifications %+v", n)
	}
	if err := f.rc.UpdateOrder(paid.ID, func(o *retailcrm.Order) { o.Items[0].Status = "returned" }); err != nil {
		t.Fatal(err)
	}
	run("pull").mustCode(t, exitOK)
	if c := dealComments(f.bx, dealID); len(c) != 3 || !strings.Contains(c[1], "Kettle") || !strings.Contains(c[1], "Возвращен") ||
		c[2] != "Return registered for order "+paid.Number {
		t.Errorf("comments after the return %q", c)
	}
	if w := f.bx.Workflows(); len(w) != 1 || w[0].TemplateID != 12 || strings.Join(w[0].DocumentID, ",") != "crm,CCrmDocumentDeal,DEAL_"+itoa(dealID) {
		t.Errorf("workflows %+v", w)
	}
	deal, _ = dealOfOrder(t, f.bx, paid.ID)
	if deal.Str("STAGE_ID") != "NEW" {
		t.Errorf("a partial return moved the deal to %s", deal.Str("STAGE_ID"))
	}
	var names []string
	for _, r := range f.bx.ProductRows("deal", dealID) {
		names = append(names, r.ProductName)
	}
	if strings.Join(names, ",") != "Mug,Delivery" {
		t.Errorf("rows after the return: %q", names)
	}
}

// dealOfOrder is the deal the portal holds for an order, and its id.
func dealOfOrder(t *testing.T, bx *bitrixtest.Server, orderID int64) (bitrixtest.Row, int64) {
	t.Helper()
	for _, d := range bx.Deals() {
		if d.Str("ORIGIN_ID") == itoa(orderID) {
			id, err := json.Number(d.Str("ID")).Int64()
			if err != nil {
				t.Fatal(err)
			}
			return d, id
		}
	}
	t.Fatalf("no deal for order %d", orderID)
	return bitrixtest.Row{}, 0
}

// dealComments are a deal's timeline comments, oldest first.
func dealComments(bx *bitrixtest.Server, dealID int64) []string {
	var out []string
	for _, c := range bx.Comments() {
		if c.EntityType == "deal" && c.EntityID == dealID {
			out = append(out, c.Comment)
		}
	}
	return out
}
