package sync

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// profileEnv is an env whose contacts carry every profile value.
func profileEnv(t *testing.T) *env {
	e := newEnv(t)
	e.cfg.Mapping.ProfileFields = map[string]string{
		config.ProfileOrdersCount: "UF_CRM_ORDERS_COUNT", config.ProfileTotalSpent: "UF_CRM_TOTAL_SPENT",
		config.ProfileFirstOrderDate: "UF_CRM_FIRST_ORDER", config.ProfileLastOrderDate: "UF_CRM_LAST_ORDER",
		config.ProfileLastOrderNumber: "UF_CRM_LAST_NUMBER",
	}
	for _, f := range []string{"UF_CRM_ORDERS_COUNT", "UF_CRM_TOTAL_SPENT", "UF_CRM_FIRST_ORDER", "UF_CRM_LAST_ORDER", "UF_CRM_LAST_NUMBER"} {
		e.bx.SeedUserField("CRM_CONTACT", f, "string", false)
	}
	return e
}

// contactProfile reads the profile fields of a customer's contact.
func contactProfile(e *env, customerID int64) map[string]string {
	for _, c := range e.bx.Contacts() {
		if c.Str("ORIGIN_ID") == strconv.FormatInt(customerID, 10) {
			return map[string]string{"count": c.Str("UF_CRM_ORDERS_COUNT"), "spent": c.Str("UF_CRM_TOTAL_SPENT"),
				"first": c.Str("UF_CRM_FIRST_ORDER"), "last": c.Str("UF_CRM_LAST_ORDER"), "number": c.Str("UF_CRM_LAST_NUMBER")}
		}
	}
	return nil
}

// expectedProfile recomputes a customer's profile from scratch from the
// orders RetailCRM holds, by the documented rule: orders in the cancel
// group, in a return status or with every line returned do not count.
func expectedProfile(e *env, customerID int64, ids []int64) map[string]string {
	count, spent := 0, decimal.Zero
	first, last, number := "", "", ""
	var lastID int64
	for _, id := range ids {
		o, ok := e.rc.Order(id)
		if !ok || o.Customer == nil || o.Customer.ID != customerID {
			continue
		}
		if o.Status == "cancel-other" || o.Status == "no-call" || o.Status == "return" {
			continue
		}
		returned := len(o.Items) > 0
		for _, it := range o.Items {
			returned = returned && (it.Status == "returned" || it.Status == "cancelled")
		}
		if returned {
			continue
		}
		count++
		spent = spent.Add(o.TotalSumm)
		at := o.CreatedAt.String()
		if first == "" || at < first {
			first = at
		}
		if at > last || at == last && id > lastID {
			last, number, lastID = at, o.Number, id
		}
	}
	out := map[string]string{"count": strconv.Itoa(count), "spent": spent.StringFixed(2), "first": dateOf(first), "last": dateOf(last), "number": number}
	return out
}

func TestPurchaseProfileAndRepeatPurchase(t *testing.T) {
	e := profileEnv(t)
	e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"})
	o1 := e.rc.CreateOrder(order(&c, "100"))
	e.pull()
	if got := contactProfile(e, c.ID); got["count"] != "1" || got["spent"] != "100.00" || got["number"] != o1.Number || got["first"] == "" {
		t.Fatalf("after one order: %v", got)
	}
	later := order(&c, "250.50")
	later.CreatedAt = retailcrm.NewDateTime(time.Now().Add(48 * time.Hour))
	o2 := e.rc.CreateOrder(later)
	e.pull()
	got := contactProfile(e, c.ID)
	if got["count"] != "2" || got["spent"] != "350.50" || got["number"] != o2.Number {
		t.Errorf("after two orders: %v", got)
	}
	if d := dealOf(t, e, o2.ID); d["IS_RETURN_CUSTOMER"] != "Y" {
		t.Errorf("second order's deal not marked as a repeat purchase: %v", d["IS_RETURN_CUSTOMER"])
	}
	if d := dealOf(t, e, o1.ID); d["IS_RETURN_CUSTOMER"] == "Y" {
		t.Errorf("first order's deal marked as a repeat purchase")
	}
	// A cancellation takes the order out of the profile.
	e.updateOrder(o2.ID, func(o *retailcrm.Order) { o.Status = "cancel-other" })
	e.pull()
	if got := contactProfile(e, c.ID); got["count"] != "1" || got["spent"] != "100.00" || got["number"] != o1.Number {
		t.Errorf("after the cancellation: %v", got)
	}
	if want := expectedProfile(e, c.ID, []int64{o1.ID, o2.ID}); !equalMaps(contactProfile(e, c.ID), want) {
		t.Errorf("profile %v, recomputed %v", contactProfile(e, c.ID), want)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The profile kept current order by order equals a recomputation from
// scratch, whatever the sequence of orders, status changes, returns and
// runs in between.
func TestPurchaseProfileEqualsRecomputation(t *testing.T) {
	limitRapidChecks(20)
	rapid.Check(t, func(rt *rapid.T) {
		e := profileEnv(t)
		e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
		custs := []retailcrm.Customer{
			e.rc.AddCustomer(retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}),
			e.rc.AddCustomer(retailcrm.Customer{FirstName: "Bob", Email: "bob@example.com"}),
		}
		var ids []int64
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		statuses := []string{"new", "client-confirmed", "complete", "cancel-other", "no-call", "return"}
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			op := rapid.IntRange(0, 4).Draw(rt, "op")
			if len(ids) == 0 {
				op = 0
			}
			switch op {
			case 0:
				c := custs[rapid.IntRange(0, 1).Draw(rt, "customer")]
				o := order(&c, strconv.Itoa(rapid.IntRange(1, 5000).Draw(rt, "total")))
				o.Items = []retailcrm.Item{{ID: int64(100 + len(ids)*2), Quantity: decimal.NewFromInt(1), Status: "new"},
					{ID: int64(101 + len(ids)*2), Quantity: decimal.NewFromInt(2), Status: "new"}}
				o.CreatedAt = retailcrm.NewDateTime(at)
				ids = append(ids, e.rc.CreateOrder(o).ID)
			case 1:
				id := rapid.SampledFrom(ids).Draw(rt, "order")
				st := rapid.SampledFrom(statuses).Draw(rt, "status")
				if err := e.rc.UpdateOrder(id, func(o *retailcrm.Order) { o.Status = st }); err != nil {
					rt.Fatal(err)
				}
			case 2:
				id := rapid.SampledFrom(ids).Draw(rt, "order")
				all := rapid.Bool().Draw(rt, "every line")
				if err := e.rc.UpdateOrder(id, func(o *retailcrm.Order) {
					for i := range o.Items {
						if all || i == 0 {
							o.Items[i].Status = "returned"
						}
					}
				}); err != nil {
					rt.Fatal(err)
				}
			case 3:
				id := rapid.SampledFrom(ids).Draw(rt, "order")
				total := decimal.NewFromInt(int64(rapid.IntRange(1, 5000).Draw(rt, "new total")))
				if err := e.rc.UpdateOrder(id, func(o *retailcrm.Order) { o.TotalSumm = total }); err != nil {
					rt.Fatal(err)
				}
			case 4:
				e.pull()
			}
			at = at.Add(time.Duration(rapid.SampledFrom([]int{0, 1, 30}).Draw(rt, "hours later")) * time.Hour)
		}
		e.pull()
		for _, c := range custs {
			want := expectedProfile(e, c.ID, ids)
			got := contactProfile(e, c.ID)
			if got == nil && want["count"] == "0" && !hasOrders(e, c.ID, ids) {
				continue // no order, no contact
			}
			if want["count"] == "0" && got != nil {
				// Nothing counts: dates and number keep their last values
				// (crmsync never wipes a filled field).
				for _, k := range []string{"first", "last", "number"} {
					want[k] = got[k]
				}
			}
			if !equalMaps(got, want) {
				rt.Fatalf("customer %d: profile %v, recomputed %v", c.ID, got, want)
			}
		}
	})
}

func hasOrders(e *env, customerID int64, ids []int64) bool {
	for _, id := range ids {
		if o, ok := e.rc.Order(id); ok && o.Customer != nil && o.Customer.ID == customerID {
			return true
		}
	}
	return false
}

// TestPurchaseProfileAfterMigration: after the migration to schema 4, a
// pull that sees one of a customer's orders still counts the others from
// the entries the old release stored.
func TestPurchaseProfileAfterMigration(t *testing.T) {
	e := profileEnv(t)
	c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"})
	o1 := e.rc.CreateOrder(order(&c, "100"))
	o2 := e.rc.CreateOrder(order(&c, "250.50"))
	e.pull()
	if got := contactProfile(e, c.ID); got["count"] != "2" || got["spent"] != "350.50" {
		t.Fatalf("before the migration: %v", got)
	}
	e.toSchema3()

	e.updateOrder(o2.ID, func(o *retailcrm.Order) { o.TotalSumm = money("300") })
	e.pull()
	got := contactProfile(e, c.ID)
	if got["count"] != "2" || got["spent"] != "400.00" {
		t.Errorf("after the migration: %v, want 2 orders, 400.00 (order %d's entry lost?)", got, o1.ID)
	}
	if want := expectedProfile(e, c.ID, []int64{o1.ID, o2.ID}); !equalMaps(got, want) {
		t.Errorf("profile %v, recomputed %v", got, want)
	}
	st := e.readDB()
	defer st.Close()
	cursors, _ := st.Cursors(context.Background())
	for _, c := range cursors {
		if strings.HasPrefix(c.Name, "profile:") {
			t.Errorf("cursor %s left after the migration", c.Name)
		}
	}
	if state, err := st.RunState(context.Background(), "pull"); err != nil || !state.BacklogKnown {
		t.Errorf("pull state %+v %v", state, err)
	}
}
