package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCompanyLinks(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := []CompanyLink{
		{OriginID: "42", CompanyID: 7, ContentHash: "h1", Requisites: map[string]string{"7704211201:770401001": "r1"}, Contacts: []int64{9, 3, 9}},
		{OriginID: "inn:500100732259", CompanyID: 8},
	}
	if err := s.Tx(ctx, func(tx *Tx) error {
		if err := putEach(ctx, tx, (*Tx).PutCompanyLink, in); err != nil {
			return err
		}
		return tx.PutCompanyLink(ctx, CompanyLink{OriginID: "x"})
	}); err == nil {
		t.Fatal("a link without a company id was stored")
	}
	mustTx(t, s, func(tx *Tx) error { return putEach(ctx, tx, (*Tx).PutCompanyLink, in) })
	got, err := s.CompanyLinks(ctx, []string{"42", "inn:500100732259", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]CompanyLink{
		"42":               {OriginID: "42", CompanyID: 7, ContentHash: "h1", Requisites: map[string]string{"7704211201:770401001": "r1"}, Contacts: []int64{3, 9}},
		"inn:500100732259": {OriginID: "inn:500100732259", CompanyID: 8, Requisites: map[string]string{}, Contacts: []int64{}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(CompanyLink{}, "SyncedAt"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	if n, err := s.CountCompanyLinks(ctx); err != nil || n != 2 {
		t.Errorf("count %d %v", n, err)
	}
}
