package bitrix_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix"
)

func bindings(t *testing.T, p *pair, e bitrix.Entity, id bitrix.ID) []bitrix.ContactBinding {
	t.Helper()
	list, err := p.c.LinkedContacts(context.Background(), e, id)
	if err != nil {
		t.Fatalf("crm.%s.contact.items.get %d: %v", e, id, err)
	}
	return list
}

func primary(b bool) *bool { return &b }

// TestDealContactsAsDocumented walks a deal's list of contacts through the
// methods that change it, as b24restdocs api-reference/crm/deals/contacts/*
// and crm-deal-add/update/get describe them (docs/api-notes.md, "Deal contacts").
func TestDealContactsAsDocumented(t *testing.T) {
	ctx, p := parallelPair(t)
	var c [5]bitrix.ID
	for i := range c {
		id, err := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "C" + string(rune('0'+i))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c[i] = id
	}
	deal, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "Order 1", "CONTACT_IDS": []bitrix.ID{c[0], c[1]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []bitrix.ContactBinding{{ContactID: c[0], Sort: 10, Primary: true}, {ContactID: c[1], Sort: 20}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after crm.deal.add CONTACT_IDS: %s", cmp.Diff(want, got))
	}
	// crm.deal.get and crm.deal.list show the primary contact as CONTACT_ID
	// and never CONTACT_IDS.
	d, err := p.c.Get(ctx, bitrix.EntityDeal, deal)
	if err != nil || d.IDField("CONTACT_ID") != c[0] || d.Has("CONTACT_IDS") {
		t.Fatalf("crm.deal.get: %v %v", d, err)
	}

	// contact.add without IS_PRIMARY: appended, not primary; a second time
	// it answers false and changes nothing.
	added, err := p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[2]})
	if err != nil || !added {
		t.Fatalf("link c2: %v %v", added, err)
	}
	added, err = p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[2], Primary: primary(true)})
	if err != nil || added {
		t.Fatalf("link c2 again: %v %v", added, err)
	}
	want = append(want, bitrix.ContactBinding{ContactID: c[2], Sort: 30})
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after crm.deal.contact.add: %s", cmp.Diff(want, got))
	}

	// IS_PRIMARY=Y takes the flag; CONTACT_ID follows it.
	if _, err := p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[3], Primary: primary(true), Sort: 5}); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[3], Sort: 5, Primary: true}, {ContactID: c[0], Sort: 10},
		{ContactID: c[1], Sort: 20}, {ContactID: c[2], Sort: 30}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after IS_PRIMARY=Y: %s", cmp.Diff(want, got))
	}
	if d, _ := p.c.Get(ctx, bitrix.EntityDeal, deal); d.IDField("CONTACT_ID") != c[3] {
		t.Fatalf("CONTACT_ID %v, want the primary %d", d.String("CONTACT_ID"), c[3])
	}

	// An update without contact fields keeps the list.
	if err := p.c.Update(ctx, bitrix.EntityDeal, deal, bitrix.Fields{"TITLE": "Order 1 (2)"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after a plain update: %s", cmp.Diff(want, got))
	}
	// The deprecated CONTACT_ID on update replaces the list (the harsh
	// reading: nothing may rely on it keeping a person's contacts).
	if err := p.c.Update(ctx, bitrix.EntityDeal, deal, bitrix.Fields{"CONTACT_ID": c[1]}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[1], Sort: 10, Primary: true}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after CONTACT_ID on update: %s", cmp.Diff(want, got))
	}
	// CONTACT_IDS on update is "completely replaced".
	if err := p.c.Update(ctx, bitrix.EntityDeal, deal, bitrix.Fields{"CONTACT_IDS": []bitrix.ID{c[4], c[0]}}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[4], Sort: 10, Primary: true}, {ContactID: c[0], Sort: 20}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after CONTACT_IDS on update: %s", cmp.Diff(want, got))
	}

	// items.set replaces; the first IS_PRIMARY=Y wins; default SORT (i+1)*10.
	if _, err := p.c.Call(ctx, "crm.deal.contact.items.set", map[string]any{"id": deal, "items": []map[string]any{
		{"CONTACT_ID": c[2]}, {"CONTACT_ID": c[3], "IS_PRIMARY": "Y"}, {"CONTACT_ID": c[1], "IS_PRIMARY": "Y", "SORT": 100}}}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[2], Sort: 10}, {ContactID: c[3], Sort: 20, Primary: true}, {ContactID: c[1], Sort: 100}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after items.set: %s", cmp.Diff(want, got))
	}
	// Deleting the primary link makes the first remaining one primary.
	if _, err := p.c.Call(ctx, "crm.deal.contact.delete", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": c[3]}}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[2], Sort: 10, Primary: true}, {ContactID: c[1], Sort: 100}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after contact.delete: %s", cmp.Diff(want, got))
	}
	if _, err := p.c.Call(ctx, "crm.deal.contact.items.delete", map[string]any{"id": deal}, nil); err != nil {
		t.Fatal(err)
	}
	if got := bindings(t, p, bitrix.EntityDeal, deal); len(got) != 0 {
		t.Fatalf("after items.delete: %v", got)
	}
	if d, _ := p.c.Get(ctx, bitrix.EntityDeal, deal); d.Has("CONTACT_ID") {
		t.Fatalf("a deal without contacts shows CONTACT_ID %s", d.String("CONTACT_ID"))
	}
	// The first contact linked to a deal without contacts becomes primary.
	if _, err := p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[0], Primary: primary(false)}); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[0], Sort: 10, Primary: true}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("first link: %s", cmp.Diff(want, got))
	}
}

func TestDealContactMethodsRefuseAsDocumented(t *testing.T) {
	ctx, p := parallelPair(t)
	cid, _ := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "Anna"}, nil)
	deal, _ := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "x"}, nil)
	for _, tc := range []struct {
		name   string
		method string
		params map[string]any
		is     error
		desc   string
	}{
		{"add without id", "crm.deal.contact.add", map[string]any{"fields": map[string]any{"CONTACT_ID": cid}}, bitrix.ErrBadRequest, "ownerEntityID"},
		{"add to a missing deal", "crm.deal.contact.add", map[string]any{"id": 99999, "fields": map[string]any{"CONTACT_ID": cid}}, bitrix.ErrNotFound, "Not found."},
		{"add without fields", "crm.deal.contact.add", map[string]any{"id": deal}, bitrix.ErrBadRequest, "'fields' must be array"},
		{"add without CONTACT_ID", "crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"SORT": 10}}, bitrix.ErrBadRequest, "'fields' is not valid"},
		{"add CONTACT_ID 0", "crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": 0}}, bitrix.ErrBadRequest, "'fields' is not valid"},
		{"items.get without id", "crm.deal.contact.items.get", map[string]any{}, bitrix.ErrBadRequest, "ownerEntityID"},
		{"items.get of a missing deal", "crm.deal.contact.items.get", map[string]any{"id": 99999}, bitrix.ErrNotFound, "Not found."},
		{"items.set without items", "crm.deal.contact.items.set", map[string]any{"id": deal, "items": "x"}, bitrix.ErrBadRequest, "items must be array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.c.Call(ctx, tc.method, tc.params, nil)
			var ae *bitrix.APIError
			if !errors.Is(err, tc.is) || !errors.As(err, &ae) || !strings.Contains(ae.Description, tc.desc) {
				t.Fatalf("%s: got %v, want %v with %q", tc.method, err, tc.is, tc.desc)
			}
		})
	}
	if got := bindings(t, p, bitrix.EntityDeal, deal); len(got) != 0 {
		t.Fatalf("a refused call linked %v", got)
	}
}

// TestLeadContacts: a lead's CONTACT_ID is its documented link field (not
// deprecated); saving the lead with it makes a repeat lead, linking through
// crm.lead.contact.add does not.
func TestLeadContacts(t *testing.T) {
	ctx, p := parallelPair(t)
	a, _ := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "A"}, nil)
	b, _ := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "B"}, nil)
	lead, err := p.c.Add(ctx, bitrix.EntityLead, bitrix.Fields{"TITLE": "L", "CONTACT_ID": a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []bitrix.ContactBinding{{ContactID: a, Sort: 10, Primary: true}}
	if got := bindings(t, p, bitrix.EntityLead, lead); !cmp.Equal(got, want) {
		t.Fatalf("lead add: %s", cmp.Diff(want, got))
	}
	if l, _ := p.srv.Lead(int64(lead)); l.Str("IS_RETURN_CUSTOMER") != "Y" || l.Str("CONTACT_ID") != a.String() {
		t.Fatalf("lead %v", l.Fields)
	}
	plain, _ := p.c.Add(ctx, bitrix.EntityLead, bitrix.Fields{"TITLE": "M"}, nil)
	if _, err := p.c.LinkContact(ctx, bitrix.EntityLead, plain, bitrix.ContactLink{ContactID: b}); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.srv.Lead(int64(plain)); l.Str("IS_RETURN_CUSTOMER") != "N" || l.Str("CONTACT_ID") != b.String() {
		t.Fatalf("crm.lead.contact.add: %v", l.Fields)
	}
	if err := p.c.Update(ctx, bitrix.EntityLead, plain, bitrix.Fields{"CONTACT_ID": b}, nil); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.srv.Lead(int64(plain)); l.Str("IS_RETURN_CUSTOMER") != "Y" {
		t.Fatalf("crm.lead.update CONTACT_ID: %v", l.Fields)
	}
}
