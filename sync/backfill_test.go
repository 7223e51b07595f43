package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/shop"
)

// located gives the engine a RetailCRM client that knows the account's
// zone, as crmsync backfill builds it.
func (e *env) located(o *Options) {
	c, err := retailcrm.New(e.rc.URL(), e.rc.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(e.rc.Location()),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	if err != nil {
		e.t.Fatal(err)
	}
	o.RetailCRM = c
}

// backfill runs one backfill and returns its result and error.
func (e *env) backfill(dry bool, bo BackfillOptions, mod ...func(*Options)) (*BackfillResult, error) {
	e.t.Helper()
	eng, st := e.engine(dry, append([]func(*Options){e.located}, mod...)...)
	defer st.Close()
	if bo.Location == nil {
		bo.Location = e.rc.Location()
	}
	return eng.Backfill(context.Background(), bo)
}

func (e *env) mustBackfill(bo BackfillOptions, mod ...func(*Options)) *BackfillResult {
	e.t.Helper()
	res, err := e.backfill(false, bo, mod...)
	if err != nil {
		e.t.Fatalf("backfill: %v", err)
	}
	return res
}

// seedShop fills the fake RetailCRM with the sandbox's shop: orders created
// 7 hours apart up to now.
func (e *env) seedShop(orders int) shop.Summary {
	return shop.New(5, time.Now(), retailcrmtest.DefaultSite).Seed(e.rc, e.bx, shop.Size{Orders: orders, Customers: orders / 3})
}

// shopEnv is an env whose RetailCRM has the sandbox's shop of that many
// orders.
func shopEnv(t *testing.T, orders int) *env {
	t.Helper()
	e := newEnv(t)
	e.seedShop(orders)
	return e
}

// checkOneDealEach fails unless every order in ids has exactly one deal and
// no other deal exists.
func (e *env) checkOneDealEach(t *testing.T, ids map[int64]bool) {
	t.Helper()
	deals := e.dealsByOrigin()
	for id := range ids {
		if n := len(deals[strconv.FormatInt(id, 10)]); n != 1 {
			t.Errorf("order %d: %d deals", id, n)
		}
	}
	for origin, ds := range deals {
		id, _ := strconv.ParseInt(origin, 10, 64)
		if !ids[id] {
			t.Errorf("deal for order %s (%d of them) is outside the backfill", origin, len(ds))
		}
	}
}

// mappedOrders are the shop's orders a sync can write (the shop parks the
// ones in its unmapped status on purpose).
func (e *env) mappedOrders(keep func(retailcrm.Order) bool) map[int64]bool {
	ids := map[int64]bool{}
	for id := int64(1); id <= int64(e.rc.OrderCount())+5; id++ {
		o, ok := e.rc.Order(id)
		if ok && o.Status != "awaiting-stock" && (keep == nil || keep(o)) {
			ids[id] = true
		}
	}
	return ids
}

func TestBackfillImportsEveryOrderInFewBitrixRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := 1000
	if testing.Short() {
		n = 300
	}
	e.seedShop(n)
	start := time.Now()
	res, err := e.backfill(false, BackfillOptions{})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	want := e.mappedOrders(nil)
	e.checkOneDealEach(t, want)
	if res.Total != int64(n) || res.Done != int64(n) {
		t.Errorf("done %d of %d, want %d", res.Done, res.Total, n)
	}
	if res.Parked() != n-len(want) {
		t.Errorf("parked %d, want %d (the unmapped status)", res.Parked(), n-len(want))
	}
	created := res.Report.Summary.DealsCreated
	perOrder := float64(e.bx.Stats().Requests) / float64(created)
	t.Logf("backfill of %d orders: %v (%.0f orders/s), %d Bitrix24 requests (%.3f per new order), %d RetailCRM requests",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), e.bx.Stats().Requests, perOrder, res.Report.Summary.RetailCRMRequests)
	if perOrder > 0.1 {
		t.Errorf("%.3f Bitrix24 requests per new order, target 0.1", perOrder)
	}

	// The history heads are pull's cursors; the backfill's own is gone.
	st := e.openDB()
	defer st.Close()
	head, ok, _ := st.CursorInt(context.Background(), store.CursorOrdersHistory)
	if !ok || head != e.rc.LastHistoryID() || res.Head != head {
		t.Errorf("history cursor %d (%v), result head %d, fake's last id %d", head, ok, res.Head, e.rc.LastHistoryID())
	}
	if _, ok, _ := st.Cursor(context.Background(), store.CursorBackfill); ok {
		t.Error("a finished backfill left its cursor")
	}
	runs, err := st.Runs(context.Background(), "backfill", 1)
	if err != nil || len(runs) != 1 || runs[0].Result != store.RunPartial || runs[0].Counters["deals_created"] != int64(created) {
		t.Errorf("recorded run %+v (%v)", runs, err)
	}
	st.Close()

	// Again: nothing to write, not one Bitrix24 request.
	before := e.bx.Stats().Requests
	again, _ := e.backfill(false, BackfillOptions{})
	if d := e.bx.Stats().Requests - before; d > again.Parked()/50+2 || again.Report.Summary.DealsCreated != 0 {
		t.Errorf("a repeated backfill sent %d Bitrix24 requests, created %d deals", d, again.Report.Summary.DealsCreated)
	}
}

// contactRows counts the contacts and, for each e-mail and phone, the rows
// that carry it: a duplicate contact or a duplicate row shows.
func (e *env) contactRows() (contacts int, rows map[string]int) {
	rows = map[string]int{}
	for _, c := range e.bx.Contacts() {
		contacts++
		for _, kind := range []string{"EMAIL", "PHONE"} {
			for _, m := range c.Multi[kind] {
				rows[kind+" "+m.Value]++
			}
		}
	}
	return contacts, rows
}

// productRows describes the product rows of every deal, by ORIGIN_ID:
// a crash must leave neither a duplicate nor a missing row.
func (e *env) productRows() map[string]string {
	out := map[string]string{}
	for _, d := range e.bx.Deals() {
		id, _ := strconv.ParseInt(d.Str("ID"), 10, 64)
		var rows []string
		for _, r := range e.bx.ProductRows("deal", id) {
			rows = append(rows, r.ProductName+" "+r.Price.String()+"×"+r.Quantity.String())
		}
		out[d.Str("ORIGIN_ID")] += strings.Join(rows, "; ")
	}
	return out
}

func TestBackfillResumesAfterACrashAtAnyPage(t *testing.T) {
	t.Parallel()
	const n, n0Rows = 300, 300
	ref := newEnv(t)
	ref.seedShop(n)
	if _, err := ref.backfill(false, BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	want := ref.mappedOrders(nil)
	ref.checkOneDealEach(t, want)
	wantContacts, wantRows := ref.contactRows()
	wantProducts := ref.productRows()
	if n := strings.Count(strings.Join(slices.Collect(maps.Values(wantProducts)), ";"), "×"); n < n0Rows {
		t.Fatalf("the shop's deals have %d product rows", n)
	}

	// Crash points: the first page, the last, and one drawn in between.
	rng := rand.New(rand.NewPCG(6, 6))
	for _, crashAt := range []int{1, 2 + rng.IntN(n/backfillPageSize-2), n / backfillPageSize} {
		t.Run("crash_before_commit_of_page_"+strconv.Itoa(crashAt), func(t *testing.T) {
			t.Parallel()
			e := shopEnv(t, n)
			eng, st := e.engine(false, e.located)
			// The page's writes reached the portal, its links and the
			// backfill cursor did not reach the database.
			eng.beforeCommit = func(page int) error {
				if page == crashAt {
					return errCrash
				}
				return nil
			}
			if _, err := eng.Backfill(context.Background(), BackfillOptions{Location: e.rc.Location(), groupPages: 1}); !errors.Is(err, errCrash) {
				t.Fatalf("crashed backfill: %v", err)
			}
			st.Close()
			e.rc.ResetCounters()
			res, err := e.backfill(false, BackfillOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Resumed {
				t.Error("the second run did not resume")
			}
			// It starts at the page that was not committed.
			if got, want := e.rc.Requests("/api/v5/orders"), n/backfillPageSize-crashAt+2; got > want {
				t.Errorf("the resumed run read %d order pages, want at most %d", got, want)
			}
			e.checkOneDealEach(t, want)
			contacts, rows := e.contactRows()
			if contacts != wantContacts {
				t.Errorf("%d contacts, want %d", contacts, wantContacts)
			}
			for k, c := range rows {
				if c != wantRows[k] {
					t.Errorf("%s: %d rows, want %d", k, c, wantRows[k])
				}
			}
			if diff := cmp.Diff(wantProducts, e.productRows()); diff != "" {
				t.Errorf("product rows (-uninterrupted +crashed):\n%s", diff)
			}
		})
	}
}

// The window is [Since, Until) to the second, whichever way RetailCRM reads
// the date filters of the order list: the request asks for whole days and
// the engine cuts the pages locally.
func TestBackfillWindowIsSinceInclusiveUntilExclusive(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		reading retailcrmtest.DateReading
		hour    time.Duration // of Since and Until within their days
	}{
		{"whole days, midnight bounds", retailcrmtest.DatesWholeDay, 0},
		{"whole days", retailcrmtest.DatesWholeDay, 10 * time.Hour},
		{"a date is its midnight", retailcrmtest.DatesMidnight, 10 * time.Hour},
		{"a date is its midnight, midnight bounds", retailcrmtest.DatesMidnight, 0},
		{"dates only", retailcrmtest.DatesOnly, 10 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.rc = retailcrmtest.New(t, retailcrmtest.Options{OrderDates: tt.reading})
			loc := e.rc.Location()
			day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, loc).Add(tt.hour) }
			at := map[string]time.Time{
				"day before":   day(1).Add(-24 * time.Hour),
				"before":       day(1).Add(-time.Second),
				"since":        day(1),
				"inside":       day(2).Add(13 * time.Hour),
				"last":         day(3).Add(-time.Second),
				"until":        day(3),
				"until's day":  day(3).Add(5 * time.Hour),
				"day after":    day(4),
				"two days on":  day(5),
				"day before 2": day(1).Add(-23 * time.Hour),
			}
			ids := map[string]int64{}
			for name, t0 := range at {
				c := &retailcrm.Customer{FirstName: name, Email: strconv.Itoa(len(ids)) + "@example.com"}
				o := order(c, "10")
				o.CreatedAt = retailcrm.NewDateTime(t0)
				ids[name] = e.rc.CreateOrder(o).ID
			}
			res := e.mustBackfill(BackfillOptions{Since: day(1), Until: day(3)})
			want := map[int64]bool{ids["since"]: true, ids["inside"]: true, ids["last"]: true}
			e.checkOneDealEach(t, want)
			if res.Total < 3 || res.Report.Summary.OrdersSeen != 3 {
				t.Errorf("total %d, seen %d; want the 3 orders of the window seen", res.Total, res.Report.Summary.OrdersSeen)
			}
			for _, r := range e.rc.RequestLog() {
				if r.Path != "/api/v5/orders" || r.Query.Get("filter[createdAtFrom]") == "" {
					continue
				}
				if q := r.Query; q.Get("filter[createdAtFrom]") != day(1).Format("2006-01-02") ||
					q.Get("filter[createdAtTo]") != day(3).Add(-time.Second).AddDate(0, 0, 1).Format("2006-01-02") {
					t.Errorf("window sent as %s .. %s", q.Get("filter[createdAtFrom]"), q.Get("filter[createdAtTo]"))
				}
			}
		})
	}
}

func TestBackfillDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	e := shopEnv(t, 200)
	// An existing database must stay byte for byte the same.
	st := e.openDB()
	st.Close()
	before, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.backfill(true, BackfillOptions{SampleChanges: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.bx.Deals()) != 0 || e.writes() != 0 {
		t.Fatalf("dry run wrote: %d deals, %d writes", len(e.bx.Deals()), e.writes())
	}
	after, _ := os.ReadFile(e.dbPath)
	if string(before) != string(after) {
		t.Error("dry run changed the database")
	}
	if res.Report.Summary.DealsCreated != 200-res.Parked() || len(res.Report.Changes) != 20 || res.ChangesOmitted == 0 {
		t.Errorf("dry run: %d deals to create, %d changes shown, %d omitted", res.Report.Summary.DealsCreated,
			len(res.Report.Changes), res.ChangesOmitted)
	}
}

func TestBackfillFiresNoRulesUnlessAsked(t *testing.T) {
	t.Parallel()
	for _, with := range []bool{false, true} {
		t.Run("with_rules_"+strconv.FormatBool(with), func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Rules = ruleSet(t, []map[string]any{{"on": "created", "do": map[string]any{"comment": "Imported order {{.Number}}"}}})
			for i := range 3 {
				c := &retailcrm.Customer{FirstName: "R", Email: "r" + strconv.Itoa(i) + "@example.com"}
				e.rc.CreateOrder(order(c, "5"))
			}
			res := e.mustBackfill(BackfillOptions{WithRules: with})
			fired := len(e.bx.Comments())
			if with && (fired != 3 || res.Report.Summary.RuleActions != 3) || !with && (fired != 0 || res.Report.Summary.RuleActions != 0) {
				t.Errorf("with rules %v: %d comments, %d rule actions", with, fired, res.Report.Summary.RuleActions)
			}
		})
	}
}

func TestBackfillStepsBackWhenOrdersLeaveTheWindow(t *testing.T) {
	t.Parallel()
	e := shopEnv(t, 250)
	var deleted []int64
	res := e.mustBackfill(BackfillOptions{groupPages: 1, noReadAhead: true, Progress: func(p BackfillProgress) {
		if p.Pages == 2 {
			// Two orders of the pages already done disappear: every later
			// order moves two places forward.
			for _, id := range []int64{10, 150} {
				if err := e.rc.DeleteOrder(id); err != nil {
					t.Error(err)
				}
				deleted = append(deleted, id)
			}
		}
	}})
	want := e.mappedOrders(nil)
	for _, id := range deleted {
		want[id] = true // imported before it was deleted
	}
	e.checkOneDealEach(t, want)
	if res.Total != 248 {
		t.Errorf("total %d", res.Total)
	}
}

func TestPullAfterBackfillReadsOnlyNewerHistory(t *testing.T) {
	t.Parallel()
	e := shopEnv(t, 300)
	head := e.rc.LastHistoryID()
	e.mustBackfill(BackfillOptions{})
	// Managers work after the backfill: a status change and a new order.
	e.updateOrder(3, func(o *retailcrm.Order) { o.Status = "complete" })
	fresh := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "New", Email: "new@example.com"}, "77"))
	e.rc.ResetCounters()
	res := e.pull()
	if got := res.Report.Summary.HistoryRecords; got != int(e.rc.LastHistoryID()-head) {
		t.Errorf("pull read %d history records, want the %d after the head", got, e.rc.LastHistoryID()-head)
	}
	if r := e.rc.Requests("/api/v5/orders/history"); r > 2 {
		t.Errorf("pull sent %d history requests", r)
	}
	deals := e.dealsByOrigin()
	if d := deals["3"]; len(d) != 1 || d[0].Str("STAGE_ID") != "WON" {
		t.Errorf("order 3's deal after pull: %+v", d)
	}
	if d := deals[strconv.FormatInt(fresh.ID, 10)]; len(d) != 1 {
		t.Errorf("the new order has %d deals", len(d))
	}
}

func TestBackfillFindsTheHeadOfAQuietAccountAndKeepsPullsCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The last change was 40 days ago: the search widens until it finds it.
	then := time.Now().Add(-40 * 24 * time.Hour)
	e.rc = retailcrmtest.New(t, retailcrmtest.Options{Now: func() time.Time { return then }})
	for i := range 150 {
		e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Q", Email: "q" + strconv.Itoa(i) + "@example.com"}, "1"))
	}
	res := e.mustBackfill(BackfillOptions{})
	if res.Head != e.rc.LastHistoryID() || res.Done != 150 {
		t.Errorf("head %d, want %d; done %d", res.Head, e.rc.LastHistoryID(), res.Done)
	}
	// One more than the day-by-day search alone: after the empty last ten
	// minutes the whole history's first page is read, which ends the search
	// at once for an empty or one-page stream (the usual corporate history).
	if r := res.Report.Summary.RetailCRMRequests; r > 21 {
		t.Errorf("%d RetailCRM requests for 150 orders", r)
	}

	// A pull cursor that exists is left alone by the next backfill.
	e.setCursor(store.CursorOrdersHistory, 7)
	res = e.mustBackfill(BackfillOptions{})
	if c := e.cursor(store.CursorOrdersHistory); c != 7 || res.Head != 0 {
		t.Errorf("pull's cursor %d after a second backfill (head %d), want 7 left alone", c, res.Head)
	}
}

// A backfill plans several pages as one chunk: its lookups share requests
// and its writes fill the batches, so the requests stay within 1.25 × the
// write floor (the writes the content needs ÷ 50; docs/architecture.md).
func TestBackfillRequestsNearTheWriteFloor(t *testing.T) {
	t.Parallel()
	e := shopEnv(t, 500)
	before := e.bx.Stats()
	e.mustBackfill(BackfillOptions{})
	after := e.bx.Stats()
	writes := 0
	for _, m := range []string{"crm.deal.add", "crm.deal.productrows.set", "crm.contact.add"} {
		writes += after.CommandsPerMethod[m] - before.CommandsPerMethod[m]
	}
	floor := float64(writes) / bitrix.MaxBatchCommands
	if got := after.Requests - before.Requests; float64(got) > 1.25*floor {
		t.Errorf("%d Bitrix24 requests for a write floor of %.2f (%d writes): %.2f×, want ≤ 1.25×", got, floor, writes, float64(got)/floor)
	}
}

// Reading the next group's pages while a group is written must change
// neither the requests nor what reaches the portal.
func TestBackfillReadAheadSendsTheSameRequests(t *testing.T) {
	t.Parallel()
	n := 1200 // three groups of five pages: two of them read ahead
	if testing.Short() {
		n = 700
	}
	type outcome struct {
		orders, history, rcTotal, bxTotal int
		deals                             map[string]string
	}
	run := func(noReadAhead bool) outcome {
		e := shopEnv(t, n)
		e.rc.ResetCounters()
		bx0 := e.bx.Stats().Requests
		res := e.mustBackfill(BackfillOptions{noReadAhead: noReadAhead})
		if res.Done != res.Total || res.Total == 0 {
			t.Fatalf("backfill (read ahead %v): %d of %d", !noReadAhead, res.Done, res.Total)
		}
		out := outcome{orders: e.rc.Requests("/api/v5/orders"), history: e.rc.Requests("/api/v5/orders/history"),
			rcTotal: e.rc.TotalRequests(), bxTotal: e.bx.Stats().Requests - bx0, deals: map[string]string{}}
		for origin, ds := range e.dealsByOrigin() {
			for _, d := range ds {
				out.deals[origin] += d.Str("TITLE") + "|" + d.Str("STAGE_ID") + "|" + d.Str("OPPORTUNITY") + "|" + d.Str("CONTACT_ID") + ";"
			}
		}
		return out
	}
	ahead, plain := run(false), run(true)
	if ahead.orders != plain.orders || ahead.history != plain.history || ahead.rcTotal != plain.rcTotal || ahead.bxTotal != plain.bxTotal {
		t.Errorf("requests with read-ahead: orders %d, history %d, RetailCRM %d, Bitrix24 %d; page by page: %d, %d, %d, %d",
			ahead.orders, ahead.history, ahead.rcTotal, ahead.bxTotal, plain.orders, plain.history, plain.rcTotal, plain.bxTotal)
	}
	if len(ahead.deals) != len(plain.deals) {
		t.Fatalf("%d deals with read-ahead, %d page by page", len(ahead.deals), len(plain.deals))
	}
	for origin, d := range plain.deals {
		if ahead.deals[origin] != d {
			t.Errorf("order %s: deal %q with read-ahead, %q page by page", origin, ahead.deals[origin], d)
		}
	}
}

// historyPaths are the three histories a backfill finds the heads of.
var historyPaths = []string{"/api/v5/orders/history", "/api/v5/customers/history", "/api/v5/customers-corporate/history"}

// busyHistories gives the fake's order, customer and corporate customer
// histories at least orders, customers and corporate records, all made in
// the last ten minutes: a manager re-typing one order's comment, one
// customer's name and one company's nickname over and over. It returns the
// order.
func (e *env) busyHistories(orders, customers, corporate int64) retailcrm.Order {
	e.t.Helper()
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	o := e.rc.CreateOrder(order(&anna, "500"))
	for i := 0; e.rc.LastHistoryID() < orders; i++ {
		e.updateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerComment = "call back #" + strconv.Itoa(i) })
	}
	for i := 0; e.rc.LastCustomerHistoryID() < customers; i++ {
		if err := e.rc.UpdateCustomer(anna.ID, func(c *retailcrm.Customer) { c.LastName = "L" + strconv.Itoa(i) }); err != nil {
			e.t.Fatal(err)
		}
	}
	if corporate > 0 {
		cc := e.rc.AddCorporateCustomer(retailcrm.CorporateCustomer{NickName: "Café"})
		for i := 0; e.rc.LastCorporateHistoryID() < corporate; i++ {
			if err := e.rc.UpdateCorporateCustomer(cc.ID, func(c *retailcrm.CorporateCustomer) { c.NickName = "Café " + strconv.Itoa(i) }); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	return o
}

// checkNoPageWithSinceID fails if a history request carried page together
// with filter[sinceId] (RetailCRM answers 400; docs/api-notes.md).
func (e *env) checkNoPageWithSinceID(t *testing.T) {
	t.Helper()
	for _, r := range e.rc.RequestLog() {
		if slices.Contains(historyPaths, r.Path) && r.Query.Has("page") && r.Query.Has("filter[sinceId]") {
			t.Errorf("%s?%s: page with sinceId", r.Path, r.Query.Encode())
		}
	}
}

// TestBackfillFindsABusyHistoryHeadInThreeReads: when the last ten minutes
// hold many pages of a history, the head is its last page's last id (read
// by page number with the same startDate) and one empty read by sinceId
// confirms it: 3 reads per history instead of one per page (26 for 25
// pages), the same for orders, customers and corporate customers. A window
// longer than the walk by sinceId went (maxHeadPages) no longer leaves the
// head short of the newest record.
func TestBackfillFindsABusyHistoryHeadInThreeReads(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                         string
		orders, customers, corporate int64
	}{
		{name: "25 pages of each history", orders: 2500, customers: 2500, corporate: 2500},
		{name: "more order history than 200 pages", orders: 25000},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			companiesOn(e)
			o := e.busyHistories(c.orders, c.customers, c.corporate)
			e.rc.ResetCounters()
			res := e.mustBackfill(BackfillOptions{})
			if res.Head != e.rc.LastHistoryID() {
				t.Errorf("order history head %d, want %d", res.Head, e.rc.LastHistoryID())
			}
			for _, h := range []struct {
				cursor string
				want   int64
			}{
				{store.CursorOrdersHistory, e.rc.LastHistoryID()},
				{store.CursorCustomersHistory, e.rc.LastCustomerHistoryID()},
				{store.CursorCorporateHistory, e.rc.LastCorporateHistoryID()},
			} {
				if got := e.cursor(h.cursor); got != h.want {
					t.Errorf("cursor %s = %d, want the head %d", h.cursor, got, h.want)
				}
			}
			for _, path := range historyPaths {
				// A history of one page (or none) costs two reads or fewer.
				if got := e.rc.Requests(path); got > 3 {
					t.Errorf("%s: %d reads to find the head, want at most 3", path, got)
				}
			}
			if got := e.rc.Requests("/api/v5/orders/history"); got != 3 {
				t.Errorf("orders history: %d reads, want 3 (first page, last page, empty sinceId read)", got)
			}
			e.checkNoPageWithSinceID(t)
			if d := dealRow(t, e, o.ID); d.Str("STAGE_ID") != "NEW" {
				t.Errorf("the order's deal is at %s", d.Str("STAGE_ID"))
			}
		})
	}
}

// headRace is a RetailCRM client that runs changed once, right before the
// order history's first read by page number: changes a manager makes
// between the first page of the window and its last.
type headRace struct {
	*retailcrm.Client
	changed func()
}

func (h *headRace) HistoryHead(ctx context.Context, stream string, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
	if stream == retailcrm.StreamOrders && f.Page > 1 && h.changed != nil {
		h.changed()
		h.changed = nil
	}
	return h.Client.HistoryHead(ctx, stream, f)
}

// TestBackfillKeepsTheRecordsAddedWhileFindingTheHead: records appended
// between the window's first page and its last (here more than a page of
// them, and a new order) fill the last page and add pages; the walk by
// sinceId after the last page reads past them, so the head is the newest
// record when the backfill started its walk, the backfill imports the new
// order and the changed status, and the following pull starts right after
// them and brings later changes.
func TestBackfillKeepsTheRecordsAddedWhileFindingTheHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.busyHistories(2500, 0, 0)
	var fresh retailcrm.Order
	race := &headRace{changed: func() {
		e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
		for i := range 150 {
			e.updateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerComment = "again #" + strconv.Itoa(i) })
		}
		fresh = e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "New", Email: "new@example.com"}, "77"))
	}}
	e.rc.ResetCounters()
	res := e.mustBackfill(BackfillOptions{}, func(o *Options) {
		race.Client = o.RetailCRM.(*retailcrm.Client)
		o.RetailCRM = race
	})
	if race.changed != nil {
		t.Fatal("the backfill read no page of the order history by number")
	}
	if res.Head != e.rc.LastHistoryID() {
		t.Errorf("head %d, want %d: records added while the head was read are missing", res.Head, e.rc.LastHistoryID())
	}
	// First page, last page, then by sinceId: two pages of the records
	// added meanwhile and the empty read.
	if got := e.rc.Requests("/api/v5/orders/history"); got != 5 {
		t.Errorf("orders history: %d reads, want 5", got)
	}
	e.checkNoPageWithSinceID(t)
	if d := dealRow(t, e, o.ID); d.Str("STAGE_ID") != "WON" {
		t.Errorf("the order's deal is at %s, want WON", d.Str("STAGE_ID"))
	}
	dealRow(t, e, fresh.ID)

	head := e.rc.LastHistoryID()
	e.updateOrder(fresh.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	pulled := e.pull()
	if got := pulled.Report.Summary.HistoryRecords; got != int(e.rc.LastHistoryID()-head) {
		t.Errorf("pull read %d history records, want the %d after the head", got, e.rc.LastHistoryID()-head)
	}
	if d := dealRow(t, e, fresh.ID); d.Str("STAGE_ID") != "WON" {
		t.Errorf("the new order's deal is at %s after pull, want WON", d.Str("STAGE_ID"))
	}
	e.checkNoPageWithSinceID(t)
}

// TestHistoryHeadSearchCost: how many reads finding a stream's head takes.
// An empty stream and a one-page one are settled by the whole history's
// first page, right after the last ten minutes showed nothing. A window of
// many pages costs its first page, its last page (read by page number) and
// one empty read by sinceId, however many pages it has: the walk by sinceId
// alone read them all and stopped after maxHeadPages, short of the head.
func TestHistoryHeadSearchCost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		records int   // in the whole history, ids 1..records
		recent  int   // how many of them the last ten minutes have
		added   int   // records added right after the first read
		refuse  bool  // reads by page number are answered 400
		head    int64 // want
		most    int
	}{
		{name: "empty", records: 0, head: 0, most: 2},
		{name: "one page, quiet", records: 40, head: 40, most: 2},
		{name: "recent changes", records: 40, recent: 1, head: 40, most: 2},
		{name: "several pages, quiet for a year", records: 250, head: 250, most: 8},
		{name: "busy: 25 pages in ten minutes", records: 2500, recent: 2500, head: 2500, most: 3},
		{name: "busier than the walk by sinceId reaches", records: 30000, recent: 25000, head: 30000, most: 3},
		{name: "records added between the reads", records: 2500, recent: 2500, added: 150, head: 2650, most: 5},
		{name: "page by number refused: the walk by sinceId", records: 2500, recent: 2500, refuse: true, head: 2500, most: 27},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &Engine{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
			reads, records := 0, c.records
			head, _, err := e.historyHead(context.Background(), func(_ context.Context, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
				reads++
				if reads == 2 {
					records += c.added
				}
				if f.Page > 0 && f.SinceID > 0 {
					t.Fatalf("read %d: page %d with sinceId %d (HTTP 400)", reads, f.Page, f.SinceID)
				}
				if f.Page > 0 && c.refuse {
					return nil, fmt.Errorf("page %d: %w", f.Page, retailcrm.ErrValidation)
				}
				from := int64(1) // the filter selects ids from..records
				switch {
				case f.SinceID > 0:
					from = f.SinceID + 1
				case !f.StartDate.IsZero():
					from = int64(c.records-c.recent) + 1 // the added ones are recent too
				}
				total := max(int64(records)-from+1, 0)
				page := int64(max(f.Page, 1))
				first := from + (page-1)*int64(f.Limit)
				to := min(first+int64(f.Limit)-1, int64(records))
				p := &retailcrm.HistoryHeadPage{Pages: int((total + int64(f.Limit) - 1) / int64(f.Limit))}
				if to >= first {
					p.Records, p.LastID = int(to-first+1), to
				}
				return p, nil
			})
			if err != nil || head != c.head || reads > c.most {
				t.Errorf("head %d (want %d) in %d reads (at most %d): %v", head, c.head, reads, c.most, err)
			}
		})
	}
}
