package sync

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// fixtureRetailCRM serves a recorded history page and the orders of its
// snapshots (full where the page has one, else the partial snapshot).
type fixtureRetailCRM struct {
	page   *retailcrm.OrdersHistoryPage
	orders map[int64]retailcrm.Order
}

func (f *fixtureRetailCRM) OrdersHistory(_ context.Context, h retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error) {
	out := &retailcrm.OrdersHistoryPage{Pagination: f.page.Pagination}
	for _, r := range f.page.History {
		if r.ID > h.SinceID && len(out.History) < retailcrm.HistoryLimit {
			out.History = append(out.History, r)
		}
	}
	return out, nil
}

func (f *fixtureRetailCRM) Orders(_ context.Context, of retailcrm.OrdersFilter) (*retailcrm.OrdersPage, error) {
	out := &retailcrm.OrdersPage{}
	for _, id := range of.IDs {
		if o, ok := f.orders[id]; ok {
			out.Orders = append(out.Orders, o)
		}
	}
	return out, nil
}

func (f *fixtureRetailCRM) CustomersHistory(context.Context, retailcrm.HistoryFilter) (*retailcrm.CustomersHistoryPage, error) {
	return &retailcrm.CustomersHistoryPage{}, nil
}

func (f *fixtureRetailCRM) Statuses(context.Context) (map[string]retailcrm.Status, error) {
	return map[string]retailcrm.Status{
		"new": {Code: "new", Group: "new"}, "client-confirmed": {Code: "client-confirmed", Group: "approval"},
		"complete": {Code: "complete", Group: "complete"}, "cancel-other": {Code: "cancel-other", Group: "cancel"},
	}, nil
}

func TestRealHistoryPageFixture(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "fixtures", "retailcrm", "orders_history.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("fixture not available: %v", err)
	}
	var page retailcrm.OrdersHistoryPage
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if len(page.History) == 0 {
		t.Fatal("empty fixture")
	}
	fx := &fixtureRetailCRM{page: &page, orders: map[int64]retailcrm.Order{}}
	for _, r := range page.History {
		if r.Order == nil {
			continue
		}
		if _, have := fx.orders[r.Order.ID]; !have || r.Created {
			fx.orders[r.Order.ID] = *r.Order
		}
	}
	e := newEnv(t)
	// Every debug line is formatted over the real page (and dropped).
	eng, st := e.engine(false, keepChanges, logsTo(io.Discard), func(o *Options) { o.RetailCRM = fx })
	res, err := eng.Pull(context.Background())
	if err != nil {
		t.Fatalf("pull over the fixture: %v", err)
	}
	cur, _, err := st.CursorInt(context.Background(), store.CursorOrdersHistory)
	if err != nil || cur != page.LastID() {
		t.Errorf("cursor %d (%v), want %d", cur, err, page.LastID())
	}
	s := res.Report.Summary
	t.Logf("fixture: %+v; parked %d", s, len(res.Report.Parked))
	if s.HistoryRecords != len(page.History) || s.DealsCreated == 0 {
		t.Errorf("summary %+v", s)
	}
	for _, p := range res.Report.Parked {
		if p.Reason == "" {
			t.Errorf("parked without a reason: %+v", p)
		}
	}
}
