package push_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	pullsync "github.com/crmsync/crmsync/sync"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

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
	reads0, req0 := historyReads(h), h.bx.Stats().Requests
	rep = h.push(push.Options{})
	if got := h.order(o.ID).Status; got != "complete" {
		t.Fatalf("the manager's move was not carried: status %q", got)
	}
	if n, r := h.bx.Stats().Requests-req0, historyReads(h)-reads0; n > 4 || r > 1 {
		t.Errorf("first push: %d Bitrix24 requests, %d stage-history reads; want a handful (≤ 4, 1)", n, r)
	}
	edits := h.edits()
	h.push(push.Options{})
	if h.edits() != edits {
		t.Errorf("the second push wrote the order again (%d edits)", h.edits()-edits)
	}
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

	reads0, req0 := historyReads(h), h.bx.Stats().Requests
	h.push(push.Options{})
	if got := h.order(early.ID).Status; got != "complete" {
		t.Errorf("the move on the deal linked a year ago was not carried: status %q", got)
	}
	if n, r := h.bx.Stats().Requests-req0, historyReads(h)-reads0; n > 4 || r > 1 {
		t.Errorf("first push: %d Bitrix24 requests, %d stage-history reads; want a handful (≤ 4, 1), not the whole history", n, r)
	}

	edits := h.edits()
	h.push(push.Options{})
	if h.edits() != edits {
		t.Errorf("the second push wrote again (%d edits)", h.edits()-edits)
	}
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
	edits := h.edits()
	h.push(push.Options{})
	if h.edits() != edits {
		t.Errorf("the second push wrote again (%d edits)", h.edits()-edits)
	}
}
