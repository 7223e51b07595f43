package sync

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/texts"
)

func TestNormalizer(t *testing.T) {
	n := normalizer{region: "RU"}
	for in, want := range map[string]string{
		"+7 (915) 123-45-67": "+79151234567", "8 915 123 45 67": "+79151234567", "9151234567": "+79151234567",
		"+44 20 7946 0958": "+442079460958", "12-34": "", "": "", "+7 915 123-45-67 доб. 12": "+79151234567",
	} {
		if got := n.phone(in); got != want {
			t.Errorf("phone(%q) = %q, want %q", in, got, want)
		}
	}
	if n.phoneKey("8 (915) 123-45-67") != n.phoneKey("+7 915 1234567") {
		t.Error("the same number in two formats compares different")
	}
	for in, ok := range map[string]bool{" Anna@Example.COM ": true, "not an email@": false, "a@b": false,
		"Anna <a@example.com>": false, "": true, "x@example.com": true} {
		_, err := n.email(in)
		if (err == nil) != ok {
			t.Errorf("email(%q): err %v", in, err)
		}
	}
}

func rec(id, order int64, field, source string, current bool) retailcrm.HistoryRecord {
	r := retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{ID: id, Field: field, Source: source}, Order: &retailcrm.Order{ID: order}}
	if source == "api" {
		r.APIKey = &retailcrm.HistoryAPIKey{Current: current}
	}
	return r
}

func TestFilterEchoes(t *testing.T) {
	recs := []retailcrm.HistoryRecord{
		rec(1, 10, "status", "api", true),             // our own write: dropped
		rec(2, 11, "status", "api", true),             // ours, before a foreign change of the same order: kept
		rec(3, 11, "customer_comment", "user", false), // foreign
		rec(4, 11, "manager_comment", "api", true),    // ours, other field of that order: kept
		rec(5, 12, "status", "api", false),            // another integration: kept
		rec(6, 13, "status", "user", false),           // foreign, another order
		rec(7, 10, "manager_comment", "api", true),    // ours, no foreign change of order 10: dropped
		rec(8, 10, "external_id", "api", true),        // an externalId change is always kept
	}
	kept, dropped := filterEchoes(recs)
	var ids []int64
	for _, r := range kept {
		ids = append(ids, r.ID)
	}
	if want := []int64{2, 3, 4, 5, 6, 8}; dropped != 2 || !slices.Equal(ids, want) {
		t.Errorf("kept %v, dropped %d; want %v, 2", ids, dropped, want)
	}
	order, byID := groupByOrder(kept)
	if !slices.Equal(order, []int64{11, 12, 13, 10}) || len(byID[11].records) != 3 {
		t.Errorf("groups %v", order)
	}
}

func TestReportText(t *testing.T) {
	old := "PREPARATION"
	oldSum := "1500.00"
	r := &Report{Changes: []Change{
		{Op: OpCreate, Entity: "deal", OrderID: 1042, OrderNumber: "1042", Site: "shop", Fields: []FieldChange{
			{Field: "TITLE", New: "Order 1042"}, {Field: "STAGE_ID", New: "NEW"}, {Field: "OPPORTUNITY", New: "1890.00"},
			{Field: "CURRENCY_ID", New: "RUB"}, {Field: "ORIGIN_ID", New: "1042"}}},
		{Op: OpUpdate, Entity: "deal", EntityID: 877, OrderID: 1017, OrderNumber: "1017", Fields: []FieldChange{
			{Field: "STAGE_ID", Old: &old, New: "WON"}, {Field: "OPPORTUNITY", Old: &oldSum, New: "1450.00"}}},
		{Op: OpCreate, Entity: "contact", CustomerID: 311, Fields: []FieldChange{{Field: "NAME", New: "Anna"}, {Field: "EMAIL", New: "anna@example.com"}}},
	}, Unchanged: 37}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// Byte for byte the example in docs/operations.md.
	want := `+ deal    order 1042 (site shop)  TITLE="Order 1042" STAGE_ID=NEW OPPORTUNITY=1890.00 RUB
~ deal    order 1017 (#877)       STAGE_ID: PREPARATION → WON; OPPORTUNITY: 1500.00 → 1450.00
+ contact customer 311            NAME="Anna" EMAIL=anna@example.com
= 37 orders unchanged
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "dry_run", "changes", "unchanged", "parked", "summary", "cursor"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	if !strings.Contains(b.String(), `"old": "PREPARATION"`) {
		t.Errorf("JSON %s", b.String())
	}
}

func TestDiffFieldsNeverWipesAndComparesAmounts(t *testing.T) {
	remote := map[string]string{"OPPORTUNITY": "1500.00", "COMMENTS": "keep me", "TITLE": "Order 1"}
	get := func(k string) (string, bool) { v, ok := remote[k]; return v, ok }
	diff := diffFields(map[string]string{"OPPORTUNITY": "1500", "COMMENTS": "", "TITLE": "Order 2", "SOURCE_ID": "WEB"}, get)
	if len(diff) != 2 || diff[0].Field != "TITLE" || diff[1].Field != "SOURCE_ID" {
		t.Errorf("diff %+v", diff)
	}
}

func TestCommentTexts(t *testing.T) {
	e := &Engine{mapper: &mapper{txt: texts.For(texts.EN), groups: map[string]string{"cancel-other": "cancel", "complete": "complete"}}}
	val := func(s string) retailcrm.Value { return retailcrm.NewValue([]byte(s)) }
	for _, tc := range []struct {
		r    retailcrm.HistoryRecord
		want string
	}{
		{retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{Field: "status", Source: "user", User: &retailcrm.HistoryUser{ID: 19},
			OldValue: val(`{"code":"new"}`), NewValue: val(`{"code":"cancel-other"}`)}},
			"Order status changed: new → cancel-other (by RetailCRM user 19). The order was cancelled."},
		{retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{Field: "status", Created: true, NewValue: val(`{"code":"new"}`)}}, ""},
		{retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{Field: "order_product.status", Source: "code", NewValue: val(`{"code":"returned"}`)},
			Item: &retailcrm.HistoryItem{ID: 5, Offer: &retailcrm.Offer{Name: "Kettle"}}},
			`Return registered (by RetailCRM (code)): "Kettle" moved to returned.`},
		{retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{Field: "order_product.status", NewValue: val(`{"code":"assembling"}`)}}, ""},
		{retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{Field: "manager_comment", Source: "user", NewValue: val(`"call after 6"`)}},
			"Manager comment (by RetailCRM (user)): call after 6"},
		{retailcrm.HistoryRecord{HistoryChange: retailcrm.HistoryChange{Field: "delivery_cost", NewValue: val(`300`)}}, ""},
	} {
		got := ""
		if cs := e.commentTexts(&retailcrm.Order{}, []retailcrm.HistoryRecord{tc.r}); len(cs) == 1 {
			got = cs[0].text
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.r.Field, got, tc.want)
		}
	}
}

func TestSameValue(t *testing.T) {
	for _, tc := range []struct {
		field, a, b string
		same        bool
	}{
		{"OPPORTUNITY", "1890", "1890.00", true}, {"OPPORTUNITY", "1890.01", "1890.00", false},
		{"COMMENTS", "Delivery: courier<br>Payment: cash", "Delivery: courier\nPayment: cash", true},
		{"TITLE", "Order 1", "Order  1", false}, {"STAGE_ID", " WON", "WON", true},
	} {
		if got := sameValue(tc.field, tc.a, tc.b); got != tc.same {
			t.Errorf("sameValue(%s, %q, %q) = %v", tc.field, tc.a, tc.b, got)
		}
	}
}
