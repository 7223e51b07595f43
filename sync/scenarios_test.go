package sync

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

func dealOf(t *testing.T, e *env, orderID int64) map[string]any {
	t.Helper()
	return dealRow(t, e, orderID).Fields
}

func commentsOf(e *env, dealID string) []string {
	var out []string
	for _, c := range e.bx.Comments() {
		if strconv.FormatInt(c.EntityID, 10) == dealID {
			out = append(out, c.Comment)
		}
	}
	return out
}

func TestStatusChangesCancellationsAndReturnsMoveStagesWithComments(t *testing.T) {
	e := newEnv(t)
	e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	c := &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}
	o1 := e.rc.CreateOrder(order(c, "100"))
	o2 := e.rc.CreateOrder(order(c, "200"))
	o3 := e.rc.CreateOrder(order(c, "300"))
	e.pull()

	set := func(id int64, status string) {
		t.Helper()
		e.updateOrder(id, func(o *retailcrm.Order) { o.Status = status })
	}
	set(o1.ID, "client-confirmed")
	set(o1.ID, "complete")
	set(o2.ID, "cancel-other")
	set(o3.ID, "return")
	e.updateOrder(o3.ID, func(o *retailcrm.Order) { o.ManagerComment = "Customer 🙂 sent it back" })
	before := e.writes()
	res := e.pull()
	if res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	d1, d2, d3 := dealOf(t, e, o1.ID), dealOf(t, e, o2.ID), dealOf(t, e, o3.ID)
	if d1["STAGE_ID"] != "WON" || d2["STAGE_ID"] != "LOSE" || d3["STAGE_ID"] != "LOSE" {
		t.Errorf("stages %v %v %v", d1["STAGE_ID"], d2["STAGE_ID"], d3["STAGE_ID"])
	}
	if !strings.Contains(d3["COMMENTS"].(string), "Customer 🙂 sent it back") {
		t.Errorf("manager comment not carried: %q", d3["COMMENTS"])
	}
	c1 := commentsOf(e, d1["ID"].(string))
	if len(c1) != 2 || !strings.Contains(c1[0], "Новый → Согласовано с клиентом") || !strings.Contains(c1[1], "Согласовано с клиентом → Выполнен") {
		t.Errorf("order 1 comments %q", c1)
	}
	if c2 := commentsOf(e, d2["ID"].(string)); len(c2) != 1 || !strings.Contains(c2[0], "cancelled") {
		t.Errorf("order 2 comments %q", c2)
	}
	c3 := commentsOf(e, d3["ID"].(string))
	if len(c3) != 2 || !strings.Contains(c3[0], "Return registered") || !strings.Contains(c3[1], "🙂") {
		t.Errorf("order 3 comments %q", c3)
	}
	// 3 deal updates + 5 comments, and nothing else.
	if w := e.writes() - before; w != 8 {
		t.Errorf("%d writes, want 8", w)
	}
	if res.Report.Summary.DealsUpdated != 3 || res.Report.Summary.Comments != 5 {
		t.Errorf("summary %+v", res.Report.Summary)
	}
	// Nothing new: nothing written.
	if _, w := e.pullWrites(); w != 0 {
		t.Errorf("idle run wrote %d", w)
	}
}

func TestLostDatabaseCreatesNoDuplicates(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		c := &retailcrm.Customer{FirstName: "C" + strconv.Itoa(i), Email: "c" + strconv.Itoa(i%3) + "@example.com"}
		o := e.rc.CreateOrder(order(c, "10"))
		if i%2 == 0 {
			e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
		}
	}
	e.pull()
	deals, contacts, comments := len(e.bx.Deals()), len(e.bx.Contacts()), len(e.bx.Comments())
	if err := os.Remove(e.dbPath); err != nil {
		t.Fatal(err)
	}
	os.Remove(e.dbPath + "-wal")
	os.Remove(e.dbPath + "-shm")
	before := e.writes()
	res := e.pull()
	if len(e.bx.Deals()) != deals || len(e.bx.Contacts()) != contacts {
		t.Errorf("after losing the database: %d deals (was %d), %d contacts (was %d)", len(e.bx.Deals()), deals, len(e.bx.Contacts()), contacts)
	}
	for origin, ds := range e.dealsByOrigin() {
		if len(ds) != 1 {
			t.Errorf("ORIGIN_ID %s: %d deals", origin, len(ds))
		}
	}
	if w := e.writes() - before; w != 0 || len(e.bx.Comments()) != comments {
		t.Errorf("replay wrote %d commands (comments %d → %d)", w, comments, len(e.bx.Comments()))
	}
	if res.Report.Summary.DealsCreated != 0 || res.Report.Summary.ContactsCreated != 0 {
		t.Errorf("summary %+v", res.Report.Summary)
	}
}

func TestBadOrdersAreParkedWhileGoodOnesSync(t *testing.T) {
	e := newEnv(t)
	e.cfg.Alerts.NotifyUserIDs = []int{7}
	e.rc.AddStatus(retailcrm.Status{Code: "weird", Name: "Weird", Group: "weird-group", Active: true})
	good := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Good", Email: "good@example.com"}, "1"))
	noCust := e.rc.CreateOrder(retailcrm.Order{FirstName: "Nobody", TotalSumm: money("5")})
	badMail := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Bad", Email: "not an email@"}, "2"))
	long := order(&retailcrm.Customer{FirstName: "Long", Email: "long@example.com"}, "3")
	long.CustomerComment = string([]rune(strings.Repeat("Очень длинный комментарий. ", 190))[:4999]) + "!"
	longO := e.rc.CreateOrder(long)
	emoji := order(&retailcrm.Customer{FirstName: "Эмодзи 🎉", Email: "emoji@example.com"}, "4")
	emoji.CustomerComment = "Подарок 🎁 для мамы"
	emojiO := e.rc.CreateOrder(emoji)
	unknown := order(&retailcrm.Customer{FirstName: "Unknown", Email: "u@example.com"}, "6")
	unknown.Status = "weird"
	unknownO := e.rc.CreateOrder(unknown)

	res := e.pull(func(o *Options) { o.MaxAttempts = 2 })
	reasons := map[int64]string{}
	for _, p := range res.Report.Parked {
		reasons[p.OrderID] = p.Reason
	}
	if len(reasons) != 3 {
		t.Fatalf("parked %+v", res.Report.Parked)
	}
	for id, want := range map[int64]string{noCust.ID: "has no customer", badMail.ID: "invalid email", unknownO.ID: `status "weird" (group "weird-group") is not mapped`} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("order %d reason %q lacks %q", id, reasons[id], want)
		}
	}
	for _, o := range []retailcrm.Order{good, longO, emojiO} {
		dealOf(t, e, o.ID)
	}
	if c := dealOf(t, e, longO.ID)["COMMENTS"].(string); !strings.Contains(c, long.CustomerComment) {
		t.Errorf("long comment cut: %d bytes", len(c))
	}
	if c := dealOf(t, e, emojiO.ID)["COMMENTS"].(string); !strings.Contains(c, "🎁") {
		t.Errorf("emoji lost: %q", c)
	}
	st := e.openDB()
	fs, err := st.Failures(context.Background(), storeFailureFilter())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if len(fs) != 3 {
		t.Errorf("failures %+v", fs)
	}
	if len(e.bx.Notifications()) != 0 {
		t.Errorf("alert before the last attempt")
	}

	// The next run retries them first; the second failure parks them and
	// sends one alert each; later runs leave them alone.
	e.clock.Advance(0)
	res = e.pull(func(o *Options) {
		o.MaxAttempts = 2
		o.Now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	})
	if res.Report.Summary.OrdersRetried != 3 {
		t.Errorf("retried %d", res.Report.Summary.OrdersRetried)
	}
	if n := len(e.bx.Notifications()); n != 3 {
		t.Errorf("%d alerts, want 3", n)
	}
	res = e.pull(func(o *Options) {
		o.MaxAttempts = 2
		o.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	})
	if res.Report.Summary.OrdersRetried != 0 || len(e.bx.Notifications()) != 3 {
		t.Errorf("parked items retried again: %+v, %d alerts", res.Report.Summary, len(e.bx.Notifications()))
	}

	// Fixing the status mapping and re-queueing syncs the order.
	e.cfg.Mapping.Statuses["weird"] = "PREPARATION"
	st = e.openDB()
	if _, err := st.RetryFailures(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	res = e.pull()
	if dealOf(t, e, unknownO.ID)["STAGE_ID"] != "PREPARATION" {
		t.Error("re-queued order not synced")
	}
	if res.Parked() != 2 {
		t.Errorf("parked %+v", res.Report.Parked)
	}
}

func TestCustomerChangesWithoutOrderChangesReachTheContact(t *testing.T) {
	e := newEnv(t)
	c := &retailcrm.Customer{FirstName: "Ann", LastName: "Smit", Email: "ann@example.com", Phones: []retailcrm.Phone{{Number: "+7 916 555-44-33"}}}
	o := e.rc.CreateOrder(order(c, "10"))
	stranger := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "S", Email: "s@example.com"}, "1"))
	e.pull()
	if err := e.rc.UpdateCustomer(o.Customer.ID, func(c *retailcrm.Customer) {
		c.LastName = "Smith"
		c.Email = "ann.smith@example.com"
		c.Phones = append(c.Phones, retailcrm.Phone{Number: "8 (916) 777-00-11"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.rc.UpdateCustomer(stranger.Customer.ID, func(c *retailcrm.Customer) { c.LastName = "X" }); err != nil {
		t.Fatal(err)
	}
	res, w := e.pullWrites()
	if w != 2 {
		t.Errorf("%d writes, want 2 contact updates", w)
	}
	if res.Report.Summary.CustomerRecords == 0 || res.Report.Summary.ContactsUpdated != 2 {
		t.Errorf("summary %+v", res.Report.Summary)
	}
	var ann bitrixtestRow
	for _, ct := range e.bx.Contacts() {
		if ct.Str("ORIGIN_ID") == strconv.FormatInt(o.Customer.ID, 10) {
			ann = ct
		}
	}
	if ann.Str("LAST_NAME") != "Smith" || len(ann.Values("EMAIL")) != 2 || len(ann.Values("PHONE")) != 2 {
		t.Errorf("contact %+v %v %v", ann.Fields, ann.Values("EMAIL"), ann.Values("PHONE"))
	}
	if _, w := e.pullWrites(); w != 0 {
		t.Errorf("idle run wrote %d", w)
	}
}

type bitrixtestRow = bitrixtest.Row

func TestFailedCustomerChangeIsParkedAndRetried(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "10"))
	e.pull()
	if err := e.rc.UpdateCustomer(o.Customer.ID, func(c *retailcrm.Customer) { c.LastName = "Lee" }); err != nil {
		t.Fatal(err)
	}
	res := e.pull(func(op *Options) { op.Bitrix = &failingCommands{Bitrix: e.bxc, code: "ERROR_CORE"} })
	if len(res.Report.Parked) != 1 || res.Report.Parked[0].Kind != "customer" {
		t.Fatalf("parked %+v", res.Report.Parked)
	}
	res = e.pull(func(op *Options) { op.Now = func() time.Time { return time.Now().Add(24 * time.Hour) } })
	if res.Parked() != 0 || e.bx.Contacts()[0].Str("LAST_NAME") != "Lee" {
		t.Errorf("retry: parked %+v, contact %+v", res.Report.Parked, e.bx.Contacts()[0].Fields)
	}
	st := e.openDB()
	defer st.Close()
	if fs, _ := st.Failures(context.Background(), store.FailureFilter{}); len(fs) != 0 {
		t.Errorf("failures left %+v", fs)
	}
}

// After the database is lost, the replay finds each deal by ORIGIN_ID and
// reads the rows it carries: rows already as desired are not set again
// (productrows.set replaces every row, giving them new ids), neither by a
// dry run's plan nor by the real run, and the order counts as unchanged.
func TestLostDatabaseSetsNoRowsAgain(t *testing.T) {
	e := newEnv(t)
	closed, open := contentShop(t, e)
	e.pull()
	rowIDs := func() []int64 {
		var ids []int64
		for _, o := range []retailcrm.Order{closed, open} {
			for _, r := range e.bx.ProductRows("deal", dealID(t, e, o.ID)) {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}
	before := rowIDs()
	e.loseDatabase()

	dry := e.dryPull()
	for _, c := range dry.Report.Changes {
		if c.Op == OpRows {
			t.Errorf("the dry run of the replay plans rows for order %d", c.OrderID)
		}
	}
	res, w := e.pullWrites()
	if w != 0 || res.Report.Summary.RowsSet != 0 {
		t.Errorf("the replay wrote %d commands, set the rows of %d deals; want none", w, res.Report.Summary.RowsSet)
	}
	if res.Report.Summary.DealsUnchanged != 2 {
		t.Errorf("summary %+v, want both orders unchanged", res.Report.Summary)
	}
	if after := rowIDs(); !slices.Equal(before, after) {
		t.Errorf("row ids %v became %v: the rows were replaced", before, after)
	}
	// The rows' hash is known again: a changed line re-sends that deal's
	// rows, an idle run reads and writes nothing.
	if _, w := e.pullWrites(); w != 0 {
		t.Errorf("an idle run after the replay wrote %d commands", w)
	}
	e.updateOrder(open.ID, func(o *retailcrm.Order) { o.Items[0].Quantity = money("2") })
	if res, _ := e.pullWrites(); res.Report.Summary.RowsSet != 1 {
		t.Errorf("a changed line set the rows of %d deals, want 1", res.Report.Summary.RowsSet)
	}
}

// After the database is lost, the replay's status comments are found on the
// deals' timelines: nothing is pending, so a dry run's report lists no
// change (--detailed-exitcode exits 0) and the real run counts no comment.
func TestLostDatabaseReplayIsNotPending(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "C" + strconv.Itoa(i), Email: "c" + strconv.Itoa(i) + "@example.com"}, "10"))
		e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	}
	if res := e.pull(); res.Report.Summary.Comments != 3 {
		t.Fatalf("first run: %d comments, want 3", res.Report.Summary.Comments)
	}
	e.loseDatabase()
	if dry := e.dryPull(); dry.Report.Pending() {
		t.Errorf("the dry run of the replay has pending changes: %v", normChanges(dry.Report.Changes))
	}
	res, w := e.pullWrites()
	if w != 0 || res.Report.Summary.Comments != 0 || len(res.Report.Changes) != 0 {
		t.Errorf("the replay wrote %d commands, counted %d comments, reported %v", w, res.Report.Summary.Comments,
			normChanges(res.Report.Changes))
	}
}
