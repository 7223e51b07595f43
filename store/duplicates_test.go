package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDuplicatesRecordedPerOrigin(t *testing.T) {
	ctx, s, clk := newStoreTest(t)
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetDuplicates(ctx, EntityDeal, 1042, 7, []int64{7, 9, 8}); err != nil {
			return err
		}
		if err := tx.SetDuplicates(ctx, EntityContact, 311, 5, []int64{6}); err != nil {
			return err
		}
		return tx.SetDuplicates(ctx, EntityDeal, 1043, 20, nil) // a single deal: nothing to record
	})
	got, err := s.Duplicates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now()
	want := []Duplicate{
		{EntityType: EntityContact, OriginID: 311, KeptID: 5, Others: []int64{6}, SeenAt: at},
		{EntityType: EntityDeal, OriginID: 1042, KeptID: 7, Others: []int64{8, 9}, SeenAt: at},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("duplicates (-want +got):\n%s", d)
	}

	// A later lookup sees fewer copies, then one deal only: the group
	// shrinks, then goes.
	clk.Add(1)
	mustTx(t, s, func(tx *Tx) error { return tx.SetDuplicates(ctx, EntityDeal, 1042, 7, []int64{9}) })
	got, _ = s.Duplicates(ctx)
	if len(got) != 2 || fmt.Sprint(got[1].Others) != "[9]" {
		t.Fatalf("after a partial clean-up: %+v", got)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetDuplicates(ctx, EntityDeal, 1042, 7, nil) })
	got, _ = s.Duplicates(ctx)
	if len(got) != 1 || got[0].EntityType != EntityContact {
		t.Fatalf("after the clean-up: %+v", got)
	}

	err = s.Tx(ctx, func(tx *Tx) error { return tx.SetDuplicates(ctx, "company", 1, 2, []int64{3}) })
	if err == nil {
		t.Fatal("an unknown entity type was accepted")
	}
}

// A database of schema 1 gains the duplicates table and keeps its data.
func TestMigrationAddsDuplicatesToVersion1(t *testing.T) {
	t.Parallel()
	s, _ := openOldSchema(t, 1, "INSERT INTO cursors (name, value, updated_at) VALUES ('orders_history', '7137', 1)")
	ctx := context.Background()
	if v, _ := s.SchemaVersion(ctx); v != SupportedSchemaVersion() || v < 3 {
		t.Fatalf("schema %d", v)
	}
	if v, ok, err := s.Cursor(ctx, CursorOrdersHistory); err != nil || !ok || v != "7137" {
		t.Fatalf("cursor after migration: %q %v %v", v, ok, err)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetDuplicates(ctx, EntityLead, 1, 2, []int64{3}) })
	if got, err := s.Duplicates(ctx); err != nil || len(got) != 1 {
		t.Fatalf("duplicates after migration: %+v %v", got, err)
	}
}

// Companies sharing one ORIGIN_ID (text: a corporate customer id or an
// inn: key) are recorded per ORIGIN_ID like the other entities, and a
// database of schema 9 (the previous release) gains the table.
func TestCompanyDuplicatesRecordedPerOrigin(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s, path := openTest(t, Options{Now: clk.Now})
	ctx := context.Background()
	mustTx(t, s, func(tx *Tx) error {
		if err := tx.SetCompanyDuplicates(ctx, "4211", 30, []int64{30, 34, 31}); err != nil {
			return err
		}
		if err := tx.SetCompanyDuplicates(ctx, "inn:7707083893:773601001", 40, []int64{41}); err != nil {
			return err
		}
		return tx.SetCompanyDuplicates(ctx, "4212", 50, nil)
	})
	got, err := s.CompanyDuplicates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now()
	want := []CompanyDuplicate{
		{OriginID: "4211", KeptID: 30, Others: []int64{31, 34}, SeenAt: at},
		{OriginID: "inn:7707083893:773601001", KeptID: 40, Others: []int64{41}, SeenAt: at},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("company duplicates (-want +got):\n%s", d)
	}
	mustTx(t, s, func(tx *Tx) error { return tx.SetCompanyDuplicates(ctx, "4211", 30, nil) })
	if got, _ := s.CompanyDuplicates(ctx); len(got) != 1 || got[0].OriginID != "inn:7707083893:773601001" {
		t.Fatalf("after the clean-up: %+v", got)
	}
	if err := s.Tx(ctx, func(tx *Tx) error { return tx.SetCompanyDuplicates(ctx, "", 1, []int64{2}) }); err == nil {
		t.Error("an empty ORIGIN_ID was accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Back to schema 9: the table goes; the next open brings it back empty
	// and keeps the rest.
	rawExec(t, path, "DROP TABLE company_duplicates", "PRAGMA user_version = 9",
		"INSERT INTO cursors (name, value, updated_at) VALUES ('corporate_history', '12', 1)")
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != SupportedSchemaVersion() || v < 10 {
		t.Fatalf("schema %d", v)
	}
	if got, err := s.CompanyDuplicates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("company duplicates after the migration: %+v %v", got, err)
	}
	if v, ok, _ := s.CursorInt(ctx, CursorCorporateHistory); !ok || v != 12 {
		t.Errorf("corporate cursor %d %v after the migration", v, ok)
	}
}
