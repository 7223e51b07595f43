package store

import (
	"testing"
	"time"
)

// TestBitrixBudgetPerPortal: the level is kept per portal, the last write
// wins, and it survives a reopen; a portal never recorded has none.
func TestBitrixBudgetPerPortal(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.PutBitrixBudget(ctx, "a.bitrix24.ru", 5, at); err != nil {
			return err
		}
		if err := tx.PutBitrixBudget(ctx, "a.bitrix24.ru", 2.25, at.Add(time.Second)); err != nil {
			return err
		}
		if err := tx.PutBitrixBudget(ctx, "b.bitrix24.ru:8443", 1, at); err != nil {
			return err
		}
		if err := tx.PutBitrixBudget(ctx, "", 1, at); err == nil {
			t.Error("an unnamed portal was accepted")
		}
		return nil
	})
	s = reopen(t, s, Options{ReadOnly: true})
	for _, tc := range []struct {
		portal string
		level  float64
		at     time.Time
		ok     bool
	}{
		{"a.bitrix24.ru", 2.25, at.Add(time.Second), true},
		{"b.bitrix24.ru:8443", 1, at, true},
		{"c.bitrix24.ru", 0, time.Time{}, false},
	} {
		level, got, ok, err := s.BitrixBudget(ctx, tc.portal)
		if err != nil || level != tc.level || !got.Equal(tc.at) || ok != tc.ok {
			t.Errorf("%s: %v at %v ok %v err %v; want %v at %v ok %v", tc.portal, level, got, ok, err, tc.level, tc.at, tc.ok)
		}
	}
}
