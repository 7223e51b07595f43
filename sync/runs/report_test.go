package runs_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/sync/runs"
)

// TestEnvelope: every report document opens with version and dry_run,
// whatever the command adds after them (WriteDocument sets the version and
// the caller's empty lists), and the text report's parked lines have one
// form.
func TestEnvelope(t *testing.T) {
	type document struct {
		runs.Envelope
		Changes []string    `json:"changes"`
		Cursor  runs.Cursor `json:"cursor"`
	}
	doc := document{Envelope: runs.NewEnvelope(true), Changes: []string{}, Cursor: runs.Cursor{From: 1, To: 2}}
	var b bytes.Buffer
	if err := runs.WriteJSON(&b, doc); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"version\": 1,\n  \"dry_run\": true,\n  \"changes\": [],\n  \"cursor\": {\n    \"from\": 1,\n    \"to\": 2\n  }\n}\n"
	if b.String() != want {
		t.Errorf("JSON\n%s\nwant\n%s", b.String(), want)
	}

	// A report built without NewEnvelope is written at ReportVersion, its
	// nil lists as [], and the caller's report is left as it was.
	b.Reset()
	doc.Envelope, doc.Changes = runs.Envelope{}, nil
	if err := runs.WriteDocument(&b, doc, func(d *document) { d.Changes = runs.List(d.Changes) }); err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(want, "true", "false", 1); b.String() != want {
		t.Errorf("document\n%s\nwant\n%s", b.String(), want)
	}
	if doc.Version != 0 || doc.Changes != nil {
		t.Errorf("WriteDocument changed its argument: %+v", doc)
	}

	b.Reset()
	txt := runs.Text{KindWidth: 7, SubjectWidth: 12}
	runs.Lines(&txt, []int{1, 2}, func(n int) string { return "+ deal " + strconv.Itoa(n) })
	runs.ParkedLines(&txt, []int{17}, func(n int) (string, string, string) {
		return "order", "order " + strconv.Itoa(n), "unmapped status"
	})
	txt.Linef("= %d orders unchanged", 3)
	if err := txt.Emit(&b); err != nil {
		t.Fatal(err)
	}
	if want := "+ deal 1\n+ deal 2\n! order   order 17     parked: unmapped status\n= 3 orders unchanged\n"; b.String() != want {
		t.Errorf("text %q, want %q", b.String(), want)
	}
}

// TestListAndSummaryLine: a nil list reads [] and a stopped run says why at
// the end of its summary line.
func TestListAndSummaryLine(t *testing.T) {
	if l := runs.List[int](nil); l == nil || len(l) != 0 {
		t.Errorf("List(nil) = %#v, want an empty list", l)
	}
	if l := runs.List([]int{1}); len(l) != 1 || l[0] != 1 {
		t.Errorf("List([1]) = %v", l)
	}
	if got := runs.SummaryLine("orders seen 1", ""); got != "orders seen 1" {
		t.Errorf("SummaryLine not stopped = %q", got)
	}
	if got, want := runs.SummaryLine("orders seen 1", "max-items"), "orders seen 1; stopped early: max-items"; got != want {
		t.Errorf("SummaryLine stopped = %q, want %q", got, want)
	}
}
