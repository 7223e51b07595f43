package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReferencesReplaceAndKeepFetchTime: a dictionary is replaced whole (an
// entry gone from RetailCRM is gone here), an empty one is still recorded
// as read, and what was read when survives a reopen.
func TestReferencesReplaceAndKeepFetchTime(t *testing.T) {
	ctx, s, _ := newStoreTest(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.PutReference(ctx, "statuses", []ReferenceEntry{{Code: "new", Name: "Новый", StatusGroup: "new"},
			{Code: "gone", Name: "Старый", StatusGroup: "cancel"}}, at); err != nil {
			return err
		}
		if err := tx.PutReference(ctx, "statuses", []ReferenceEntry{{Code: "new", Name: "Новый", StatusGroup: "new"},
			{Code: "complete", Name: "Выполнен", StatusGroup: "complete"}}, at.Add(time.Hour)); err != nil {
			return err
		}
		if err := tx.PutReference(ctx, "product-statuses", []ReferenceEntry{{Code: "returned", Name: "Возвращен", CancelStatus: true}}, at); err != nil {
			return err
		}
		return tx.PutReference(ctx, "payment-types", nil, at)
	})
	s = reopen(t, s, Options{})
	got, err := s.References(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Reference{
		"statuses": {FetchedAt: at.Add(time.Hour), Entries: map[string]ReferenceEntry{
			"new":      {Code: "new", Name: "Новый", StatusGroup: "new"},
			"complete": {Code: "complete", Name: "Выполнен", StatusGroup: "complete"}}},
		"product-statuses": {FetchedAt: at, Entries: map[string]ReferenceEntry{
			"returned": {Code: "returned", Name: "Возвращен", CancelStatus: true}}},
		"payment-types": {FetchedAt: at, Entries: map[string]ReferenceEntry{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
}
