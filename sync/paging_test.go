package sync

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// duplicatesOf reads the recorded duplicate groups.
func (e *env) duplicatesOf(t *testing.T) []store.Duplicate {
	t.Helper()
	st := e.openDB()
	defer st.Close()
	d, err := st.Duplicates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A person copied order A's deal 59 times: the lookup of A and B (one
// command, ORIGIN_ID ASC by ID) answers 61 rows, and B's deal sits on the
// second page. Every page is read: no deal is created, the updates go to
// the oldest of A's deals, and the copies are recorded.
func TestLookupReadsEveryPageOfDuplicateDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "100"))
	b := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Boris", Email: "boris@example.com"}, "200"))
	aOrigin, bOrigin := strconv.FormatInt(a.ID, 10), strconv.FormatInt(b.ID, 10)
	var copies []int64
	for i := range 60 {
		copies = append(copies, e.bx.SeedDeal(map[string]any{"TITLE": "copy " + strconv.Itoa(i), "STAGE_ID": "NEW",
			"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": aOrigin}))
	}
	bDeal := e.bx.SeedDeal(map[string]any{"TITLE": "by hand", "STAGE_ID": "NEW", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": bOrigin})

	res := e.pull()
	if res.Parked() != 0 || res.Report.Summary.DealsCreated != 0 {
		t.Fatalf("parked %d, deals created %d: %+v", res.Parked(), res.Report.Summary.DealsCreated, res.Report.Parked)
	}
	deals := e.dealsByOrigin()
	if n, m := len(deals[aOrigin]), len(deals[bOrigin]); n != 60 || m != 1 || len(e.bx.Deals()) != 61 {
		t.Fatalf("deals: %d of order A, %d of order B, %d in all; want 60, 1, 61", n, m, len(e.bx.Deals()))
	}
	if d, _ := e.bx.Deal(copies[0]); d.Str("TITLE") != "Order "+a.Number {
		t.Errorf("the oldest deal of order A was not updated: %+v", d.Fields)
	}
	for i, id := range copies[1:] {
		if d, _ := e.bx.Deal(id); d.Str("TITLE") != "copy "+strconv.Itoa(i+1) {
			t.Fatalf("copy %d was written: %+v", id, d.Fields)
		}
	}
	if d, _ := e.bx.Deal(bDeal); d.Str("TITLE") != "Order "+b.Number {
		t.Errorf("order B's deal (past the first page) was not found: %+v", d.Fields)
	}

	// A later change of order A goes to the oldest deal too.
	e.updateOrder(a.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	res = e.pull()
	if res.Parked() != 0 || res.Report.Summary.DealsCreated != 0 || len(e.bx.Deals()) != 61 {
		t.Fatalf("second pull: parked %d, created %d, %d deals", res.Parked(), res.Report.Summary.DealsCreated, len(e.bx.Deals()))
	}
	if d, _ := e.bx.Deal(copies[0]); d.Str("STAGE_ID") != "WON" {
		t.Errorf("order A's new stage went elsewhere: oldest deal %+v", d.Fields)
	}
	for _, id := range copies[1:] {
		if d, _ := e.bx.Deal(id); d.Str("STAGE_ID") != "NEW" {
			t.Fatalf("copy %d moved to %s", id, d.Str("STAGE_ID"))
		}
	}

	dups := e.duplicatesOf(t)
	if len(dups) != 1 || dups[0].EntityType != store.EntityDeal || dups[0].OriginID != a.ID || dups[0].KeptID != copies[0] ||
		!slices.Equal(dups[0].Others, copies[1:]) {
		t.Errorf("recorded duplicates %+v; want deal %d kept %d with %d others", dups, a.ID, copies[0], len(copies)-1)
	}

	// Someone clears the copies' ORIGIN_ID: the next lookup of order A
	// finds one deal, and the record goes.
	for _, id := range copies[1:] {
		if err := e.bxc.Update(context.Background(), bitrix.EntityDeal, bitrix.ID(id), bitrix.Fields{"ORIGIN_ID": ""}, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.updateOrder(a.ID, func(o *retailcrm.Order) { o.Status = "cancel-other" })
	e.pull()
	if dups := e.duplicatesOf(t); len(dups) != 0 {
		t.Errorf("duplicates still recorded after the clean-up: %+v", dups)
	}
}

// The same for contacts: 60 contacts carry customer A's ORIGIN_ID, and
// customer B's contact (its e-mail since changed in RetailCRM, so the
// duplicate search cannot find it) is on the second page.
func TestLookupReadsEveryPageOfDuplicateContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", LastName: "Ivanova", Email: "anna@example.com"}, "100"))
	b := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Boris", LastName: "Petrov", Email: "boris@example.com"}, "200"))
	aCust, bCust := a.Customer.ID, b.Customer.ID
	var copies []int64
	for i := range 60 {
		copies = append(copies, e.bx.SeedContact(map[string]any{"NAME": "copy " + strconv.Itoa(i),
			"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(aCust, 10)}))
	}
	bContact := e.bx.SeedContact(map[string]any{"NAME": "Boris", "EMAIL": []string{"old-boris@example.com"},
		"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(bCust, 10)})

	res := e.pull()
	if res.Parked() != 0 || res.Report.Summary.ContactsCreated != 0 || len(e.bx.Contacts()) != 61 {
		t.Fatalf("parked %d, contacts created %d, %d contacts; want 0, 0, 61", res.Parked(), res.Report.Summary.ContactsCreated, len(e.bx.Contacts()))
	}
	if c, _ := e.bx.Contact(copies[0]); c.Str("LAST_NAME") != "Ivanova" || !slices.Contains(c.Values("EMAIL"), "anna@example.com") {
		t.Errorf("the oldest contact of customer A was not updated: %+v %v", c.Fields, c.Values("EMAIL"))
	}
	for _, id := range copies[1:] {
		if c, _ := e.bx.Contact(id); c.Str("LAST_NAME") != "" || len(c.Values("EMAIL")) != 0 {
			t.Fatalf("copy %d was written: %+v", id, c.Fields)
		}
	}
	if c, _ := e.bx.Contact(bContact); c.Str("LAST_NAME") != "Petrov" || !slices.Contains(c.Values("EMAIL"), "boris@example.com") {
		t.Errorf("customer B's contact (past the first page) was not found: %+v %v", c.Fields, c.Values("EMAIL"))
	}
	dups := e.duplicatesOf(t)
	if len(dups) != 1 || dups[0].EntityType != store.EntityContact || dups[0].OriginID != aCust || dups[0].KeptID != copies[0] ||
		!slices.Equal(dups[0].Others, copies[1:]) {
		t.Errorf("recorded duplicates %+v; want contact %d kept %d with %d others", dups, aCust, copies[0], len(copies)-1)
	}
}

// A lookup chunk whose answer runs to three pages reads the two further
// pages in one more batch (the first answer's total says how many).
func TestLookupFetchesFurtherPagesInOneBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var orders []retailcrm.Order
	for i := range 3 {
		orders = append(orders, e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "C" + strconv.Itoa(i)}, "10")))
	}
	kept := map[int64]int64{}
	for _, o := range orders {
		for range 40 { // 120 rows for one lookup command
			id := e.bx.SeedDeal(map[string]any{"TITLE": "copy", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(o.ID, 10)})
			if kept[o.ID] == 0 {
				kept[o.ID] = id
			}
		}
	}
	before := e.bx.Stats()
	res := e.pull()
	after := e.bx.Stats()
	if res.Parked() != 0 || res.Report.Summary.DealsCreated != 0 || len(e.bx.Deals()) != 120 {
		t.Fatalf("parked %d, created %d, %d deals; want 0, 0, 120", res.Parked(), res.Report.Summary.DealsCreated, len(e.bx.Deals()))
	}
	// The deal lookup ran once with start 0 and once each at 50 and 100.
	if n := after.CommandsPerMethod["crm.deal.list"] - before.CommandsPerMethod["crm.deal.list"]; n != 3 {
		t.Errorf("%d crm.deal.list commands, want 3 (one per page)", n)
	}
	for _, o := range orders {
		if d, _ := e.bx.Deal(kept[o.ID]); d.Str("TITLE") != "Order "+o.Number {
			t.Errorf("order %d: the oldest deal %d was not updated: %+v", o.ID, kept[o.ID], d.Fields)
		}
	}
	if dups := e.duplicatesOf(t); len(dups) != 3 || len(dups[0].Others) != 39 {
		t.Fatalf("recorded duplicates %+v", dups)
	}
}
