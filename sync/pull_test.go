package sync

import (
	"context"
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

func TestFreshSyncMatchesExistingContactsAndRepeatCustomers(t *testing.T) {
	e := newEnv(t)
	annaID := e.bx.SeedContact(map[string]any{"NAME": "Anna", "EMAIL": []string{"anna@example.com"}})
	borisID := e.bx.SeedContact(map[string]any{"NAME": "Boris", "PHONE": []string{"8 (915) 000-11-22"}})

	anna := &retailcrm.Customer{FirstName: "Anna", LastName: "Ivanova", Email: " ANNA@Example.com "}
	boris := &retailcrm.Customer{FirstName: "Boris", Phones: []retailcrm.Phone{{Number: "+7 915 000 11 22"}}}
	clara := &retailcrm.Customer{FirstName: "Clara", Email: "clara@example.com", Phones: []retailcrm.Phone{{Number: "+7 (916) 123-45-67"}}}
	o1 := e.rc.CreateOrder(order(anna, "1890"))
	o2 := e.rc.CreateOrder(order(boris, "100.50"))
	o3 := e.rc.CreateOrder(order(clara, "10"))
	claraCust := o3.Customer
	o4 := e.rc.CreateOrder(order(claraCust, "20"))

	res := e.pull()
	if p := res.Parked(); p != 0 {
		t.Fatalf("parked %d: %+v", p, res.Report.Parked)
	}
	deals := e.dealsByOrigin()
	for _, o := range []retailcrm.Order{o1, o2, o3, o4} {
		ds := deals[strconv.FormatInt(o.ID, 10)]
		if len(ds) != 1 {
			t.Fatalf("order %d: %d deals", o.ID, len(ds))
		}
		d := ds[0]
		if d.Str("TITLE") != "Order "+o.Number || d.Str("STAGE_ID") != "NEW" || d.Str("ORIGINATOR_ID") != "retailcrm" {
			t.Errorf("deal of order %d: %+v", o.ID, d.Fields)
		}
	}
	if got := deals[strconv.FormatInt(o1.ID, 10)][0].Str("OPPORTUNITY"); got != "1890.00" {
		t.Errorf("OPPORTUNITY %q", got)
	}
	if got := deals[strconv.FormatInt(o1.ID, 10)][0].Str("CONTACT_ID"); got != strconv.FormatInt(annaID, 10) {
		t.Errorf("Anna's deal contact %s, want %d", got, annaID)
	}
	if got := deals[strconv.FormatInt(o2.ID, 10)][0].Str("CONTACT_ID"); got != strconv.FormatInt(borisID, 10) {
		t.Errorf("Boris's deal contact %s, want %d", got, borisID)
	}
	c3 := deals[strconv.FormatInt(o3.ID, 10)][0].Str("CONTACT_ID")
	c4 := deals[strconv.FormatInt(o4.ID, 10)][0].Str("CONTACT_ID")
	if c3 != c4 || c3 == "" {
		t.Errorf("Clara's orders have contacts %q and %q", c3, c4)
	}
	// A repeat purchase is marked on the second order's deal only.
	if r3, r4 := deals[strconv.FormatInt(o3.ID, 10)][0].Str("IS_RETURN_CUSTOMER"), deals[strconv.FormatInt(o4.ID, 10)][0].Str("IS_RETURN_CUSTOMER"); r3 != "N" || r4 != "Y" {
		t.Errorf("IS_RETURN_CUSTOMER of Clara's orders: %q, %q", r3, r4)
	}
	if n := len(e.bx.Contacts()); n != 3 {
		t.Errorf("%d contacts, want 3", n)
	}
	a, _ := e.bx.Contact(annaID)
	if v := a.Values("EMAIL"); len(v) != 1 {
		t.Errorf("Anna's e-mails %v (duplicated?)", v)
	}
	if a.Str("ORIGIN_ID") == "" || a.Str("LAST_NAME") != "Ivanova" {
		t.Errorf("Anna not claimed/updated: %+v", a.Fields)
	}
	b, _ := e.bx.Contact(borisID)
	if v := b.Values("PHONE"); len(v) != 1 {
		t.Errorf("Boris's phones %v (duplicated?)", v)
	}
	s := res.Report.Summary
	if s.DealsCreated != 4 || s.ContactsCreated != 1 || s.ContactsUpdated != 2 {
		t.Errorf("summary %+v", s)
	}

	// A second run with no changes sends no write.
	before := e.writes()
	res = e.pull()
	if w := e.writes() - before; w != 0 {
		t.Errorf("second run wrote %d commands", w)
	}
	if res.Report.Summary.BitrixRequests != 0 {
		t.Errorf("second run made %d Bitrix24 requests", res.Report.Summary.BitrixRequests)
	}
}

// pull records each linked order's status group, so push knows which
// deals are open (their comments are swept) without asking RetailCRM.
func TestLinksRecordTheOrderStatusGroup(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10"))
	e.pull()
	_, st := e.engine(false)
	if l, ok, err := st.OrderLink(context.Background(), o.ID); err != nil || !ok || l.StatusGroup != "new" {
		t.Fatalf("link %+v %v %v, want group new", l, ok, err)
	}
	st.Close()
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	e.pull()
	_, st = e.engine(false)
	if l, _, err := st.OrderLink(context.Background(), o.ID); err != nil || l.StatusGroup != "complete" {
		t.Errorf("link %+v %v, want group complete", l, err)
	}
}
