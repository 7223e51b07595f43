package sync

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

func contactOfCustomer(t *testing.T, e *env, customerID int64) bitrixtest.Row {
	t.Helper()
	st := e.openDB()
	defer st.Close()
	l, ok, err := st.CustomerLink(context.Background(), customerID)
	if err != nil || !ok {
		t.Fatalf("customer %d has no link: %v", customerID, err)
	}
	c, ok := e.bx.Contact(l.ContactID)
	if !ok {
		t.Fatalf("contact %d of customer %d is gone", l.ContactID, customerID)
	}
	return c
}

// TestMergeLeavesOneContactWithBothPhones: a customer merged into another
// in RetailCRM gives the survivor's contact its phones and e-mails; its
// own contact stays, with a comment naming the survivor's; the links point
// to the survivor; reading the customers history again writes nothing.
func TestMergeLeavesOneContactWithBothPhones(t *testing.T) {
	e := newEnv(t)
	from := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", LastName: "Old", Email: "anna.old@example.com",
		Phones: []retailcrm.Phone{{Number: "+7 900 111-11-11"}}})
	into := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", LastName: "Lee", Email: "anna@example.com",
		Phones: []retailcrm.Phone{{Number: "+7 900 222-22-22"}}})
	of := e.rc.CreateOrder(order(&from, "100"))
	e.rc.CreateOrder(order(&into, "200"))
	e.pull()
	oldContact := contactOfCustomer(t, e, from.ID)
	survivor := contactOfCustomer(t, e, into.ID)
	if oldContact.ID == survivor.ID {
		t.Fatal("the two customers share a contact before the merge")
	}
	custCursor := e.cursor(store.CursorCustomersHistory)

	if err := e.rc.MergeCustomers(from.ID, into.ID); err != nil {
		t.Fatal(err)
	}
	res := e.pull()
	if res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	got, _ := e.bx.Contact(survivor.ID)
	phones, emails := got.Values("PHONE"), got.Values("EMAIL")
	for _, want := range []string{"+79001111111", "+79002222222"} {
		if !slices.Contains(phones, want) {
			t.Errorf("survivor's phones %v lack %s", phones, want)
		}
	}
	if len(phones) != 2 || len(emails) != 2 {
		t.Errorf("survivor's phones %v, e-mails %v: want two each, no duplicates", phones, emails)
	}
	if len(e.bx.Contacts()) != 2 {
		t.Errorf("%d contacts; the merged one must stay and none be added", len(e.bx.Contacts()))
	}
	old, _ := e.bx.Contact(oldContact.ID)
	if v := old.Values("PHONE"); len(v) != 1 {
		t.Errorf("the old contact's phones changed: %v", v)
	}
	comments := commentsOf(e, strconv.FormatInt(oldContact.ID, 10))
	if len(comments) != 1 || !strings.Contains(comments[0], "contact "+strconv.FormatInt(survivor.ID, 10)) {
		t.Errorf("old contact's comments %q, want one naming contact %d", comments, survivor.ID)
	}
	st := e.openDB()
	if l, ok, _ := st.OrderLink(context.Background(), of.ID); !ok || l.CustomerID != into.ID {
		t.Errorf("the merged customer's order link %+v", l)
	}
	if l, _, _ := st.CustomerLink(context.Background(), from.ID); l.ContactID != survivor.ID {
		t.Errorf("the merged customer's link points to contact %d, want %d", l.ContactID, survivor.ID)
	}
	st.Close()
	// The customers history again, as after a crash before its commit.
	e.setCursor(store.CursorCustomersHistory, custCursor)
	if _, n := e.pullWrites(); n != 0 {
		t.Errorf("the merge read again made %d writes", n)
	}
}
