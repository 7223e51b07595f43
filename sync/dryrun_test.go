package sync

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// normChanges removes what only a real run can know: ids of entities
// created in the same run.
func normChanges(cs []Change) []string {
	var out []string
	for _, c := range cs {
		if c.EntityID >= dryIDBase {
			c.EntityID = 0
		}
		var fs []string
		for _, f := range c.Fields {
			v := f.New
			if f.Field == "CONTACT_ID" {
				v = "?"
			}
			old := "<nil>"
			if f.Old != nil {
				old = *f.Old
			}
			fs = append(fs, f.Field+":"+old+"->"+v)
		}
		if c.Op == OpComment {
			c.EntityID = 0
		}
		out = append(out, c.Op+"|"+c.Entity+"|"+itoa(c.EntityID)+"|"+itoa(c.OrderID)+"|"+itoa(c.CustomerID)+"|"+strings.Join(fs, ",")+"|"+c.Text)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDryRunAnnouncesExactlyWhatTheRealRunDoes(t *testing.T) {
	e := newEnv(t)
	anna := &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}
	o1 := e.rc.CreateOrder(order(anna, "1500"))
	e.pull()
	e.bx.SeedContact(map[string]any{"NAME": "Dora", "EMAIL": []string{"dora@example.com"}})
	e.updateOrder(o1.ID, func(o *retailcrm.Order) { o.Status = "complete"; o.TotalSumm = money("1450") })
	e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Dora", Email: "dora@example.com"}, "99.90"))
	e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Emil", Phones: []retailcrm.Phone{{Number: "89161112233"}}}, "5"))

	dbBefore, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	writesBefore := e.writes()
	eng, st := e.engine(true)
	dryRec := eng.recordWrites()
	dry, err := eng.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if w := e.writes() - writesBefore; w != 0 {
		t.Fatalf("dry run wrote %d commands to Bitrix24", w)
	}
	dbAfter, _ := os.ReadFile(e.dbPath)
	if !bytes.Equal(dbBefore, dbAfter) {
		t.Fatal("dry run changed the database file")
	}
	if !dry.Report.Pending() {
		t.Fatal("dry run found nothing to do")
	}
	var text bytes.Buffer
	if err := dry.Report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("dry-run report:\n%s", text.String())
	for _, want := range []string{"~ deal    order " + o1.Number, "STAGE_ID: NEW → WON", "OPPORTUNITY: 1500.00 → 1450.00",
		"+ contact customer", "= 0 orders unchanged"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}

	eng, st = e.engine(false, keepChanges)
	realRec := eng.recordWrites()
	real, err := eng.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	d, r := normChanges(dry.Report.Changes), normChanges(real.Report.Changes)
	if strings.Join(d, "\n") != strings.Join(r, "\n") {
		t.Errorf("dry run announced\n%s\nreal run did\n%s", strings.Join(d, "\n"), strings.Join(r, "\n"))
	}
	if len(*dryRec) != len(*realRec) {
		t.Fatalf("dry run recorded %d writes, real run sent %d", len(*dryRec), len(*realRec))
	}
	for i := range *dryRec {
		a, b := (*dryRec)[i], (*realRec)[i]
		if a.Key != b.Key || a.Cmd.Method != b.Cmd.Method {
			t.Errorf("write %d: dry %s %s, real %s %s", i, a.Key, a.Cmd.Method, b.Key, b.Cmd.Method)
		}
	}
	// Now nothing is pending.
	eng, st = e.engine(true)
	again, err := eng.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if again.Report.Pending() {
		t.Errorf("after the real run a dry run still finds %v", normChanges(again.Report.Changes))
	}
}

func TestDryRunAcrossPagesPlansAgainstItsOwnPretendedWrites(t *testing.T) {
	e := newEnv(t)
	var first retailcrm.Order
	for i := range 120 {
		o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "P", Email: "p" + strconv.Itoa(i%40) + "@example.com"}, "1"))
		if i == 0 {
			first = o
		}
	}
	e.updateOrder(first.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	dry := e.dryPull()
	if dry.Report.Summary.Pages != 2 {
		t.Fatalf("pages %d", dry.Report.Summary.Pages)
	}
	real := e.pull(keepChanges)
	d, r := normChanges(dry.Report.Changes), normChanges(real.Report.Changes)
	if strings.Join(d, "\n") != strings.Join(r, "\n") {
		t.Errorf("dry run announced\n%s\nreal run did\n%s", strings.Join(d, "\n"), strings.Join(r, "\n"))
	}
	// 120 customers with 40 e-mails: one contact per e-mail.
	if real.Report.Summary.DealsCreated != 120 || real.Report.Summary.ContactsCreated != 40 || real.Report.Summary.Comments != 1 {
		t.Errorf("summary %+v", real.Report.Summary)
	}
}

// TestChangeLinesNameTheirSubject: every line of the text report says whose
// change it is; a merge's comment on the merged customer's contact names the
// customer (it has no order).
func TestChangeLinesNameTheirSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    Change
		want string
	}{
		{Change{Op: OpComment, Entity: "comment", EntityID: 28, CustomerID: 311, Text: "merged"},
			`+ comment customer 311 (#28)      "merged"`},
		{Change{Op: OpComment, Entity: "comment", EntityID: 7, OrderID: 1042, OrderNumber: "1042A", CustomerID: 311, Text: "hi"},
			`+ comment order 1042A (#7)        "hi"`},
		{Change{Op: OpCreate, Entity: "contact", CustomerID: 311, Fields: []FieldChange{{Field: "NAME", New: "Anna"}}},
			`+ contact customer 311            NAME="Anna"`},
	} {
		if got := tc.c.line(); got != tc.want {
			t.Errorf("line:\n got %q\nwant %q", got, tc.want)
		}
	}
}
