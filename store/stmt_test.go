package store

import (
	"context"
	"strings"
	"testing"
)

// A write transaction prepares each statement once however often it runs
// (a backfill group writes the same few hundreds of times), and the rows
// are those the unprepared statements wrote.
func TestTxPreparesEachStatementOnce(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	var prepared int
	mustTx(t, s, func(tx *Tx) error {
		for i := int64(1); i <= 100; i++ {
			if err := tx.PutOrderLink(ctx, OrderLink{OrderID: i, Site: "shop", EntityID: 1000 + i, ContentHash: "h"}); err != nil {
				return err
			}
		}
		prepared = len(tx.tx.stmts)
		return nil
	})
	if prepared != 1 {
		t.Errorf("100 order links prepared %d statements, want 1", prepared)
	}
	for _, id := range []int64{1, 50, 100} {
		l, ok, err := s.OrderLink(ctx, id)
		if err != nil || !ok || l.EntityID != 1000+id {
			t.Errorf("order link %d: %+v, %v, %v", id, l, ok, err)
		}
	}
}

// A statement SQLite rejects is not kept, and fails as it did unprepared.
func TestTxBadStatementFailsAsBefore(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	err := s.Tx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, "INSERT INTO no_such_table VALUES (?)", 1)
		if len(tx.tx.stmts) != 0 {
			t.Errorf("kept %d statements", len(tx.tx.stmts))
		}
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("error %v, want SQLite's no such table", err)
	}
}
