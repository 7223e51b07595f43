package store

import (
	"testing"
	"time"
)

// TestManagerMatches: a refresh replaces every row (a user gone from the
// lists loses its match); e-mails are stored normalised, unmatched users
// are kept with Bitrix24 user 0.
func TestManagerMatches(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	first := []ManagerMatch{{RetailCRMUserID: 14, BitrixUserID: 40, Email: " Anna@Shop.Example ", Name: "Anna", MatchedAt: at},
		{RetailCRMUserID: 15, Email: "boris@shop.example", Name: "Boris", MatchedAt: at}}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.ReplaceManagerMatches(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.ManagerMatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := got[14]; m.BitrixUserID != 40 || m.Email != "anna@shop.example" || m.Name != "Anna" || !m.MatchedAt.Equal(at) {
		t.Errorf("match of 14 = %+v", m)
	}
	if m, ok := got[15]; !ok || m.BitrixUserID != 0 {
		t.Errorf("unmatched 15 = %+v %v", m, ok)
	}
	if err := s.Tx(ctx, func(tx *Tx) error {
		return tx.ReplaceManagerMatches(ctx, []ManagerMatch{{RetailCRMUserID: 15, BitrixUserID: 41, MatchedAt: at.Add(time.Hour)}})
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ManagerMatches(ctx)
	if _, ok := got[14]; ok || len(got) != 1 || got[15].BitrixUserID != 41 {
		t.Errorf("after the refresh: %+v", got)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.ReplaceManagerMatches(ctx, []ManagerMatch{{}}) }); err == nil {
		t.Error("a match without a RetailCRM user was stored")
	}
}
