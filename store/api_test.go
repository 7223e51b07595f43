package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScratchCopy(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	path := s.Path()
	putCursorAndLink(t, s, "7", OrderLink{OrderID: 1, EntityID: 10})
	// The writer stays open: the copy must include what sits in the WAL.
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Err(); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, path)

	sc, err := Open(ctx, path, Options{Scratch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if !sc.Scratch() {
		t.Error("Scratch() = false")
	}
	if v, _, err := sc.Cursor(ctx, CursorOrdersHistory); err != nil || v != "7" {
		t.Fatalf("scratch cursor = %q, %v", v, err)
	}
	putCursorAndLink(t, sc, "99", OrderLink{OrderID: 2, EntityID: 20})
	if links, err := sc.OrderLinks(ctx, []int64{1, 2}); err != nil || len(links) != 2 {
		t.Errorf("scratch links = %v, %v", links, err)
	}
	// The file and its writer see none of it.
	if v, _, _ := s.Cursor(ctx, CursorOrdersHistory); v != "7" {
		t.Errorf("file cursor = %q after scratch write", v)
	}
	if fileHash(t, path) != before {
		t.Error("scratch store changed the file")
	}
	// Two scratch copies are independent.
	sc2, err := Open(ctx, path, Options{Scratch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sc2.Close()
	if v, _, _ := sc2.Cursor(ctx, CursorOrdersHistory); v != "7" {
		t.Errorf("second scratch sees %q", v)
	}
}

func TestScratchOfMissingFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "none.db")
	sc, err := Open(ctx, path, Options{Scratch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if v, _ := sc.SchemaVersion(ctx); v != SupportedSchemaVersion() {
		t.Errorf("version %d", v)
	}
	mustTx(t, sc, func(tx *Tx) error { return tx.SetCursor(ctx, "c", "1") })
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("scratch created the file: %v", err)
	}
	if _, err := Open(ctx, path, Options{Scratch: true, ReadOnly: true}); err == nil {
		t.Error("Scratch+ReadOnly accepted")
	}
}

func TestScratchRefusesBadFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, []byte("this is not a database, it is a note to self.......................................................................!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, bad, Options{Scratch: true}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt: %v", err)
	}
	newer := filepath.Join(dir, "newer.db")
	s, err := Open(ctx, newer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	rawExec(t, newer, "PRAGMA user_version = 42")
	if _, err := Open(ctx, newer, Options{Scratch: true}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("too new: %v", err)
	}
}

func TestLinks(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	const n = 1500 // more than any IN-list chunk would hold
	mustTx(t, s, func(tx *Tx) error {
		for i := int64(1); i <= n; i++ {
			l := OrderLink{OrderID: i, Site: "shop", Number: "N" + itoa(i), EntityID: 1000 + i, ContactID: 7, CustomerID: i % 10, ContentHash: "h"}
			if i%100 == 0 {
				l.EntityType = EntityLead
			}
			if err := tx.PutOrderLink(ctx, l); err != nil {
				return err
			}
		}
		if err := tx.PutCustomerLink(ctx, CustomerLink{CustomerID: 1, ContactID: 7, Email: "  Anna@Example.COM ", Phone: "+79001234567"}); err != nil {
			return err
		}
		return tx.PutCustomerLink(ctx, CustomerLink{CustomerID: 2, ContactID: 8, Email: "anna@example.com"})
	})

	ids := make([]int64, 0, n+1)
	for i := int64(1); i <= n+1; i++ {
		ids = append(ids, i)
	}
	links, err := s.OrderLinks(ctx, ids)
	if err != nil || len(links) != n {
		t.Fatalf("OrderLinks: %d, %v", len(links), err)
	}
	want := OrderLink{OrderID: 42, Site: "shop", Number: "N42", EntityType: EntityDeal, EntityID: 1042, ContactID: 7, CustomerID: 2, ContentHash: "h", SyncedAt: clk.Now()}
	if diff := cmp.Diff(want, links[42]); diff != "" {
		t.Errorf("link 42 (-want +got):\n%s", diff)
	}
	if l, ok, err := s.OrderLink(ctx, 42); err != nil || !ok || !cmp.Equal(l, want) {
		t.Errorf("OrderLink(42) = %+v %v %v", l, ok, err)
	}
	if _, ok, err := s.OrderLink(ctx, n+1); err != nil || ok {
		t.Errorf("OrderLink(missing) = %v %v", ok, err)
	}
	if empty, err := s.OrderLinks(ctx, nil); err != nil || len(empty) != 0 {
		t.Errorf("OrderLinks(nil) = %v %v", empty, err)
	}
	byDeal, err := s.OrderLinksByEntity(ctx, EntityDeal, []int64{1042, 1100, 99999})
	if err != nil || len(byDeal) != 1 || byDeal[1042].OrderID != 42 {
		t.Errorf("OrderLinksByEntity(deal) = %v %v", byDeal, err)
	}
	byLead, err := s.OrderLinksByEntity(ctx, EntityLead, []int64{1100})
	if err != nil || byLead[1100].OrderID != 100 {
		t.Errorf("OrderLinksByEntity(lead) = %v %v", byLead, err)
	}
	byCustomer, err := s.OrderLinksByCustomer(ctx, 3)
	if err != nil || len(byCustomer) != n/10 || byCustomer[0].OrderID != 3 {
		t.Errorf("OrderLinksByCustomer: %d %v", len(byCustomer), err)
	}

	byEmail, err := s.CustomerLinksByEmail(ctx, "ANNA@example.com")
	if err != nil || len(byEmail) != 2 || byEmail[0].Email != "anna@example.com" {
		t.Errorf("CustomerLinksByEmail = %+v %v", byEmail, err)
	}
	byPhone, err := s.CustomerLinksByPhone(ctx, "+79001234567")
	if err != nil || len(byPhone) != 1 || byPhone[0].CustomerID != 1 {
		t.Errorf("CustomerLinksByPhone = %+v %v", byPhone, err)
	}
	if none, _ := s.CustomerLinksByPhone(ctx, ""); len(none) != 0 {
		t.Errorf("empty phone matched %+v", none)
	}
	cl, err := s.CustomerLinks(ctx, []int64{1, 2, 3})
	if err != nil || len(cl) != 2 || cl[2].ContactID != 8 {
		t.Errorf("CustomerLinks = %+v %v", cl, err)
	}
	counts, err := s.CountLinks(ctx)
	if err != nil || counts != (LinkCounts{Orders: n, Deals: n - n/100, Leads: n / 100, Customers: 2}) {
		t.Errorf("CountLinks = %+v %v", counts, err)
	}

	mustTx(t, s, func(tx *Tx) error {
		if err := tx.DeleteOrderLink(ctx, 42); err != nil {
			return err
		}
		return tx.DeleteCustomerLink(ctx, 2)
	})
	if _, ok, _ := s.OrderLink(ctx, 42); ok {
		t.Error("order link 42 survived delete")
	}
	if _, ok, _ := s.CustomerLink(ctx, 2); ok {
		t.Error("customer link 2 survived delete")
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.PutOrderLink(ctx, OrderLink{OrderID: 1}) }); err == nil {
		t.Error("link without entity id accepted")
	}
	if err := s.Tx(ctx, func(tx *Tx) error {
		return tx.PutOrderLink(ctx, OrderLink{OrderID: 1, EntityID: 1, EntityType: "company"})
	}); err == nil {
		t.Error("unknown entity type accepted")
	}
}

func TestCursors(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	if _, ok, err := s.Cursor(ctx, CursorBackfill); ok || err != nil {
		t.Errorf("unset cursor: %v %v", ok, err)
	}
	mustTx(t, s, func(tx *Tx) error {
		for _, c := range [][2]string{{CursorOrdersHistory, "1"}, {CursorStageHistory, "10"}, {CursorBackfill, "11"}, {CursorCustomersHistory, "0"}} {
			if err := tx.SetCursor(ctx, c[0], c[1]); err != nil {
				return err
			}
		}
		return nil
	})
	clk.Add(time.Minute)
	mustTx(t, s, func(tx *Tx) error { return tx.SetCursor(ctx, CursorOrdersHistory, "2") })
	all, err := s.Cursors(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("Cursors = %+v %v", all, err)
	}
	want := Cursor{Name: CursorOrdersHistory, Value: "2", UpdatedAt: clk.Now()}
	if !cmp.Equal(all[2], want) {
		t.Errorf("cursor = %+v, want %+v", all[2], want)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.DeleteCursor(ctx, CursorBackfill) })
	if _, ok, _ := s.Cursor(ctx, CursorBackfill); ok {
		t.Error("cursor survived delete")
	}
}

func TestRunsAndEvents(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	dead, err := s.StartRun(ctx, "pull", 111) // never finished: its process "died"
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	pull, err := s.StartRun(ctx, "pull", 222)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Run(ctx, dead); err != nil || r.Result != RunInterrupted {
		t.Errorf("stale run = %+v %v, want interrupted", r, err)
	}
	mustTx(t, s, func(tx *Tx) error {
		for i, res := range []Result{ResultOK, ResultFailed, ResultConflict} {
			if _, err := tx.AddEvent(ctx, Event{RunID: pull, Source: SourceRetailCRM, SourceID: itoa(int64(900 + i)), OrderID: int64(1 + i%2), Action: "deal.update", Result: res, Message: "m"}); err != nil {
				return err
			}
		}
		_, err := tx.AddEvent(ctx, Event{Source: SourceCrmsync, Action: "prune", Result: ResultOK})
		return err
	})
	clk.Add(time.Minute)
	counters := map[string]int64{"orders": 3, "parked": 1}
	if err := s.FinishRun(ctx, pull, RunPartial, counters, ""); err != nil {
		t.Fatal(err)
	}
	push, _ := s.StartRun(ctx, "push", 333)
	if err := s.FinishRun(ctx, 12345, RunOK, nil, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishRun(unknown) = %v", err)
	}

	last, err := s.LastRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := newClock().Now()
	want := []Run{
		{ID: pull, Command: "pull", StartedAt: start.Add(time.Minute), EndedAt: start.Add(2 * time.Minute), Result: RunPartial, Counters: counters, PID: 222},
		{ID: push, Command: "push", StartedAt: start.Add(2 * time.Minute), Result: RunRunning, Counters: map[string]int64{}, PID: 333},
	}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("LastRuns (-want +got):\n%s", diff)
	}
	if runs, _ := s.Runs(ctx, "pull", 0); len(runs) != 2 || runs[0].ID != pull {
		t.Errorf("Runs(pull) = %+v", runs)
	}
	if runs, _ := s.Runs(ctx, "", 1); len(runs) != 1 || runs[0].ID != push {
		t.Errorf("Runs(all, 1) = %+v", runs)
	}

	evs, err := s.Events(ctx, EventFilter{RunID: pull})
	if err != nil || len(evs) != 3 || evs[0].Result != ResultConflict || evs[0].SourceID != "902" {
		t.Errorf("Events(run) = %+v %v", evs, err)
	}
	if evs, _ := s.Events(ctx, EventFilter{OrderID: 1}); len(evs) != 2 {
		t.Errorf("Events(order 1) = %+v", evs)
	}
	if evs, _ := s.Events(ctx, EventFilter{Limit: 1}); len(evs) != 1 || evs[0].Source != SourceCrmsync || evs[0].RunID != 0 || evs[0].OrderID != 0 {
		t.Errorf("Events(limit 1) = %+v", evs)
	}
	if evs, _ := s.Events(ctx, EventFilter{Since: clk.Now().Add(time.Second)}); len(evs) != 0 {
		t.Errorf("Events(since future) = %+v", evs)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { _, err := tx.AddEvent(ctx, Event{}); return err }); err == nil {
		t.Error("empty event accepted")
	}
}

// TestRunsEndedSince: the runs that ended at or after the time, oldest
// end first; runs ended before it and runs still going are left out.
func TestRunsEndedSince(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	run := func(command string, took time.Duration, requests int64) int64 {
		t.Helper()
		id, err := s.StartRun(ctx, command, 1)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(took)
		if err := s.FinishRun(ctx, id, RunOK, map[string]int64{"bitrix_requests": requests}, ""); err != nil {
			t.Fatal(err)
		}
		return id
	}
	run("pull", time.Minute, 1) // ends at +1m
	since := clk.Now().Add(time.Second)
	clk.Add(time.Minute)
	pull := run("pull", time.Minute, 2) // +2m .. +3m
	push := run("push", 0, 3)           // ends at +3m
	if _, err := s.StartRun(ctx, "backfill", 2); err != nil {
		t.Fatal(err)
	}

	got, err := s.RunsEndedSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != pull || got[1].ID != push || got[0].Counters["bitrix_requests"] != 2 ||
		!got[0].StartedAt.Equal(since.Add(time.Minute-time.Second)) {
		t.Errorf("RunsEndedSince = %+v, want pull %d then push %d", got, pull, push)
	}
	if got, err := s.RunsEndedSince(ctx, clk.Now().Add(time.Millisecond)); err != nil || len(got) != 0 {
		t.Errorf("RunsEndedSince(after the last) = %+v, %v", got, err)
	}
}

func TestLedgerAndRules(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.AddLedger(ctx, LedgerEntry{Side: SideRetailCRM, Entity: "order", EntityID: 5, Field: "status", Value: "new"}); err != nil {
			return err
		}
		clk.Add(time.Second)
		if err := tx.AddLedger(ctx, LedgerEntry{Side: SideRetailCRM, Entity: "order", EntityID: 5, Field: "status", Value: "complete"}); err != nil {
			return err
		}
		return tx.AddLedger(ctx, LedgerEntry{Side: SideBitrix, Entity: "comment", EntityID: 50, Field: "COMMENT", Value: "hi", RemoteID: 777})
	})
	tests := []struct {
		side   Side
		entity string
		id     int64
		field  string
		value  string
		want   bool
	}{
		{SideRetailCRM, "order", 5, "status", "new", true},
		{SideRetailCRM, "order", 5, "status", "complete", true},
		{SideRetailCRM, "order", 5, "status", "cancel", false},
		{SideBitrix, "order", 5, "status", "new", false},
		{SideRetailCRM, "order", 6, "status", "new", false},
	}
	for _, tc := range tests {
		got, err := s.LedgerHas(ctx, tc.side, tc.entity, tc.id, tc.field, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("LedgerHas(%v) = %v %v", tc, got, err)
		}
	}
	latest, ok, err := s.LedgerLatest(ctx, SideRetailCRM, "order", 5, "status")
	if err != nil || !ok || latest.Value != "complete" || !latest.WrittenAt.Equal(clk.Now()) {
		t.Errorf("LedgerLatest = %+v %v %v", latest, ok, err)
	}
	if _, ok, _ := s.LedgerLatest(ctx, SideBitrix, "deal", 5, "STAGE_ID"); ok {
		t.Error("LedgerLatest found a never-written field")
	}
	if ok, _ := s.LedgerHasRemoteID(ctx, SideBitrix, "comment", 777); !ok {
		t.Error("LedgerHasRemoteID(777) = false")
	}
	if ok, _ := s.LedgerHasRemoteID(ctx, SideBitrix, "comment", 778); ok {
		t.Error("LedgerHasRemoteID(778) = true")
	}

	fire := RuleFire{RuleKey: "rule0", EventKey: "order:5:created", Action: "task", ResultID: "t-1"}
	for i, wantNew := range []bool{true, false} {
		var got bool
		mustTx(t, s, func(tx *Tx) (err error) {
			got, err = tx.MarkRuleFired(ctx, fire)
			return err
		})
		if got != wantNew {
			t.Errorf("MarkRuleFired #%d = %v", i, got)
		}
	}
	f, ok, err := s.RuleFired(ctx, "rule0", "order:5:created", "task")
	if err != nil || !ok || f.ResultID != "t-1" {
		t.Errorf("RuleFired = %+v %v %v", f, ok, err)
	}
	if _, ok, _ := s.RuleFired(ctx, "rule0", "order:5:created", "notify"); ok {
		t.Error("other action reported fired")
	}
}

func TestPrune(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	old1, _ := s.StartRun(ctx, "pull", 1)
	_ = s.FinishRun(ctx, old1, RunOK, nil, "")
	old2, _ := s.StartRun(ctx, "pull", 1)
	_ = s.FinishRun(ctx, old2, RunOK, nil, "")
	mustTx(t, s, func(tx *Tx) error {
		_, err := tx.AddEvent(ctx, Event{RunID: old1, Source: SourceRetailCRM, Action: "a", Result: ResultOK})
		if err != nil {
			return err
		}
		for _, v := range []string{"a", "b"} {
			if err := tx.AddLedger(ctx, LedgerEntry{Side: SideBitrix, Entity: "deal", EntityID: 1, Field: "STAGE_ID", Value: v}); err != nil {
				return err
			}
		}
		_, err = tx.MarkRuleFired(ctx, RuleFire{RuleKey: "r", EventKey: "e", Action: "a"})
		return err
	})
	clk.Add(40 * 24 * time.Hour)
	recent, _ := s.StartRun(ctx, "push", 1)
	mustTx(t, s, func(tx *Tx) error {
		_, err := tx.AddEvent(ctx, Event{RunID: recent, Source: SourceBitrix, Action: "a", Result: ResultOK})
		return err
	})
	res, err := s.Prune(ctx, clk.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res != (PruneResult{Events: 1, Ledger: 1, Runs: 1}) {
		t.Errorf("Prune = %+v", res)
	}
	if v, ok, _ := s.LedgerLatest(ctx, SideBitrix, "deal", 1, "STAGE_ID"); !ok || v.Value != "b" {
		t.Error("Prune dropped the latest ledger value")
	}
	if _, ok, _ := s.RuleFired(ctx, "r", "e", "a"); !ok {
		t.Error("Prune dropped a rule fire")
	}
	if runs, _ := s.LastRuns(ctx); len(runs) != 2 {
		t.Errorf("LastRuns after prune = %+v", runs)
	}
}
