package sync

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix"
)

// TestLostDatabaseUnchangedOrdersAreUnchanged: after losing the database,
// a pull over unchanged orders finds their deals by ORIGIN_ID and reads
// their rows: the dry run reports every order unchanged (and counts its
// deal so), the real run sends no Bitrix24 write, creates nothing twice,
// and records the rows so the next run reads them no more. Rows the portal
// completes (a catalogue product's measure), decimals it answers in its
// own form and zero discounts are no difference.
func TestLostDatabaseUnchangedOrdersAreUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name      string
		catalogue bool
	}{
		{name: "free-text rows"},
		{name: "catalogue products", catalogue: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.catalogue {
				e, _ = catalogEnv(t)
				e.cfg.Mapping.Products.IBlockID = 0 // both catalogues: the thermos row takes its product's measure
			}
			contentShop(t, e)
			if res := e.pull(); res.Parked() != 0 {
				t.Fatalf("parked: %+v", res.Report.Parked)
			}
			deals, contacts := len(e.bx.Deals()), len(e.bx.Contacts())
			sets := e.commands("crm.deal.productrows.set")

			e.loseDatabase()
			dry := e.dryPull()
			var text bytes.Buffer
			if err := dry.Report.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if s := dry.Report.Summary; s.DealsUnchanged != 2 || s.DealsUpdated != 0 || s.DealsCreated != 0 || dry.Report.Unchanged != 2 ||
				len(dry.Report.Changes) != 0 {
				t.Errorf("dry run after the loss: %s\n%s", s.Line(), text.String())
			}
			if !strings.Contains(text.String(), "= 2 orders unchanged") {
				t.Errorf("dry run's report:\n%s", text.String())
			}

			res, writes := e.pullWrites()
			if s := res.Report.Summary; writes != 0 || s.DealsUnchanged != 2 || res.Report.Unchanged != 2 || s.RowsSet != 0 {
				t.Errorf("real run after the loss: %d writes; %s", writes, s.Line())
			}
			if n := e.commands("crm.deal.productrows.set") - sets; n != 0 {
				t.Errorf("%d product rows sets for unchanged orders", n)
			}
			if n, m := len(e.bx.Deals()), len(e.bx.Contacts()); n != deals || m != contacts {
				t.Errorf("after the loss: %d deals, %d contacts; want %d, %d", n, m, deals, contacts)
			}
			// The links now record the rows: nothing is read again.
			reads := e.commands("crm.deal.productrows.get")
			if _, writes := e.pullWrites(); writes != 0 || e.commands("crm.deal.productrows.get") != reads {
				t.Errorf("the next run: %d writes, %d rows reads", writes, e.commands("crm.deal.productrows.get")-reads)
			}
		})
	}
}

// TestLostDatabaseRowsThatDifferAreSet: after losing the database, a deal
// whose rows differ from the order's (a manager changed a quantity, or a
// tax rate: the total stays) gets the order's rows, once, and the dry run
// names the difference; the deal counts as updated, the other unchanged.
func TestLostDatabaseRowsThatDifferAreSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*bitrix.ProductRow)
		line string
	}{
		{name: "quantity", edit: func(r *bitrix.ProductRow) { r.Quantity = money("3") },
			line: `~ "Термос (TH-1)" 3 × 1 290.00 → 1 × 1 290.00`},
		{name: "tax rate", edit: func(r *bitrix.ProductRow) { r.TaxRate = nil },
			line: `(was 4 lines, 10 872.00 RUB): ~ "Термос (TH-1)" tax none → 10`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			closed, _ := contentShop(t, e)
			e.pull()
			id := dealID(t, e, closed.ID)
			want := rowsOn(e, "deal", id)
			held, err := e.bxc.ProductRows(context.Background(), bitrix.EntityDeal, bitrix.ID(id))
			if err != nil {
				t.Fatal(err)
			}
			rows := make([]bitrix.ProductRow, len(held))
			for i, r := range held {
				rows[i] = r.Row()
			}
			tc.edit(&rows[2])
			if err := e.bxc.SetProductRows(context.Background(), bitrix.EntityDeal, bitrix.ID(id), rows); err != nil {
				t.Fatal(err)
			}
			sets := e.commands("crm.deal.productrows.set")

			e.loseDatabase()
			dry := e.dryPull()
			var text bytes.Buffer
			if err := dry.Report.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), tc.line) || dry.Report.Unchanged != 1 ||
				dry.Report.Summary.DealsUpdated != 1 || dry.Report.Summary.DealsUnchanged != 1 {
				t.Errorf("dry run after the loss: %s\n%s", dry.Report.Summary.Line(), text.String())
			}
			res := e.pull()
			if n := e.commands("crm.deal.productrows.set") - sets; n != 1 || res.Report.Summary.DealsUpdated != 1 {
				t.Errorf("%d product rows sets; %s", n, res.Report.Summary.Line())
			}
			if got := rowsOn(e, "deal", id); !cmp.Equal(got, want) {
				t.Errorf("rows: %s", cmp.Diff(want, got))
			}
		})
	}
}
