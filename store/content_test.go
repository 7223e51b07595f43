package store

import (
	"context"
	"testing"
	"time"
)

// A database of schema 4 gains the rows hash (empty for existing links)
// and the catalogue cache.
func TestMigrationAddsRowsHashToVersion4(t *testing.T) {
	t.Parallel()
	s, _ := openOldSchema(t, 4, "INSERT INTO order_links (order_id, entity_id, content_hash, synced_at) VALUES (7, 70, 'h', 1)")
	ctx := context.Background()
	l, ok, err := s.OrderLink(ctx, 7)
	if err != nil || !ok || l.EntityID != 70 || l.ContentHash != "h" || l.RowsHash != "" {
		t.Fatalf("link after migration: %+v %v %v", l, ok, err)
	}
	l.RowsHash = "pr1:abc"
	mustTx(t, s, func(tx *Tx) error { return tx.PutOrderLink(ctx, l) })
	if got, _, _ := s.OrderLink(ctx, 7); got.RowsHash != "pr1:abc" {
		t.Errorf("rows hash %q", got.RowsHash)
	}
}

// TestCatalogProducts: lookups are cached per catalogue and code, misses
// too, and can be forgotten.
func TestCatalogProducts(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	mustTx(t, s, func(tx *Tx) error {
		return tx.PutCatalogProducts(ctx, []CatalogProduct{{IBlockID: 14, XMLID: "sku-1", ProductID: 501, CheckedAt: at},
			{IBlockID: 14, XMLID: "sku-2", CheckedAt: at}, {IBlockID: 0, XMLID: "sku-1", ProductID: 9, CheckedAt: at}})
	})
	got, err := s.CatalogProducts(ctx, 14, []string{"sku-1", "sku-2", "sku-3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["sku-1"].ProductID != 501 || got["sku-2"].ProductID != 0 || !got["sku-2"].CheckedAt.Equal(at) {
		t.Errorf("cache %+v", got)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.ForgetCatalogProducts(ctx, 14, []string{"sku-1"}) })
	got, _ = s.CatalogProducts(ctx, 14, []string{"sku-1", "sku-2"})
	other, _ := s.CatalogProducts(ctx, 0, []string{"sku-1"})
	if len(got) != 1 || other["sku-1"].ProductID != 9 {
		t.Errorf("after forgetting: %+v, other catalogue %+v", got, other)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.PutCatalogProducts(ctx, []CatalogProduct{{IBlockID: 1}}) }); err == nil {
		t.Error("an empty code was stored")
	}
}
