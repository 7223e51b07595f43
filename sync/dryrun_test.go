package sync

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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
		// A company and its requisite name their key: the corporate
		// customer, or the inn: key of an individual's legal buyer.
		{Change{Op: OpCreate, Entity: "company", CustomerID: 5, CompanyKey: "5", Fields: []FieldChange{{Field: "TITLE", New: "Pyshka"}}},
			`+ company corporate 5             TITLE="Pyshka"`},
		{Change{Op: OpUpdate, Entity: "company", EntityID: 1, CustomerID: 5, CompanyKey: "5", Fields: []FieldChange{{Field: "TITLE", Old: ptr("Pyshka"), New: "Pyshka & Co"}}},
			`~ company corporate 5 (#1)        TITLE: "Pyshka" → "Pyshka & Co"`},
		{Change{Op: OpCreate, Entity: "requisite", CompanyKey: "inn:7704211201:770401001", Fields: []FieldChange{{Field: "RQ_INN", New: "7704211201"}}},
			`+ requisite inn:7704211201:770401001 RQ_INN=7704211201`},
		{Change{Op: OpUpdate, Entity: "company", EntityID: 1, CompanyKey: "inn:500100732259", Fields: []FieldChange{{Field: "CONTACT_ID", New: "12", Added: []string{"12"}}}},
			`~ company inn:500100732259 (#1)   CONTACT_ID: added 12`},
		// Added values say "added": a phone has a "+" of its own.
		{Change{Op: OpUpdate, Entity: "contact", EntityID: 2, CustomerID: 311, Fields: []FieldChange{
			{Field: "EMAIL", New: "a@example.com,b@example.com", Added: []string{"a@example.com", "b@example.com"}},
			{Field: "PHONE", New: "+79161112233", Added: []string{"+79161112233"}}}},
			`~ contact customer 311 (#2)       EMAIL: added a@example.com, b@example.com; PHONE: added +79161112233`},
		// The portal answers a date-only field as a datetime at midnight.
		{Change{Op: OpUpdate, Entity: "deal", EntityID: 877, OrderID: 1017, Fields: []FieldChange{
			{Field: "BEGINDATE", Old: ptr("2026-11-30T03:00:00+03:00"), New: "2026-11-29"},
			{Field: "CLOSEDATE", Old: ptr("2026-12-01T00:00:00+00:00"), New: "2026-12-06"}}},
			`~ deal    order 1017 (#877)       BEGINDATE: 2026-11-30 → 2026-11-29; CLOSEDATE: 2026-12-01 → 2026-12-06`},
	} {
		if got := tc.c.line(); got != tc.want {
			t.Errorf("line:\n got %q\nwant %q", got, tc.want)
		}
	}
}

// checkColumns fails the test unless every change and parked line of r's
// text report is "op kind subject rest" with the kind padded to 7 and the
// subject to 23 runes (the example's columns), a longer one followed by one
// space: lines of short kinds and subjects stay aligned with each other and
// keep the example's form whatever else the report holds.
func checkColumns(t *testing.T, r *Report, text string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	if len(lines) < len(r.Changes)+len(r.Parked) {
		t.Fatalf("report has %d lines for %d changes and %d parked:\n%s", len(lines), len(r.Changes), len(r.Parked), text)
	}
	var want []reportLine
	for _, c := range r.Changes {
		want = append(want, c.cols())
	}
	for _, p := range r.Parked {
		kind, subj, reason := p.parked()
		want = append(want, reportLine{"!", kind, subj, "parked: " + reason})
	}
	pad := func(s string, n int) string {
		return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
	}
	for i, w := range want {
		prefix := pad(w.kind, kindWidth) + " " + pad(w.subject, subjectWidth) + " " + w.rest
		if !strings.HasSuffix(lines[i], prefix) || utf8.RuneCountInString(lines[i]) != utf8.RuneCountInString(prefix)+2 {
			t.Errorf("line %q\nwant  %q after the op", lines[i], prefix)
		}
	}
}

// TestDryRunReportReadsWell: the text report of a real plan names the
// company and requisite lines (the corporate customer, or the inn: key of
// an individual's legal buyer), keeps the example's columns although
// "requisite" is wider than the kind column, writes an added phone as
// "added +7…" and date-only fields as days; the JSON report carries the
// company key; an order whose deal is as it should be (the portal answers
// its days as datetimes) plans no deal update.
func TestDryRunReportReadsWell(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.pyshka()
	anna := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Анна", Email: "anna@example.com"})
	e.rc.CreateOrder(corporateOrder(cc, person, 0, "100"))
	o := e.rc.CreateOrder(legalOrder(&anna, retailcrm.Contragent{Type: retailcrm.ContragentEnterpreneur,
		LegalName: "ИП Соколова Анна Викторовна", INN: "500100732259", OGRNIP: "304500116000157"}, "300"))
	text := func(r *Result) string {
		t.Helper()
		var b bytes.Buffer
		if err := r.Report.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}

	dry := e.dryPull()
	rep := text(dry)
	corp := "corporate " + strconv.FormatInt(cc.ID, 10)
	for _, want := range []string{
		"+ company " + corp + " ", "+ requisite " + corp + " ", "~ company " + corp + " ",
		"CONTACT_ID: added (new)", "+ company inn:500100732259 ", "+ requisite inn:500100732259 ",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("dry-run report lacks %q:\n%s", want, rep)
		}
	}
	checkColumns(t, dry.Report, rep)
	var js bytes.Buffer
	if err := dry.Report.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"company_key": "inn:500100732259"`) ||
		!strings.Contains(js.String(), `"company_key": "`+strconv.FormatInt(cc.ID, 10)+`"`) {
		t.Errorf("JSON report lacks the company keys:\n%s", js.String())
	}
	e.pull()

	// Anna gains a phone; her order is completed, which moves CLOSEDATE.
	if err := e.rc.UpdateCustomer(anna.ID, func(c *retailcrm.Customer) {
		c.Phones = append(c.Phones, retailcrm.Phone{Number: "+79161112233"})
	}); err != nil {
		t.Fatal(err)
	}
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	rep = text(e.dryPull())
	deal := dealRow(t, e, o.ID)
	oldClose := deal.Str("CLOSEDATE")
	if !strings.Contains(oldClose, "T") {
		t.Fatalf("the fake portal answers CLOSEDATE as %q, not as a datetime", oldClose)
	}
	if !strings.Contains(rep, "PHONE: added +79161112233") {
		t.Errorf("dry-run report lacks the added phone:\n%s", rep)
	}
	if !regexp.MustCompile(`CLOSEDATE: ` + deal.Day("CLOSEDATE") + ` → \d{4}-\d\d-\d\d(;|\n)`).MatchString(rep) {
		t.Errorf("dry-run report lacks CLOSEDATE: %s → <day>:\n%s", deal.Day("CLOSEDATE"), rep)
	}
	if strings.Contains(rep, oldClose) {
		t.Errorf("dry-run report shows the portal's datetime %s:\n%s", oldClose, rep)
	}
	e.pull()

	// The deal is compared field by field when its order changes: its days,
	// which the portal answers as datetimes, are no change.
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerComment = "gift wrap" })
	dry = e.dryPull()
	for _, c := range dry.Report.Changes {
		if c.Entity == "deal" && c.Op == OpUpdate && (len(c.Fields) != 1 || c.Fields[0].Field != "COMMENTS") {
			t.Errorf("a new comment plans %v", normChanges([]Change{c}))
		}
	}
	e.pull()
	// With the database lost, every deal is found and compared again: the
	// orders are as their deals, so no deal is updated.
	if err := os.Remove(e.dbPath); err != nil {
		t.Fatal(err)
	}
	dry = e.dryPull()
	for _, c := range dry.Report.Changes {
		if c.Entity == "deal" {
			t.Errorf("an unchanged order plans %v", normChanges([]Change{c}))
		}
	}
}

// TestReportTextKeepsTheExamplesColumns: with every kind the text report can
// print (entities, rule actions, parked kinds) and a subject longer than the
// column in one report, each line keeps the example's 7 and 23 columns (a
// longer kind or subject moves only its own line's rest), so a deal line
// reads the same whatever else the report holds.
func TestReportTextKeepsTheExamplesColumns(t *testing.T) {
	t.Parallel()
	r := &Report{Unchanged: 3, Changes: []Change{
		{Op: OpCreate, Entity: "deal", OrderID: 1042, Site: "shop", Fields: []FieldChange{{Field: "TITLE", New: "Order 1042"}}},
		{Op: OpCreate, Entity: "lead", OrderID: 1043, Site: "магазин-на-диване", Fields: []FieldChange{{Field: "TITLE", New: "Order 1043"}}},
		{Op: OpCreate, Entity: "contact", CustomerID: 311, Fields: []FieldChange{{Field: "NAME", New: "Anna"}}},
		{Op: OpCreate, Entity: "company", CustomerID: 5, CompanyKey: "5", Fields: []FieldChange{{Field: "TITLE", New: "Pyshka"}}},
		{Op: OpCreate, Entity: "requisite", CompanyKey: "inn:7704211201:770401001", Fields: []FieldChange{{Field: "RQ_INN", New: "7704211201"}}},
		{Op: OpUpdate, Entity: "company", EntityID: 1, CompanyKey: "inn:7704211201:770401001", Fields: []FieldChange{{Field: "CONTACT_ID", New: "12", Added: []string{"12"}}}},
		{Op: OpComment, Entity: "comment", EntityID: 7, OrderID: 1042, Text: "hi"},
		{Op: OpRows, Entity: "deal", EntityID: 7, OrderID: 1042, Rows: &RowsChange{Lines: 1, Total: "10.00"}},
		{Op: OpNotify, Entity: "notification", EntityID: 3, Text: "order parked"},
		{Op: OpRule, Entity: "task", EntityID: 7, OrderID: 1042, Text: "call"},
		{Op: OpRule, Entity: "notify", EntityID: 7, OrderID: 1042, Text: "big order"},
		{Op: OpRule, Entity: "comment", EntityID: 7, OrderID: 1042, Text: "vip"},
		{Op: OpRule, Entity: "workflow", EntityID: 7, OrderID: 1042, Text: "template 12"},
		{Op: OpRule, Entity: "stage", EntityID: 7, OrderID: 1042, Text: "WON"},
	}, Parked: []ParkedItem{
		{Kind: "order", Key: "1044", Reason: "no mapping"},
		{Kind: "customer", Key: "312", Reason: "bad phone"},
		{Kind: "corporate", Key: "inn:7704211201:770401001", Reason: "bad INN"},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	checkColumns(t, r, b.String())
	narrow := &Report{Changes: r.Changes[:1]}
	b.Reset()
	if err := narrow.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := "+ deal    order 1042 (site shop)  TITLE=\"Order 1042\"\n= 0 orders unchanged\n"; b.String() != want {
		t.Errorf("narrow report\n got %q\nwant %q", b.String(), want)
	}
}
