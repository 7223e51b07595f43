package push_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	pullsync "github.com/crmsync/crmsync/sync"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

// TestNoEchoRoundTrip runs the real pull engine and push against the same
// fakes and database: pull → push → (people work in Bitrix24) → push →
// pull → push. After the people's changes have gone across once, the second
// round sends nothing in either direction.
func TestNoEchoRoundTrip(t *testing.T) {
	t.Parallel()
	for _, ledgerOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("ledger_only=%v", ledgerOnly), func(t *testing.T) {
			t.Parallel()
			noEchoRoundTrip(t, ledgerOnly)
		})
	}
}

// noEchoRoundTrip is TestNoEchoRoundTrip; with ledgerOnly push does not know
// the webhook's user, so only the ledger tells pull's comments apart.
func noEchoRoundTrip(t *testing.T, ledgerOnly bool) {
	h := newHarness(t)
	h.ledgerOnly = ledgerOnly
	h.mapping = config.Mapping{Statuses: map[string]string{
		"new": "NEW", "group:approval": "PREPARATION", "complete": "WON", "group:complete": "WON", "group:cancel": "LOSE",
	}}
	cust := h.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com",
		Phones: []retailcrm.Phone{{Number: "+79001234567"}}})
	o := h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new", Customer: &cust, FirstName: "Anna",
		OrderMethod: "shopping-cart", ManagerComment: "VIP"})
	h.clk.Advance(time.Minute)

	pull := func() int {
		t.Helper()
		before := bitrixWrites(h)
		realPull(t, h)
		return bitrixWrites(h) - before
	}
	var last *push.Report
	pushRun := func() int {
		t.Helper()
		before := h.edits()
		last = h.push(push.Options{})
		h.clk.Advance(time.Minute)
		return h.edits() - before
	}

	if n := pull(); n == 0 {
		t.Fatal("the first pull wrote nothing to Bitrix24")
	}
	deals := h.bx.Deals()
	if len(deals) != 1 {
		t.Fatalf("deals %+v", deals)
	}
	dealID := int64(deals[0].ID)
	if n := pushRun(); n != 0 {
		t.Errorf("push echoed pull's writes: %d RetailCRM edits; order %+v", n, h.order(o.ID))
	}
	// pull records the stage it set in the ledger: its row is an echo.
	if last.Summary.EchoesDropped != 1 {
		t.Errorf("pull's stage not recognised as its own: %+v", last.Summary)
	}

	// People work on the deal.
	h.move(dealID, "WON")
	h.bx.AddComment("deal", dealID, 7, "Delivered, client happy")
	h.clk.Advance(time.Minute)
	if n := pushRun(); n != 2 {
		t.Errorf("push made %d edits, want 2 (status, comment)", n)
	}
	got := h.order(o.ID)
	if got.Status != "complete" || got.ManagerComment != "VIP\n[2026-03-02 09:0"+got.ManagerComment[len("VIP\n[2026-03-02 09:0"):] {
		t.Errorf("order %+v", got)
	}

	// Second round: both directions are quiet.
	if n := pull(); n != 0 {
		t.Errorf("pull echoed push's writes: %d Bitrix24 writes", n)
	}
	if n := pushRun(); n != 0 {
		t.Errorf("push wrote %d edits in the quiet round", n)
	}
	if n := pull(); n != 0 {
		t.Errorf("pull wrote %d in the quiet round", n)
	}
	if d, _ := h.bx.Deal(dealID); d.Str("STAGE_ID") != "WON" {
		t.Errorf("deal stage %q", d.Str("STAGE_ID"))
	}

	// A manager reopens the order: pull moves the deal and comments on it;
	// push carries neither back.
	setStatus(h, o.ID, "new")
	if n := pull(); n == 0 {
		t.Fatal("pull did not carry the reopened order")
	}
	before := h.order(o.ID)
	n := pushRun()
	if last.Summary.EchoesDropped != 1 {
		t.Errorf("pull's move back to NEW not recognised as its own: %+v", last.Summary)
	}
	if n != 0 {
		t.Errorf("push echoed pull's stage or comment: %d edits\nbefore %q\nafter  %q\ncomments %+v",
			n, before.ManagerComment, h.order(o.ID).ManagerComment, h.bx.Comments())
	}
	if n := pull(); n != 0 {
		t.Errorf("pull wrote %d in the last quiet round", n)
	}
}

// realPull runs the real pull engine on the harness's fakes and database,
// then lets a minute pass.
func realPull(t *testing.T, h *harness) {
	t.Helper()
	pullWith(t, h, h.bxc)
}

// bitrixWrites counts the write commands the portal ran.
func bitrixWrites(h *harness) int {
	s := h.bx.Stats()
	n := 0
	for m, c := range s.CommandsPerMethod {
		if !bitrix.IsReadMethod(m) {
			n += c
		}
	}
	for m, c := range s.PerMethod {
		if !bitrix.IsReadMethod(m) && m != "batch" {
			n += c
		}
	}
	return n
}

// TestFirstPushStartsAtTheStageHead: the portal has a long stage history
// before crmsync arrives. The first pull marks its head, so the first push
// reads only what happened since, yet still carries a manager's move.
func TestFirstPushStartsAtTheStageHead(t *testing.T) {
	h := newTest(t)
	h.mapping = config.Mapping{Statuses: map[string]string{"new": "NEW", "complete": "WON", "group:complete": "WON"}}
	// Years of other deals: 300 stage rows crmsync has no business reading.
	for i := range 100 {
		id := h.bx.SeedDeal(map[string]any{"TITLE": "old deal", "STAGE_ID": "NEW"})
		for _, st := range []string{"PREPARATION", "WON"} {
			if err := h.bx.MoveDeal(id, st, int64(i%5+2)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cust := h.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	o := h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new", Customer: &cust, FirstName: "Anna"})
	h.clk.Advance(time.Minute)
	realPull(t, h)
	var dealID int64
	for _, d := range h.bx.Deals() {
		if d.Str("ORIGIN_ID") != "" {
			dealID = int64(d.ID)
		}
	}
	h.move(dealID, "WON")
	rep := h.push(push.Options{})
	// The deal's own creation row and the manager's move; nothing older.
	if rep.Summary.StageRows != 2 {
		t.Errorf("first push read %d stage rows, want 2 (from the head on)", rep.Summary.StageRows)
	}
	if got := h.order(o.ID); got.Status != "complete" {
		t.Errorf("the manager's move was not carried: status %q", got.Status)
	}
}

// A push killed after it marked pull's stage row as its own echo, but before
// its cursor moved past the row, reads the row again: it is still the echo,
// not a person's move (which would raise a conflict with a later change of
// the order).
func TestEchoReadAgainAfterACrashIsStillTheEcho(t *testing.T) {
	h := newTest(t)
	cust := h.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	o := h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new", Customer: &cust, FirstName: "Anna"})
	h.clk.Advance(time.Minute)
	realPull(t, h)
	head, _, err := h.st.CursorInt(h.ctx, store.CursorStageHistory)
	if err != nil {
		t.Fatal(err)
	}
	if rep := h.push(push.Options{}); rep.Summary.EchoesDropped != 1 {
		t.Fatalf("pull's stage row not taken as its echo: %+v", rep.Summary)
	}
	// The crash: the echo is marked, the cursor is where it was.
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error { return tx.SetCursorInt(h.ctx, store.CursorStageHistory, head) }); err != nil {
		t.Fatal(err)
	}
	setStatus(h, o.ID, "complete")
	edits := h.edits()
	rep := h.push(push.Options{})
	if rep.Summary.EchoesDropped != 1 || rep.Summary.Conflicts != 0 || h.edits() != edits {
		t.Errorf("the echo read again was taken for a person's move: %+v, %d edits", rep.Summary, h.edits()-edits)
	}
	if got := h.order(o.ID).Status; got != "complete" {
		t.Errorf("order status %q, want the later RetailCRM change kept", got)
	}
}

// Where a push without a stage cursor starts reading the stage history
// (docs/architecture.md, Push): never before crmsync's first link, yet
// never past a move a person made on a linked deal since.

const historyMethod = "crm.stagehistory.list"

// unrelatedHistory gives the portal years of other deals: n stage-history
// rows (creations and moves) crmsync has no business reading, then lets two
// hours pass (more than the first push's margin).
func unrelatedHistory(t *testing.T, h *harness, n int) {
	t.Helper()
	for len(h.bx.StageHistory()) < n {
		id := h.bx.SeedDeal(map[string]any{"TITLE": "old deal", "STAGE_ID": "NEW"})
		for _, st := range []string{"PREPARATION", "EXECUTING", "WON"} {
			if err := h.bx.MoveDeal(id, st, 5); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.clk.Advance(2 * time.Hour)
}

// historyReads counts the stage-history reads the portal answered, alone
// or in a batch.
func historyReads(h *harness) int {
	s := h.bx.Stats()
	return s.PerMethod[historyMethod] + s.CommandsPerMethod[historyMethod]
}

// headless is pull's Bitrix24 client on a portal where the stage history's
// head cannot be read: the command that reads it never reaches the portal,
// so pull finds no answer for it (as when the portal fails that command).
type headless struct{ *bitrix.Client }

func (c headless) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	nb := bitrix.NewBatch(b.Halt)
	for _, k := range b.Keys() {
		if cmd, _ := b.Cmd(k); cmd.Method != historyMethod {
			if err := nb.Add(k, cmd); err != nil {
				return nil, err
			}
		}
	}
	return c.Client.Batch(ctx, nb)
}

// pullWith runs the real pull engine through bx, then lets a minute pass.
func pullWith(t *testing.T, h *harness, bx pullsync.Bitrix) {
	t.Helper()
	eng, err := pullsync.New(pullsync.Options{Config: &config.Config{PhoneRegion: "RU",
		Bitrix: config.Bitrix{Entity: config.EntityDeal, OriginatorID: "retailcrm"}, Mapping: h.mapping, Funnels: h.funnels},
		RetailCRM: h.rcc, Bitrix: bx, Store: h.st, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Pull(h.ctx); err != nil {
		t.Fatalf("pull: %v", err)
	}
	h.clk.Advance(time.Minute)
}

// newOrder adds an order of a new buyer to RetailCRM.
func newOrder(h *harness, name string) retailcrm.Order {
	c := h.rc.AddCustomer(retailcrm.Customer{FirstName: name, Email: name + "@example.com"})
	return h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new", Customer: &c, FirstName: name})
}

// firstPushCarries runs the first push: the order must take status from
// its deal's move, for a handful of requests (one stage-history page), not
// the portal's whole history.
func firstPushCarries(t *testing.T, h *harness, orderID int64, status string) {
	t.Helper()
	reads0, req0 := historyReads(h), h.bx.Stats().Requests
	h.push(push.Options{})
	if got := h.order(orderID).Status; got != status {
		t.Errorf("the manager's move was not carried: status %q, want %q", got, status)
	}
	if n, r := h.bx.Stats().Requests-req0, historyReads(h)-reads0; n > 4 || r > 1 {
		t.Errorf("first push: %d Bitrix24 requests, %d stage-history reads; want a handful (≤ 4, 1), not the whole history", n, r)
	}
}

// pushesNothingMore runs one more push and fails the test if it writes to
// RetailCRM; it returns the edits so far.
func pushesNothingMore(t *testing.T, h *harness) int {
	t.Helper()
	edits := h.edits()
	h.push(push.Options{})
	if h.edits() != edits {
		t.Errorf("the next push wrote again (%d edits)", h.edits()-edits)
	}
	return edits
}

// dealOf is the deal pull linked to the order.
func dealOf(t *testing.T, h *harness, orderID int64) int64 {
	t.Helper()
	l, ok, err := h.st.OrderLink(h.ctx, orderID)
	if err != nil || !ok {
		t.Fatalf("order %d has no link (%v)", orderID, err)
	}
	return l.EntityID
}

func firstStartMapping() config.Mapping {
	return config.Mapping{Statuses: map[string]string{"new": "NEW", "complete": "WON", "group:complete": "WON"},
		Stages: map[string]string{"EXECUTING": "assembling"}}
}

// A push scheduled before the first pull has no deal to push for: it reads
// none of the portal's 5,000 rows of stage history. After pull links a
// deal, the first push reads only from the head pull marked, and carries a
// manager's move; nothing is pushed twice.
func TestFirstPushBeforeAnyLinkReadsNoHistory(t *testing.T) {
	h := newTest(t)
	h.mapping = firstStartMapping()
	unrelatedHistory(t, h, 5000)

	before := h.bx.Stats().Requests
	rep := h.push(push.Options{})
	if n := h.bx.Stats().Requests - before; n > 1 || rep.Summary.StageRows != 0 {
		t.Fatalf("a push with no linked deal cost %d Bitrix24 requests and read %d stage rows, want ≤ 1 and none", n, rep.Summary.StageRows)
	}
	if _, ok, _ := h.st.CursorInt(h.ctx, store.CursorStageHistory); ok {
		t.Fatal("a push with no linked deal set the stage cursor")
	}

	o := newOrder(h, "anna")
	realPull(t, h)
	h.move(dealOf(t, h, o.ID), "WON")
	firstPushCarries(t, h, o.ID, "complete")
	pushesNothingMore(t, h)
}

// When pull could not read the head, the first push starts where crmsync
// began writing (less an hour): a handful of requests instead of reading
// 5,000 rows of other deals, yet it carries a move a person made on a deal
// linked a year before (events and ledger pruned since); later runs go on
// from the cursor, nothing pushed twice.
func TestFirstPushWithoutTheHeadStartsWhereCrmsyncBegan(t *testing.T) {
	h := newTest(t)
	h.mapping = firstStartMapping()
	unrelatedHistory(t, h, 5000)

	early := newOrder(h, "anna")
	pullWith(t, h, headless{h.bxc}) // the head is not read
	if _, ok, _ := h.st.CursorInt(h.ctx, store.CursorStageHistory); ok {
		t.Fatal("the stage cursor is set although the head was not read")
	}
	h.clk.Advance(400 * 24 * time.Hour)
	if _, err := h.st.Prune(h.ctx, h.clk.Now().Add(-90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	h.move(dealOf(t, h, early.ID), "WON")

	firstPushCarries(t, h, early.ID, "complete")

	edits := pushesNothingMore(t, h)
	later := newOrder(h, "boris")
	realPull(t, h)
	h.move(dealOf(t, h, later.ID), "EXECUTING")
	h.push(push.Options{})
	h.push(push.Options{})
	if got := h.edits() - edits; got != 1 || h.order(later.ID).Status != "assembling" {
		t.Errorf("a new move: %d edits, status %q; want 1, assembling", got, h.order(later.ID).Status)
	}
}

// A database that links orders but has no stage cursor (made before pull
// marked the head, or whose head read failed) keeps every move: a later
// pull does not mark the head over its links (that would skip the move a
// manager made before it), and the first push reads the history from its
// start.
func TestFirstPushOverOldLinksReadsFromTheStart(t *testing.T) {
	h := newTest(t)
	h.mapping = firstStartMapping()
	unrelatedHistory(t, h, 200)
	o := newOrder(h, "anna")
	realPull(t, h)
	// An older crmsync: no stage cursor, no start.
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		if err := tx.DeleteCursor(h.ctx, store.CursorStageHistory); err != nil {
			return err
		}
		return tx.DeleteCursor(h.ctx, store.CursorStageHistorySince)
	}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(400 * 24 * time.Hour)
	h.move(dealOf(t, h, o.ID), "WON")
	newOrder(h, "boris")
	realPull(t, h) // looks up the new order's deal before writing it
	h.push(push.Options{})
	if got := h.order(o.ID).Status; got != "complete" {
		t.Errorf("the move on a deal linked before the head was marked was not carried: status %q", got)
	}
	pushesNothingMore(t, h)
}
