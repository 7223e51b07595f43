package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCommentSweepAndOpenLinks(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	mustTx(t, s, func(tx *Tx) error {
		return putEach(ctx, tx, (*Tx).PutOrderLink, []OrderLink{
			{OrderID: 1, EntityID: 10, StatusGroup: "new"},
			{OrderID: 2, EntityID: 20, StatusGroup: "complete"},
			{OrderID: 3, EntityID: 30, StatusGroup: "cancel"},
			{OrderID: 4, EntityID: 40}, // group unknown: open
			{OrderID: 5, EntityID: 40, StatusGroup: "approval"},
			{OrderID: 6, EntityID: 50, StatusGroup: "delivery"},
			{OrderID: 7, EntityType: EntityLead, EntityID: 60, StatusGroup: "new"},
		})
	})
	if l, _, err := s.OrderLink(ctx, 2); err != nil || l.StatusGroup != "complete" {
		t.Errorf("link %+v %v", l, err)
	}
	final := []string{"complete", "cancel"}
	for _, tc := range []struct {
		et    EntityType
		after int64
		limit int
		want  []int64
	}{
		{EntityDeal, 0, 10, []int64{10, 40, 50}},
		{EntityDeal, 10, 1, []int64{40}},
		{EntityDeal, 50, 10, nil},
		{EntityLead, 0, 10, []int64{60}},
	} {
		got, err := s.SweepEntities(ctx, tc.et, tc.after, tc.limit, final)
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("SweepEntities(%s, %d, %d) = %v, %v; want %v", tc.et, tc.after, tc.limit, got, err, tc.want)
		}
	}
	if pos, err := s.CommentSweep(ctx, EntityDeal); err != nil || pos != 0 {
		t.Errorf("position before any sweep %d %v", pos, err)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityDeal, 40) })
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityDeal, 50) })
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityLead, 60) })
	if pos, err := s.CommentSweep(ctx, EntityDeal); err != nil || pos != 50 {
		t.Errorf("deal position %d %v, want 50", pos, err)
	}
	if pos, err := s.CommentSweep(ctx, EntityLead); err != nil || pos != 60 {
		t.Errorf("lead position %d %v, want 60", pos, err)
	}
}

// A database of schema 1 gains the sweep table and the links' status
// group; its links read as of unknown group (swept).
func TestUpgradeFromSchema1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openOldSchema(t, 1, `INSERT INTO order_links (order_id, entity_type, entity_id, synced_at) VALUES (1, 'deal', 10, 0)`)
	if v, _ := s.SchemaVersion(ctx); v != SupportedSchemaVersion() {
		t.Errorf("schema %d", v)
	}
	if got, err := s.SweepEntities(ctx, EntityDeal, 0, 10, []string{"complete"}); err != nil || !cmp.Equal(got, []int64{10}) {
		t.Errorf("SweepEntities = %v, %v", got, err)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetCommentSweep(ctx, EntityDeal, 10) })
}

// UnreadOwnWrites: linked deals with a crmsync write later than push's
// last read of their comments (less the slack), a deal's first write (its
// creation) not counting while push never read it; newest writes first.
func TestUnreadOwnWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := openTest(t, Options{Now: clock})
	at := func(min int) time.Time { return now.Add(time.Duration(min) * time.Minute) }
	write := func(entity string, deal int64, min int) {
		mustTx(t, s, func(tx *Tx) error {
			return tx.AddLedger(ctx, LedgerEntry{Side: SideBitrix, Entity: entity, EntityID: deal, Field: "F", Value: "v", WrittenAt: at(min)})
		})
	}
	mustTx(t, s, func(tx *Tx) error {
		for _, id := range []int64{10, 20, 30, 40, 50, 60} {
			if err := tx.PutOrderLink(ctx, OrderLink{OrderID: id, EntityID: id, StatusGroup: "complete"}); err != nil {
				return err
			}
		}
		return nil
	})
	write("deal", 10, -60) // created only: nothing before it to hide
	write("deal", 20, -60) // created, then commented on
	write("comment", 20, -50)
	write("deal", 30, -60) // read after its last write
	write("comment", 30, -40)
	write("deal", 40, -60) // written again after the read
	write("comment", 40, -20)
	write("deal", 50, -60) // written just before the read: within the slack
	write("comment", 50, -32)
	write("comment", 70, -10)        // not linked
	write("deal", 60, -60*24*8)      // beyond the horizon
	write("comment", 60, -60*24*8+1) //
	mustTx(t, s, func(tx *Tx) error {
		return tx.AddLedger(ctx, LedgerEntry{Side: SideRetailCRM, Entity: "comment", EntityID: 10, Field: "F", Value: "v", WrittenAt: at(-5)})
	})
	now = at(-30)
	mustTx(t, s, func(tx *Tx) error {
		for _, id := range []int64{30, 40, 50} {
			if err := tx.SetCommentCursor(ctx, EntityDeal, id, 1); err != nil {
				return err
			}
		}
		return nil
	})
	now = at(0)
	got, err := s.UnreadOwnWrites(ctx, EntityDeal, []string{"deal", "comment"}, at(-7*24*60), 5*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{40, 50, 20}, got); diff != "" {
		t.Errorf("unread own writes (-want +got):\n%s", diff)
	}
	if got, _ := s.UnreadOwnWrites(ctx, EntityDeal, []string{"deal", "comment"}, at(-7*24*60), 5*time.Minute, 1); !cmp.Equal(got, []int64{40}) {
		t.Errorf("limit 1: %v", got)
	}
}
