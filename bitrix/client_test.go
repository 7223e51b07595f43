package bitrix_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

func TestDealLifecycle(t *testing.T) {
	ctx, p := parallelPair(t)
	p.srv.SeedUserField("CRM_DEAL", "UF_CRM_DELIVERY", "string", false)
	id, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "Order 1042", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "1042",
		"OPPORTUNITY": 1890, "CURRENCY_ID": "RUB", "STAGE_ID": "NEW", "UF_CRM_DELIVERY": "courier", "UF_CRM_TYPO": "x"},
		bitrix.Params{"REGISTER_SONET_EVENT": "N"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.c.Get(ctx, bitrix.EntityDeal, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.String("OPPORTUNITY") != "1890.00" || d.String("ORIGIN_ID") != "1042" || d.String("UF_CRM_DELIVERY") != "courier" || d.Has("UF_CRM_TYPO") {
		t.Fatalf("deal %v", d)
	}
	if err := p.c.Update(ctx, bitrix.EntityDeal, id, bitrix.Fields{"STAGE_ID": "WON", "CATEGORY_ID": 5, "NOPE": 1}, nil); err != nil {
		t.Fatal(err)
	}
	row, _ := p.srv.Deal(int64(id))
	if row.Str("STAGE_ID") != "WON" || row.Str("CATEGORY_ID") != "0" || row.Str("STAGE_SEMANTIC_ID") != "S" {
		t.Fatalf("row %v", row.Fields)
	}
	err = p.c.Update(ctx, bitrix.EntityDeal, 99999, bitrix.Fields{"TITLE": "x"}, nil)
	if !errors.Is(err, bitrix.ErrNotFound) {
		t.Fatalf("update of missing deal: %v", err)
	}
	if _, err := p.c.Get(ctx, bitrix.EntityDeal, 0); !errors.Is(err, bitrix.ErrBadRequest) {
		t.Fatalf("get id 0: %v", err)
	}
	hist, err := p.c.StageHistorySince(ctx, bitrix.EntityTypeDeal, 0, map[string]any{"OWNER_ID": id}, 0)
	if err != nil || len(hist) != 2 || hist[1].StageID != "WON" || hist[1].TypeID != 3 {
		t.Fatalf("history %+v %v", hist, err)
	}
}

func TestDealListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	ctx := context.Background()
	for i := 1; i <= 120; i++ {
		p.srv.SeedDeal(map[string]any{"TITLE": fmt.Sprintf("Order %d", i), "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": fmt.Sprint(1000 + i), "OPPORTUNITY": i})
	}
	page, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{"ORIGINATOR_ID": "retailcrm", "@ORIGIN_ID": []string{"1042", "1017", "9999"}},
		Select: []string{"ID", "ORIGIN_ID", "STAGE_ID"}})
	if err != nil || len(page.Rows) != 2 || page.Total != 2 {
		t.Fatalf("%+v %v", page, err)
	}
	if page.Rows[0].String("ORIGIN_ID") != "1017" || page.Rows[0].Has("TITLE") {
		t.Fatalf("select not honoured: %v", page.Rows[0])
	}
	page, err = p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{">OPPORTUNITY": 10}, Start: 50})
	if err != nil || page.Total != 110 || !page.HasNext || page.Next != 100 || len(page.Rows) != 50 {
		t.Fatalf("paging: total %d next %d rows %d err %v", page.Total, page.Next, len(page.Rows), err)
	}
	var seen []bitrix.ID
	err = p.c.ListAll(ctx, bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{"!@ORIGIN_ID": []string{"1001"}}, Select: []string{"ORIGIN_ID"}},
		func(r bitrix.Record) error { seen = append(seen, r.ID()); return nil })
	if err != nil || len(seen) != 119 || seen[0] != 2 || seen[118] != 120 {
		t.Fatalf("list all: %d rows, err %v", len(seen), err)
	}
	if n := p.srv.Stats().PerMethod["crm.deal.list"]; n != 2+3 {
		t.Fatalf("list requests %d, want 5", n)
	}
}

func TestContactMultifieldDuplicateTrap(t *testing.T) {
	ctx, p := parallelPair(t)
	id, err := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "Anna", "PHONE": []any{bitrix.NewMultifield("+7 (900) 111-22-33", "MOBILE")},
		"EMAIL": []any{bitrix.NewMultifield("Anna@Example.com", "")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.c.Get(ctx, bitrix.EntityContact, id)
	if err != nil {
		t.Fatal(err)
	}
	phones := c.Multi("PHONE")
	if len(phones) != 1 || phones[0].ValueType != "MOBILE" || phones[0].ID == 0 {
		t.Fatalf("phones %+v", phones)
	}
	// The trap: resending an existing value without its row ID adds a row.
	if err := p.c.Update(ctx, bitrix.EntityContact, id, bitrix.Fields{"PHONE": []any{bitrix.NewMultifield("+7 (900) 111-22-33", "MOBILE")}}, nil); err != nil {
		t.Fatal(err)
	}
	row, _ := p.srv.Contact(int64(id))
	if len(row.Multi["PHONE"]) != 2 {
		t.Fatalf("fake must duplicate a row sent without ID, got %v", row.Multi["PHONE"])
	}
	// MissingValues sends only what is new.
	have := c.Multi("PHONE")
	add := bitrix.MissingValues(have, []string{"8 900 111 22 33", "+79001112233", "+7 900 555-00-00"}, bitrix.NormalizePhone)
	if len(add) != 2 { // 8900... differs from 7900... in digits; +7900 1112233 is present
		t.Fatalf("missing %v", add)
	}
	// Update, delete by DELETE=Y, by empty VALUE and by bare ID.
	rows := row.Multi["PHONE"]
	err = p.c.Update(ctx, bitrix.EntityContact, id, bitrix.Fields{"PHONE": []any{
		bitrix.UpdateMultifield(bitrix.ID(rows[0].ID), "+7 900 000-00-01", ""),
		bitrix.DeleteMultifield(bitrix.ID(rows[1].ID)),
	}, "EMAIL": []any{map[string]any{"ID": c.Multi("EMAIL")[0].ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	row, _ = p.srv.Contact(int64(id))
	if len(row.Multi["PHONE"]) != 1 || row.Multi["PHONE"][0].Value != "+7 900 000-00-01" || len(row.Multi["EMAIL"]) != 0 {
		t.Fatalf("after update: %+v", row.Multi)
	}
	if err := p.c.Update(ctx, bitrix.EntityContact, 4242, bitrix.Fields{"NAME": "x"}, nil); !errors.Is(err, bitrix.ErrNotFound) {
		t.Fatalf("missing contact: %v", err)
	}
	// Multifields come back from list only when named.
	page, err := p.c.List(ctx, bitrix.EntityContact, bitrix.ListRequest{Filter: map[string]any{"PHONE": "+7 900 000-00-01"}})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].Has("PHONE") {
		t.Fatalf("list without select: %+v %v", page, err)
	}
	page, err = p.c.List(ctx, bitrix.EntityContact, bitrix.ListRequest{Select: []string{"ID", "NAME", "PHONE", "EMAIL"}})
	if err != nil || len(page.Rows[0].Multi("PHONE")) != 1 {
		t.Fatalf("list with select: %+v %v", page, err)
	}
}

func TestFindByComm(t *testing.T) {
	ctx, p := parallelPair(t)
	a := p.srv.SeedContact(map[string]any{"NAME": "A", "EMAIL": []string{"Anna@Example.com"}, "PHONE": []string{"+7 900 111-22-33"}})
	b := p.srv.SeedContact(map[string]any{"NAME": "B", "EMAIL": []string{"b@example.com"}})
	m, err := p.c.FindByComm(ctx, bitrix.CommEmail, []string{" anna@example.com"}, "CONTACT")
	if err != nil || len(m["CONTACT"]) != 1 || m["CONTACT"][0] != bitrix.ID(a) {
		t.Fatalf("%v %v", m, err)
	}
	m, err = p.c.FindByComm(ctx, bitrix.CommPhone, []string{"79001112233"}, "CONTACT")
	if err != nil || len(m["CONTACT"]) != 1 {
		t.Fatalf("phone %v %v", m, err)
	}
	m, err = p.c.FindByComm(ctx, bitrix.CommEmail, []string{"nobody@example.com"}, "CONTACT")
	if err != nil || len(m) != 0 {
		t.Fatalf("no match should be empty: %v %v", m, err)
	}
	values := make([]string, 45)
	for i := range values {
		values[i] = fmt.Sprintf("x%d@example.com", i)
	}
	values[44] = "B@example.com"
	before := p.srv.Stats().PerMethod["crm.duplicate.findbycomm"]
	m, err = p.c.FindByComm(ctx, bitrix.CommEmail, values, "CONTACT")
	if err != nil || len(m["CONTACT"]) != 1 || m["CONTACT"][0] != bitrix.ID(b) {
		t.Fatalf("split: %v %v", m, err)
	}
	if n := p.srv.Stats().PerMethod["crm.duplicate.findbycomm"] - before; n != 3 {
		t.Fatalf("45 values took %d calls, want 3", n)
	}
	// More than 20 values in one raw call is no error: the portal looks up
	// the first 20 distinct ones and drops the rest without a word.
	var raw json.RawMessage
	if _, err = p.c.Call(ctx, "crm.duplicate.findbycomm", map[string]any{"type": "EMAIL", "values": values, "entity_type": "CONTACT"}, &raw); err != nil {
		t.Fatalf("21+ values: %v", err)
	}
	if m, err := bitrix.DecodeDuplicates(raw); err != nil || len(m) != 0 {
		t.Fatalf("value 45 of one call was looked up: %v %v", m, err)
	}
	// Repeats and empty values do not count towards the 20.
	padded := append([]string{"", "x0@example.com", "X0@example.com "}, values[:19]...)
	padded = append(padded, "b@example.com")
	if _, err = p.c.Call(ctx, "crm.duplicate.findbycomm", map[string]any{"type": "EMAIL", "values": padded, "entity_type": "CONTACT"}, &raw); err != nil {
		t.Fatal(err)
	}
	if m, err := bitrix.DecodeDuplicates(raw); err != nil || len(m["CONTACT"]) != 1 {
		t.Fatalf("the 20th distinct value was not looked up: %v %v", m, err)
	}
	// At most 20 matches per value.
	for range 25 {
		p.srv.SeedContact(map[string]any{"NAME": "Shared", "PHONE": []string{"+7 900 000-00-01"}})
	}
	m, err = p.c.FindByComm(ctx, bitrix.CommPhone, []string{"79000000001"}, "CONTACT")
	if err != nil || len(m["CONTACT"]) != 20 {
		t.Fatalf("shared phone: %d matches, want 20 (%v)", len(m["CONTACT"]), err)
	}
}

func TestFindByCommGetLosesParameters(t *testing.T) {
	t.Parallel()
	srv := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	resp, err := newHTTPClient(t).Get(srv.WebhookURL() + "crm.duplicate.findbycomm?type=EMAIL&values[]=a@b.c")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := readAll(t, resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(body, "Communication type is not defined") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestFakeAcceptsFormBodiesAndChecksTimelineFields(t *testing.T) {
	t.Parallel()
	srv := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	raw := newRawCaller(t, srv)
	status, body := raw.postForm("crm.deal.add", "fields%5BTITLE%5D=Form+deal&FIELDS[OPPORTUNITY]=5")
	if status != 200 || !strings.Contains(body, `"result":1`) {
		t.Fatalf("%d %s", status, body)
	}
	d, _ := srv.Deal(1)
	if d.Str("TITLE") != "Form deal" {
		t.Fatalf("deal %v", d.Fields)
	}
	// Legacy keys are case-insensitive, timeline comments are not.
	status, body = raw.postJSON("crm.timeline.comment.add", map[string]any{"FIELDS": map[string]any{"ENTITY_ID": 1, "ENTITY_TYPE": "deal", "COMMENT": "x"}})
	if status != 400 || !strings.Contains(body, "INVALID_ARG_VALUE") {
		t.Fatalf("%d %s", status, body)
	}
	status, body = raw.postJSON("crm.timeline.comment.add", map[string]any{"fields": map[string]any{"ENTITY_ID": 1, "ENTITY_TYPE": "deal", "COMMENT": " "}})
	if status != 400 || !strings.Contains(body, "INVALID_ARG_VALUE") {
		t.Fatalf("%d %s", status, body)
	}
	status, body = raw.postJSON("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_TYPE": "deal"}})
	if status != 400 {
		t.Fatalf("%d %s", status, body)
	}
	status, body = raw.postJSON("no.such.method", nil)
	if status != 404 || !strings.Contains(body, "ERROR_METHOD_NOT_FOUND") {
		t.Fatalf("%d %s", status, body)
	}
	// Every answer carries a time object with operating fields.
	status, body = raw.postJSON("scope", nil)
	if status != 200 || !strings.Contains(body, `"operating_reset_at"`) || !strings.Contains(body, `"operating"`) {
		t.Fatalf("%d %s", status, body)
	}
}
