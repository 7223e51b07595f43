package sync

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
)

// TestDeletedOrderMovesItsDeal: an order deleted in RetailCRM leaves its
// deal (never deleted) in the deleted stage, the group:cancel stage by
// default, with one timeline comment; reading the same history again
// writes nothing.
func TestDeletedOrderMovesItsDeal(t *testing.T) {
	for _, tt := range []struct {
		name, deletedStage, want string
	}{{"default: the cancel stage", "", "LOSE"}, {"mapping.deleted_stage", "APOLOGY", "APOLOGY"}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Mapping.DeletedStage = tt.deletedStage
			e.bx.SeedStage("DEAL_STAGE", "APOLOGY", "Analyse the failure", "F", 250)
			e.rc.AddUser(retailcrm.User{ID: retailcrmtest.DefaultUserID, Active: true, FirstName: "Olga", LastName: "Admin"})
			o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "100"))
			keep := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Bob", Email: "bob@example.com"}, "200"))
			e.pull()
			before := e.cursor(store.CursorOrdersHistory)
			if err := e.rc.DeleteOrder(o.ID); err != nil {
				t.Fatal(err)
			}
			res := e.pull()
			deal := dealRow(t, e, o.ID)
			if got := deal.Str("STAGE_ID"); got != tt.want {
				t.Errorf("deal of the deleted order in stage %s, want %s", got, tt.want)
			}
			if got := dealRow(t, e, keep.ID).Str("STAGE_ID"); got != "NEW" {
				t.Errorf("the other deal moved to %s", got)
			}
			comments := commentsOf(e, deal.Str("ID"))
			if len(comments) != 1 || !strings.Contains(comments[0], "deleted in RetailCRM") || !strings.Contains(comments[0], tt.want) ||
				!strings.Contains(comments[0], "by Olga Admin") {
				t.Errorf("comments %q", comments)
			}
			if res.Parked() != 0 || len(e.bx.Deals()) != 2 {
				t.Errorf("%d parked, %d deals", res.Parked(), len(e.bx.Deals()))
			}

			// The page again (a lost cursor, a crash before the commit).
			e.setCursor(store.CursorOrdersHistory, before)
			if _, n := e.pullWrites(); n != 0 {
				t.Errorf("the deletion read again made %d writes", n)
			}
			if got := commentsOf(e, deal.Str("ID")); len(got) != 1 {
				t.Errorf("comments after the re-run: %q", got)
			}
		})
	}
}

// TestDeletedDealIsParkedUntilRetry: a linked deal deleted in Bitrix24 is
// not made again by the order's next change: the order is parked at once,
// naming the deal, and stays so; crmsync retry lets the next pull make a
// new deal.
func TestDeletedDealIsParkedUntilRetry(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "100"))
	e.pull()
	dealID, _ := strconv.ParseInt(dealRow(t, e, o.ID).Str("ID"), 10, 64)
	if err := e.bx.DeleteDeal(dealID); err != nil {
		t.Fatal(err)
	}
	change := func(total string) {
		t.Helper()
		e.updateOrder(o.ID, func(o *retailcrm.Order) { o.TotalSumm = money(total) })
	}
	change("110")
	res := e.pull()
	if res.Parked() != 1 || len(e.bx.Deals()) != 0 {
		t.Fatalf("%d parked, %d deals; want the order parked and no new deal", res.Parked(), len(e.bx.Deals()))
	}
	p := res.Report.Parked[0]
	if p.WaitingForRetry || !strings.Contains(p.Reason, "deal "+strconv.FormatInt(dealID, 10)+" was deleted in Bitrix24") {
		t.Errorf("parked %+v", p)
	}
	change("120")
	if res := e.pull(); res.Parked() != 1 || len(e.bx.Deals()) != 0 {
		t.Fatalf("the next change made a deal")
	}
	st := e.openDB()
	fs, err := st.Failures(context.Background(), store.FailureFilter{Kind: "order", ParkedOnly: true})
	if err != nil || len(fs) != 1 {
		t.Fatalf("failures %+v %v", fs, err)
	}
	if _, err := st.RetryFailures(context.Background(), []int64{fs[0].ID}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	res = e.pull()
	deal := dealRow(t, e, o.ID)
	if res.Parked() != 0 || deal.Str("OPPORTUNITY") != "120.00" || deal.Str("ID") == strconv.FormatInt(dealID, 10) {
		t.Errorf("after retry: %d parked, deal %v", res.Parked(), deal.Fields)
	}
	st = e.openDB()
	defer st.Close()
	if fs, _ := st.Failures(context.Background(), store.FailureFilter{}); len(fs) != 0 {
		t.Errorf("failures left: %+v", fs)
	}
	if l, ok, _ := st.OrderLink(context.Background(), o.ID); !ok || strconv.FormatInt(l.EntityID, 10) != deal.Str("ID") {
		t.Errorf("link %+v %v", l, ok)
	}
}

// An order deleted in RetailCRM, then the database lost: the replay of the
// history names the order by its number as the first comment did (from the
// snapshots of its history records), finds that comment on the timeline
// and writes nothing.
func TestDeletedOrderAfterALostDatabaseWritesNothing(t *testing.T) {
	e := newEnv(t)
	o := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "100")
	o.Number = "7781A"
	o = e.rc.CreateOrder(o)
	e.pull()
	if err := e.rc.DeleteOrder(o.ID); err != nil {
		t.Fatal(err)
	}
	e.pull()
	deal := dealRow(t, e, o.ID)
	first := commentsOf(e, deal.Str("ID"))
	if len(first) != 1 || !strings.Contains(first[0], "7781A") {
		t.Fatalf("comments %q, want one naming order 7781A", first)
	}
	e.loseDatabase()
	if _, n := e.pullWrites(); n != 0 {
		t.Errorf("the replay after a lost database made %d writes", n)
	}
	if got := commentsOf(e, deal.Str("ID")); len(got) != 1 {
		t.Errorf("comments after the replay: %q", got)
	}
}
