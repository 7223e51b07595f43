package runs

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ReportVersion is the version of the JSON report documents of pull,
// backfill and push. Fields are only ever added; a rename or removal would
// bump it.
const ReportVersion = 1

// Envelope opens every report document: "version" and "dry_run", before
// the command's own fields (changes, …, parked, summary, cursor).
type Envelope struct {
	Version int  `json:"version"`
	DryRun  bool `json:"dry_run"`
}

// NewEnvelope is the envelope of a report of this version.
func NewEnvelope(dryRun bool) Envelope { return Envelope{Version: ReportVersion, DryRun: dryRun} }

// Cursor is where a run's history cursor stood before and after.
type Cursor struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// WriteJSON writes a report document as indented JSON. The caller passes
// its lists as empty rather than nil, so they read [] and not null.
func WriteJSON(w io.Writer, doc any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// stamper is a report document: a struct that embeds Envelope.
type stamper interface{ stamp() }

// stamp sets the envelope to ReportVersion (a report built without
// NewEnvelope has none).
func (e *Envelope) stamp() { e.Version = ReportVersion }

// WriteDocument writes a copy of a report document (a struct that embeds
// Envelope) at ReportVersion, after lists has made the copy's lists empty
// rather than nil (List), so they read [] and not null.
func WriteDocument[D any, P interface {
	*D
	stamper
}](w io.Writer, doc D, lists func(P)) error {
	p := P(&doc)
	p.stamp()
	lists(p)
	return WriteJSON(w, doc)
}

// List returns l, or an empty list for nil: a report's lists read [] and
// not null.
func List[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// SummaryLine ends a run's one-line summary: with "; stopped early: why"
// when the run stopped before the end (max-items, max-duration).
func SummaryLine(line, stopped string) string {
	if stopped != "" {
		line += "; stopped early: " + stopped
	}
	return line
}

// Text is a text report being written: one line per change (the command
// words its own), then the parked items, then the summary line.
type Text struct {
	b strings.Builder
	// KindWidth and SubjectWidth pad the first two columns.
	KindWidth, SubjectWidth int
}

// Line adds a line.
func (t *Text) Line(s string) {
	t.b.WriteString(s)
	t.b.WriteByte('\n')
}

// Lines adds a line per item, as line words it (a report's changes).
func Lines[T any](t *Text, items []T, line func(T) string) {
	for _, it := range items {
		t.Line(line(it))
	}
}

// ParkedLines adds a Parked line per failed item, as parked words it.
func ParkedLines[T any](t *Text, items []T, parked func(T) (kind, subject, reason string)) {
	for _, it := range items {
		t.Parked(parked(it))
	}
}

// Linef adds a formatted line.
func (t *Text) Linef(format string, args ...any) { t.Line(fmt.Sprintf(format, args...)) }

// Parked adds a failed item: "! kind subject parked: reason".
func (t *Text) Parked(kind, subject, reason string) {
	t.Linef("! %-*s %-*s parked: %s", t.KindWidth, kind, t.SubjectWidth, subject, reason)
}

// Emit writes the report to w.
func (t *Text) Emit(w io.Writer) error {
	_, err := io.WriteString(w, t.b.String())
	return err
}
