package push_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

// testMapping: NEW ↔ new, WON ↔ complete, EXECUTING → assembling,
// PREPARATION only through a group (never maps back), LOSE unmapped.
func testMapping() config.Mapping {
	return config.Mapping{
		Statuses: map[string]string{"new": "NEW", "complete": "WON", "group:approval": "PREPARATION", "group:complete": "WON"},
		Stages:   map[string]string{"EXECUTING": "assembling"},
	}
}

type harness struct {
	t       testing.TB
	ctx     context.Context
	clk     *bitrixtest.Clock // shared by both fakes and the engine
	rc      *retailcrmtest.Server
	bx      *bitrixtest.Server
	rcc     *retailcrm.Client
	bxc     *bitrix.Client
	st      *store.Store
	dbPath  string
	mapping config.Mapping
	funnels []config.Funnel // funnels, for pull and push alike
	logs    *strings.Builder
	// ledgerOnly leaves WebhookUserID unset: push tells crmsync's own
	// comments by the ledger alone.
	ledgerOnly bool
	logMu      stdsync.Mutex
}

// newTest runs the test (or subtest) in parallel with the others, on a
// harness of its own.
func newTest(t *testing.T, portal ...func(*bitrixtest.Options)) *harness {
	t.Helper()
	t.Parallel()
	return newHarness(t, portal...)
}

func newHarness(t testing.TB, portal ...func(*bitrixtest.Options)) *harness {
	t.Helper()
	ctx := t.Context()
	clk := bitrixtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	bxOpts := bitrixtest.Options{Unlimited: true, Now: clk.Now}
	for _, f := range portal {
		f(&bxOpts)
	}
	bx := bitrixtest.New(t, bxOpts)
	bxc, err := bitrix.New(bx.WebhookURL(), bitrix.WithRate(1000, 1000))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, clk: clk, bx: bx, bxc: bxc, mapping: testMapping(), logs: &strings.Builder{}}
	h.useRetailCRM(retailcrmtest.Options{})
	h.dbPath = filepath.Join(t.TempDir(), "crmsync.db")
	h.st = h.open(false)
	return h
}

// useRetailCRM puts the harness on a new fake RetailCRM account (on the
// harness's clock) and a client of it.
func (h *harness) useRetailCRM(opts retailcrmtest.Options) {
	h.t.Helper()
	opts.Now = h.clk.Now
	h.rc = retailcrmtest.New(h.t, opts)
	var err error
	h.rcc, err = retailcrm.New(h.rc.URL(), h.rc.APIKey(), retailcrm.WithRate(1000),
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) open(scratch bool) *store.Store {
	h.t.Helper()
	st, err := store.Open(h.ctx, h.dbPath, store.Options{Now: h.clk.Now, Scratch: scratch})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	return st
}

// linked creates an order in RetailCRM and its deal in Bitrix24 at stage,
// links them as pull would (the link synced now) and records the stage in
// the ledger as pull's write.
func (h *harness) linked(status, stage string) (orderID, dealID int64) {
	h.t.Helper()
	o := h.rc.CreateOrder(retailcrm.Order{Site: retailcrmtest.DefaultSite, Status: status, FirstName: "Anna",
		ManagerComment: "Deliver after 6 pm"})
	dealID = h.bx.SeedDeal(map[string]any{"TITLE": "Order " + o.Number, "STAGE_ID": stage,
		"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(o.ID, 10)})
	err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		if err := tx.PutOrderLink(h.ctx, store.OrderLink{OrderID: o.ID, Site: o.Site, Number: o.Number,
			EntityType: store.EntityDeal, EntityID: dealID, SyncedAt: h.clk.Now()}); err != nil {
			return err
		}
		return tx.AddLedger(h.ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: "deal", EntityID: dealID,
			Field: "STAGE_ID", Value: stage, WrittenAt: h.clk.Now()})
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	return o.ID, dealID
}

// engine builds the push engine over st with the harness's clients,
// mapping, clock and log; adjust changes the dependencies first (a locale,
// the users to notify, the lead entity).
func (h *harness) engine(st *store.Store, adjust ...func(*push.Deps)) *push.Engine {
	h.t.Helper()
	hook, err := bitrix.ParseWebhook(h.bx.WebhookURL())
	if err != nil {
		h.t.Fatal(err)
	}
	webhookUser := hook.UserID
	if h.ledgerOnly {
		webhookUser = 0
	}
	deps := push.Deps{Locale: "en", RetailCRM: h.rcc, Bitrix: h.bxc, Store: st, Mapping: h.mapping,
		Funnels: h.funnels, Originator: "retailcrm", WebhookUserID: webhookUser, Logger: slog.New(slog.NewTextHandler(h, nil)), Now: h.clk.Now}
	for _, f := range adjust {
		f(&deps)
	}
	e, err := push.New(deps)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

// Write collects the engine's log.
func (h *harness) Write(p []byte) (int, error) {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.Write(p)
}

func (h *harness) push(opts push.Options) *push.Report {
	h.t.Helper()
	rep, err := h.engine(h.st).Run(h.ctx, opts)
	if err != nil {
		h.t.Fatalf("push: %v\nlog:\n%s", err, h.logs.String())
	}
	return rep
}

// movedTo links an order at NEW, as linked does, and a person moves its
// deal to stage.
func (h *harness) movedTo(stage string) (orderID, dealID int64) {
	h.t.Helper()
	orderID, dealID = h.linked("new", "NEW")
	h.move(dealID, stage)
	return orderID, dealID
}

// commented links an order at NEW, as linked does, a person comments on its
// deal and pull records an event about the order, so the deal is scanned.
func (h *harness) commented(text string) (orderID, dealID int64) {
	h.t.Helper()
	orderID, dealID = h.linked("new", "NEW")
	h.bx.AddComment("deal", dealID, 7, text)
	activity(h, orderID)
	return orderID, dealID
}

// activity records a pull event about the order, so its deal is scanned.
func activity(h *harness, orderID int64) {
	h.t.Helper()
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		_, err := tx.AddEvent(h.ctx, store.Event{Source: store.SourceRetailCRM, OrderID: orderID, Action: "deal.update", Result: store.ResultOK})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
}

// setStatus plays a manager changing the order's status in RetailCRM.
func setStatus(h *harness, orderID int64, status string) {
	h.t.Helper()
	if err := h.rc.UpdateOrder(orderID, func(o *retailcrm.Order) { o.Status = status }); err != nil {
		h.t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
}

// editPath is the counter key of RetailCRM's order edit.
const editPath = "/api/v5/orders/{id}/edit"

// failEdit makes RetailCRM's next order edit fail with kind.
func (h *harness) failEdit(kind retailcrmtest.FaultKind) {
	h.rc.InjectFault(retailcrmtest.Fault{Kind: kind, Path: editPath, Count: 1})
}

func (h *harness) move(dealID int64, stage string) {
	h.t.Helper()
	if err := h.bx.MoveDeal(dealID, stage, 7); err != nil {
		h.t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
}

func (h *harness) order(id int64) retailcrm.Order {
	h.t.Helper()
	o, ok := h.rc.Order(id)
	if !ok {
		h.t.Fatalf("order %d missing", id)
	}
	return o
}

func (h *harness) edits() int { return h.rc.Requests(editPath) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
