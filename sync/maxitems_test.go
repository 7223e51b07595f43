package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// hundredOrders fills one history page: 100 orders of 100 customers.
func hundredOrders(e *env) []int64 {
	ids := make([]int64, 0, 100)
	for i := range 100 {
		o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "X", Email: fmt.Sprintf("c%d@example.com", i)}, "1"))
		ids = append(ids, o.ID)
	}
	return ids
}

// dealOrigins lists the ORIGIN_IDs (order ids) of the portal's deals.
func dealOrigins(e *env) []int64 {
	var out []int64
	for _, d := range e.bx.Deals() {
		id, _ := strconv.ParseInt(d.Str("ORIGIN_ID"), 10, 64)
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func TestMaxItemsStopsInsideAPage(t *testing.T) {
	ref := newEnv(t)
	hundredOrders(ref)
	ref.pull()
	want, wantWrites := snapshot(ref.bx), ref.writes()

	e := newEnv(t)
	ids := hundredOrders(e)
	if page, err := e.rcc.OrdersHistory(context.Background(), retailcrm.HistoryFilter{Limit: retailcrm.HistoryLimit}); err != nil ||
		len(page.History) != 100 || page.Pagination.TotalCount != 100 {
		t.Fatalf("setup: want one page of 100 records: %v", err)
	}

	// Exactly 5 orders, though the page holds 100.
	res := e.pull(func(o *Options) { o.MaxItems = 5 })
	s := res.Report.Summary
	if s.OrdersSeen != 5 || s.DealsCreated != 5 || s.HistoryRecords != 5 || s.Stopped != "max-items" || s.Backlog != 95 {
		t.Errorf("first run: %+v", s)
	}
	if got := dealOrigins(e); !slices.Equal(got, ids[:5]) {
		t.Errorf("deals after the first run: %v, want %v", got, ids[:5])
	}
	st := e.openDB()
	cursor, _, err := st.CursorInt(context.Background(), store.CursorOrdersHistory)
	st.Close()
	if err != nil || cursor != res.Report.Cursor.To || cursor >= e.rc.LastHistoryID() {
		t.Errorf("cursor %d (report %d, page ends at %d): %v", cursor, res.Report.Cursor.To, e.rc.LastHistoryID(), err)
	}

	// The next run continues with the 6th order.
	res = e.pull(func(o *Options) { o.MaxItems = 5 })
	if s := res.Report.Summary; s.OrdersSeen != 5 || s.DealsCreated != 5 || s.DealsUpdated != 0 || s.DealsUnchanged != 0 {
		t.Errorf("second run: %+v", s)
	}
	if got := dealOrigins(e); !slices.Equal(got, ids[:10]) {
		t.Errorf("deals after the second run: %v, want %v", got, ids[:10])
	}

	// The rest: together one unlimited pull, no order lost or done twice.
	res = e.pull()
	if s := res.Report.Summary; s.OrdersSeen != 90 || s.DealsCreated != 90 || s.DealsUpdated != 0 || s.Stopped != "" {
		t.Errorf("last run: %+v", s)
	}
	if got := dealOrigins(e); !slices.Equal(got, ids) {
		t.Errorf("deals %v", got)
	}
	if got := snapshot(e.bx); got != want {
		t.Errorf("final state differs from one unlimited pull:\n%s\nwant\n%s", got, want)
	}
	if got := e.writes(); got != wantWrites {
		t.Errorf("%d writes in three limited runs, %d in one run", got, wantWrites)
	}
}

func TestMaxItemsDryRunListsThatMany(t *testing.T) {
	e := newEnv(t)
	ids := hundredOrders(e)
	eng, _ := e.engine(true, func(o *Options) { o.MaxItems = 5 })
	res, err := eng.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var deals []int64
	for _, c := range res.Report.Changes {
		if c.Entity == "deal" && c.Op == OpCreate {
			deals = append(deals, c.OrderID)
		}
	}
	if !slices.Equal(deals, ids[:5]) || res.Report.Summary.OrdersSeen != 5 || res.Report.Summary.Stopped != "max-items" {
		t.Errorf("dry run listed deals for %v (summary %+v), want %v", deals, res.Report.Summary, ids[:5])
	}
	if n := len(e.bx.Deals()); n != 0 {
		t.Errorf("dry run wrote %d deals", n)
	}
}

// An order's later record beyond the limit is not lost: the cursor stays
// before it, and the next run handles the order again with it.
func TestMaxItemsKeepsLaterRecordsOfAnOrder(t *testing.T) {
	setup := func(e *env) []int64 {
		var ids []int64
		for i := range 3 {
			o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Y", Email: fmt.Sprintf("y%d@example.com", i)}, "5"))
			ids = append(ids, o.ID)
		}
		if err := e.rc.UpdateOrder(ids[0], func(o *retailcrm.Order) { o.Status = "complete" }); err != nil {
			e.t.Fatal(err)
		}
		return ids
	}
	ref := newEnv(t)
	setup(ref)
	ref.pull()
	want := snapshot(ref.bx)

	e := newEnv(t)
	setup(e)
	var seen []int
	for _, limit := range []int{2, 1, 0} {
		res := e.pull(func(o *Options) { o.MaxItems = limit })
		seen = append(seen, res.Report.Summary.OrdersSeen)
	}
	// Records: A B C A'. Run 1 takes A and B; run 2 C (A' would be a
	// second order); run 3 A' (its status-change comment).
	if !slices.Equal(seen, []int{2, 1, 1}) {
		t.Errorf("orders per run %v, want [2 1 1]", seen)
	}
	if got := snapshot(e.bx); got != want {
		t.Errorf("final state differs from one unlimited pull:\n%s\nwant\n%s", got, want)
	}
}

func TestLimitOrders(t *testing.T) {
	recs := []retailcrm.HistoryRecord{
		rec(1, 10, "status", "user", false),
		rec(2, 11, "status", "api", true), // an echo: order 11 is not counted for it
		rec(3, 12, "status", "user", false),
		rec(4, 10, "manager_comment", "user", false),
		rec(5, 11, "status", "user", false),
		{HistoryChange: retailcrm.HistoryChange{ID: 6, Field: "status"}}, // no order
		rec(7, 13, "status", "user", false),
	}
	for _, tc := range []struct {
		n    int
		last int64 // id of the prefix's last record
	}{
		{1, 2}, {2, 4}, {3, 6}, {4, 7}, {10, 7},
	} {
		got := limitOrders(recs, tc.n)
		if len(got) == 0 || got[len(got)-1].ID != tc.last {
			t.Errorf("limitOrders(%d) ends at %v, want %d", tc.n, got, tc.last)
		}
	}
}

func TestLimitCustomers(t *testing.T) {
	crec := func(id, cust int64, created bool) retailcrm.CustomerHistoryRecord {
		return retailcrm.CustomerHistoryRecord{HistoryChange: retailcrm.HistoryChange{ID: id, Source: "user", Created: created, Field: "email"},
			Customer: &retailcrm.Customer{ID: cust}}
	}
	recs := []retailcrm.CustomerHistoryRecord{
		crec(1, 5, false), crec(2, 6, true), crec(3, 5, false), crec(4, 7, false), crec(5, 8, false),
	}
	for n, last := range map[int]int64{1: 3, 2: 4, 3: 5} {
		if got := limitCustomers(recs, n); got[len(got)-1].ID != last {
			t.Errorf("limitCustomers(%d) ends at record %d, want %d", n, got[len(got)-1].ID, last)
		}
	}
}
