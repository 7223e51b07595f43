package sync

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/runs"
	"github.com/shopspring/decimal"
)

// ReportVersion is the version of the JSON report document (one for
// every command's report, runs.ReportVersion).
const ReportVersion = runs.ReportVersion

// Operations of a Change.
const (
	OpCreate  = "create"
	OpUpdate  = "update"
	OpComment = "comment"
	OpNotify  = "notify"
	OpRule    = "rule" // an action of a configured rule; Entity names it (task, notify, comment, workflow, stage)
	OpRows    = "rows" // the product rows of a deal or lead were set (Rows)
)

// Report is what a run did (or, in a dry run, would do): one Change per
// Bitrix24 write, the orders left unchanged, and the items parked.
type Report struct {
	runs.Envelope
	Changes   []Change      `json:"changes"`
	Unchanged int           `json:"unchanged"`
	Parked    []ParkedItem  `json:"parked"`
	Summary   Summary       `json:"summary"`
	Cursor    CursorSummary `json:"cursor"`
}

// Change is one write to Bitrix24.
type Change struct {
	Op          string        `json:"op"`     // create, update, comment, notify
	Entity      string        `json:"entity"` // deal, lead, contact, comment, notification
	EntityID    int64         `json:"entity_id,omitempty"`
	OrderID     int64         `json:"order_id,omitempty"`
	OrderNumber string        `json:"order_number,omitempty"`
	Site        string        `json:"site,omitempty"`
	CustomerID  int64         `json:"customer_id,omitempty"`
	Fields      []FieldChange `json:"fields,omitempty"`
	Text        string        `json:"text,omitempty"`
	Rows        *RowsChange   `json:"rows,omitempty"` // OpRows
	// CompanyKey is the key (ORIGIN_ID) of a company, requisite or
	// company's contact link: a corporate customer's id (also CustomerID)
	// or inn:<INN>[:<KPP>] for an individual's order-level legal entity.
	CompanyKey string `json:"company_key,omitempty"`
}

// RowsChange is the product rows a deal (or lead) was given: all of them,
// as the call replaces every row, and the rows it held before when the
// run read them (a dry run does; nil for a new deal).
type RowsChange struct {
	Lines    int         `json:"lines"`
	Total    string      `json:"total"` // Σ price × quantity
	Currency string      `json:"currency,omitempty"`
	Rows     []RowReport `json:"rows"`
	Old      []RowReport `json:"old,omitempty"`
	// New says the rows went to a deal created in the same run.
	New bool `json:"new,omitempty"`
}

// RowReport is one product row as sent: decimals as exact text, tax_rate
// null for a row without tax.
type RowReport struct {
	ProductID   int64   `json:"product_id"`
	Name        string  `json:"name"`
	Price       string  `json:"price"`
	Quantity    string  `json:"quantity"`
	DiscountSum string  `json:"discount_sum,omitempty"`
	TaxRate     *string `json:"tax_rate"`
	TaxIncluded bool    `json:"tax_included"`
	MeasureCode int     `json:"measure_code,omitempty"`
	MeasureName string  `json:"measure_name,omitempty"`
}

// FieldChange is one field's old and new value; Old is nil for a new
// entity, Added lists values appended to a multifield (PHONE, EMAIL).
type FieldChange struct {
	Field string   `json:"field"`
	Old   *string  `json:"old"`
	New   string   `json:"new"`
	Added []string `json:"added,omitempty"`
}

// ParkedItem is an item that failed in this run, with its reason: parked
// after its last attempt (crmsync retry or skip), or, with WaitingForRetry,
// to be tried again by a later run on its own.
type ParkedItem struct {
	Kind            string `json:"kind"`
	Key             string `json:"key"`
	OrderID         int64  `json:"order_id,omitempty"`
	Reason          string `json:"reason"`
	WaitingForRetry bool   `json:"waiting_for_retry,omitempty"`
}

// CursorSummary is where the history cursor stood before and after.
type CursorSummary = runs.Cursor

// Summary counts a run's work. Parked counts every item this run set aside
// in the failures table; WaitingForRetry those of them later runs try
// again on their own (the rest are out of attempts and need crmsync retry
// or skip), OutOfAttempts the others. docs/operations.md, "Failed items",
// has the words; push's summary has waiting_for_retry and out_of_attempts
// in the same sense.
type Summary struct {
	Pages             int    `json:"pages"`
	HistoryRecords    int    `json:"history_records"`
	EchoesDropped     int    `json:"echoes_dropped"`
	OrdersSeen        int    `json:"orders_seen"`
	OrdersRetried     int    `json:"orders_retried"`
	CustomerRecords   int    `json:"customer_history_records"`
	CustomersSeen     int    `json:"customers_changed"`
	ContactsCreated   int    `json:"contacts_created"`
	ContactsUpdated   int    `json:"contacts_updated"`
	ContactsReused    int    `json:"contacts_reused"`
	DealsCreated      int    `json:"deals_created"`
	DealsUpdated      int    `json:"deals_updated"`
	DealsUnchanged    int    `json:"deals_unchanged"`
	Comments          int    `json:"comments"`
	RowsSet           int    `json:"rows_set"` // deals (or leads) whose product rows were set
	RuleActions       int    `json:"rule_actions"`
	Parked            int    `json:"parked"`
	WaitingForRetry   int    `json:"waiting_for_retry"`
	OutOfAttempts     int    `json:"out_of_attempts"`
	Alerts            int    `json:"alerts"`
	BitrixRequests    int    `json:"bitrix_requests"`
	RetailCRMRequests int    `json:"retailcrm_requests"`
	Backlog           int64  `json:"backlog"`
	Stopped           string `json:"stopped,omitempty"` // why the run stopped early: max-items, max-duration, stop (serve stopping)
}

// Pending reports whether the report holds changes to make.
func (r *Report) Pending() bool { return len(r.Changes) > 0 }

// Counters returns the summary as run counters for the store.
func (s Summary) Counters() map[string]int64 {
	return map[string]int64{
		"pages": int64(s.Pages), "history_records": int64(s.HistoryRecords), "echoes_dropped": int64(s.EchoesDropped),
		"orders_seen": int64(s.OrdersSeen), "orders_retried": int64(s.OrdersRetried),
		"customer_history_records": int64(s.CustomerRecords), "customers_changed": int64(s.CustomersSeen),
		"contacts_created": int64(s.ContactsCreated), "contacts_updated": int64(s.ContactsUpdated),
		"contacts_reused": int64(s.ContactsReused), "deals_created": int64(s.DealsCreated),
		"deals_updated": int64(s.DealsUpdated), "deals_unchanged": int64(s.DealsUnchanged),
		"comments": int64(s.Comments), "rows_set": int64(s.RowsSet), "rule_actions": int64(s.RuleActions), "parked": int64(s.Parked), "waiting_for_retry": int64(s.WaitingForRetry),
		"alerts":          int64(s.Alerts),
		"bitrix_requests": int64(s.BitrixRequests), "retailcrm_requests": int64(s.RetailCRMRequests),
		"backlog": s.Backlog,
	}
}

// countFailure counts an item this run parked; outOfAttempts: it had its
// last attempt.
func (s *Summary) countFailure(outOfAttempts bool) {
	s.Parked++
	if outOfAttempts {
		s.OutOfAttempts++
	} else {
		s.WaitingForRetry++
	}
}

// Line is the one-line summary printed at the end of a run.
func (s Summary) Line() string {
	return runs.SummaryLine(fmt.Sprintf("orders seen %d; contacts created %d, updated %d, reused %d; deals created %d, updated %d, unchanged %d; comments %d; %s; requests: bitrix %d, retailcrm %d",
		s.OrdersSeen, s.ContactsCreated, s.ContactsUpdated, s.ContactsReused, s.DealsCreated, s.DealsUpdated,
		s.DealsUnchanged, s.Comments, runs.FailuresPhrase(s.Parked, s.WaitingForRetry), s.BitrixRequests, s.RetailCRMRequests), s.Stopped)
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	return runs.WriteDocument(w, *r, func(out *Report) { out.Changes, out.Parked = runs.List(out.Changes), runs.List(out.Parked) })
}

// WriteText writes the diff report, one line per change (docs/operations.md):
//
//	$ crmsync pull --dry-run
//	+ deal    order 1042 (site shop)  TITLE="Order 1042" STAGE_ID=NEW OPPORTUNITY=1890.00 RUB
//	~ deal    order 1017 (#877)       STAGE_ID: PREPARATION → WON; OPPORTUNITY: 1500.00 → 1450.00
//	+ contact customer 311            NAME="Anna" EMAIL=anna@example.com
//	= 37 orders unchanged
//
// The kind and subject columns are 7 and 23 wide, as in the example, in
// every report: a longer kind or subject (a requisite, a long site name)
// pushes only its own line's rest to the right, so the lines of the example
// keep their form whatever else the report holds (scripts match them).
func (r *Report) WriteText(w io.Writer) error {
	t := runs.Text{KindWidth: kindWidth, SubjectWidth: subjectWidth}
	runs.Lines(&t, r.Changes, Change.line)
	runs.ParkedLines(&t, r.Parked, ParkedItem.parked)
	t.Linef("= %d orders unchanged", r.Unchanged)
	return t.Emit(w)
}

// The text report's kind and subject columns.
const kindWidth, subjectWidth = 7, 23

func (p ParkedItem) parked() (kind, subject, reason string) {
	return p.Kind, p.Kind + " " + p.Key, strings.Join(strings.Fields(p.Reason), " ")
}

func (c Change) subject() string {
	switch {
	case c.Entity == "contact":
		return fmt.Sprintf("customer %d", c.CustomerID)
	case c.CompanyKey != "" && c.CustomerID != 0:
		return fmt.Sprintf("corporate %d", c.CustomerID) // the key is the corporate customer's id
	case c.CompanyKey != "":
		return c.CompanyKey // inn:<INN>[:<KPP>]
	case c.OrderID != 0:
		num := c.OrderNumber
		if num == "" {
			num = strconv.FormatInt(c.OrderID, 10)
		}
		return "order " + num
	case c.CustomerID != 0:
		return fmt.Sprintf("customer %d", c.CustomerID) // a merge's comment on the merged customer's contact
	}
	return ""
}

// reportLine is a change's line in columns: "+ kind subject rest".
type reportLine struct{ op, kind, subject, rest string }

func (l reportLine) format(kindWidth, subjectWidth int) string {
	return fmt.Sprintf("%s %-*s %-*s %s", l.op, kindWidth, l.kind, subjectWidth, l.subject, l.rest)
}

// line is the change's line of the text report.
func (c Change) line() string { return c.cols().format(kindWidth, subjectWidth) }

func (c Change) cols() reportLine {
	subj := c.subject()
	switch c.Op {
	case OpCreate:
		if c.Site != "" && c.Entity != "contact" {
			subj += " (site " + c.Site + ")"
		}
		parts := make([]string, 0, len(c.Fields))
		for _, f := range c.Fields {
			if f.Field == "CURRENCY_ID" || hiddenInText[f.Field] {
				continue
			}
			v := showValue(f.Field, f.New)
			if f.Field == "OPPORTUNITY" {
				if cur := fieldValue(c.Fields, "CURRENCY_ID"); cur != "" {
					v += " " + cur
				}
			}
			parts = append(parts, f.Field+"="+v)
		}
		return reportLine{"+", c.Entity, subj, strings.Join(parts, " ")}
	case OpUpdate:
		if c.EntityID != 0 {
			subj += fmt.Sprintf(" (#%d)", c.EntityID)
		}
		parts := make([]string, 0, len(c.Fields))
		for _, f := range c.Fields {
			if len(f.Added) > 0 {
				// "added", not "+": a phone number has its own "+".
				vals := make([]string, len(f.Added))
				for i, a := range f.Added {
					vals[i] = showValue(f.Field, a)
				}
				parts = append(parts, f.Field+": added "+strings.Join(vals, ", "))
				continue
			}
			old := "(empty)"
			if f.Old != nil && *f.Old != "" {
				old = showValue(f.Field, *f.Old)
			}
			parts = append(parts, fmt.Sprintf("%s: %s → %s", f.Field, old, showValue(f.Field, f.New)))
		}
		return reportLine{"~", c.Entity, subj, strings.Join(parts, "; ")}
	case OpComment:
		if c.EntityID != 0 && c.EntityID < dryIDBase {
			subj += fmt.Sprintf(" (#%d)", c.EntityID)
		}
		return reportLine{"+", "comment", subj, strconv.Quote(oneLine(c.Text))}
	case OpRows:
		if c.EntityID != 0 && c.EntityID < dryIDBase {
			subj += fmt.Sprintf(" (#%d)", c.EntityID)
		}
		op := "~"
		if c.Rows != nil && c.Rows.New {
			op = "+"
		}
		return reportLine{op, "rows", subj, c.Rows.line()}
	case OpRule:
		if c.EntityID != 0 && c.EntityID < dryIDBase {
			subj += fmt.Sprintf(" (#%d)", c.EntityID)
		}
		return reportLine{"+", c.Entity, subj, strconv.Quote(oneLine(c.Text))}
	default:
		return reportLine{"+", c.Entity, subj, strconv.Quote(oneLine(c.Text))}
	}
}

func fieldValue(fs []FieldChange, name string) string {
	for _, f := range fs {
		if f.Field == name {
			return f.New
		}
	}
	return ""
}

// hiddenInText are bookkeeping fields of a new entity that the text report
// leaves out (the JSON report has them).
var hiddenInText = map[string]bool{"ORIGINATOR_ID": true, "ORIGIN_ID": true, "IS_MANUAL_OPPORTUNITY": true,
	"SOURCE_DESCRIPTION": true, "CATEGORY_ID": true, "ASSIGNED_BY_ID": true, "BEGINDATE": true, "CLOSEDATE": true}

// textFields are shown quoted; codes, ids, amounts and addresses are not.
var textFields = map[string]bool{"TITLE": true, "NAME": true, "LAST_NAME": true, "SECOND_NAME": true,
	"COMMENTS": true, "SOURCE_DESCRIPTION": true}

func showValue(field, v string) string {
	if field == bitrix.FieldBeginDate || field == bitrix.FieldCloseDate {
		// The portal answers a day as a datetime at midnight: show the day.
		if d, err := bitrix.ParseDate(v); err == nil && !d.IsZero() {
			return bitrix.FormatDate(d)
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= dryIDBase && strings.HasSuffix(field, "_ID") {
		return "(new)"
	}
	if textFields[field] || strings.ContainsAny(v, " \t\n\"=;") || v == "" {
		return strconv.Quote(oneLine(v))
	}
	return v
}

// oneLine shortens text for a one-line report.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return s
}

// fieldOrder puts the fields a reader looks for first.
var fieldOrder = map[string]int{"TITLE": 1, "STAGE_ID": 2, "STATUS_ID": 2, "OPPORTUNITY": 3, "CURRENCY_ID": 4,
	"CONTACT_ID": 5, "NAME": 1, "LAST_NAME": 2, "SECOND_NAME": 3, "EMAIL": 4, "PHONE": 5}

func sortFields(fs []FieldChange) {
	sort.SliceStable(fs, func(i, j int) bool {
		oi, oj := fieldOrder[fs[i].Field], fieldOrder[fs[j].Field]
		if oi == 0 {
			oi = 100
		}
		if oj == 0 {
			oj = 100
		}
		if oi != oj {
			return oi < oj
		}
		return fs[i].Field < fs[j].Field
	})
}

// sameValue is the field differ's equality: amounts compare as numbers,
// everything else as trimmed text.
func sameValue(field, a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	if field == "COMMENTS" && normText(a) == normText(b) {
		return true // the portal may store line breaks as <br>
	}
	if field == bitrix.FieldBeginDate || field == bitrix.FieldCloseDate {
		// The portal answers a day as a datetime (bitrix.ParseDate).
		da, ea := bitrix.ParseDate(a)
		db, eb := bitrix.ParseDate(b)
		return ea == nil && eb == nil && da.Equal(db)
	}
	if field == "OPPORTUNITY" || field == "TAX_VALUE" {
		da, ea := decimal.NewFromString(a)
		db, eb := decimal.NewFromString(b)
		return ea == nil && eb == nil && da.Equal(db)
	}
	return false
}

var brReplacer = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "<BR>", "\n", "\r\n", "\n")

// normText compares free text by its words, ignoring how lines break.
func normText(s string) string { return strings.Join(strings.Fields(brReplacer.Replace(s)), " ") }

// diffFields compares a desired state with a remote row: only fields with a
// non-empty desired value that differs are changes (an empty source value
// never wipes a filled field).
func diffFields(desired map[string]string, remote func(string) (string, bool)) []FieldChange {
	var out []FieldChange
	for k, v := range desired {
		if v == "" {
			continue
		}
		old, has := remote(k)
		if has && sameValue(k, old, v) {
			continue
		}
		fc := FieldChange{Field: k, New: v}
		if has {
			o := old
			fc.Old = &o
		} else {
			empty := ""
			fc.Old = &empty
		}
		out = append(out, fc)
	}
	sortFields(out)
	return out
}

// createFields lists a new entity's fields for the report.
func createFields(desired map[string]string) []FieldChange {
	out := make([]FieldChange, 0, len(desired))
	for k, v := range desired {
		if v == "" {
			continue
		}
		out = append(out, FieldChange{Field: k, New: v})
	}
	sortFields(out)
	return out
}

// line is the report's text of rows: "rows: 3 lines, 12 400.00 RUB", and
// when the rows the deal held are known, what changed: rows added (+),
// removed (-) and changed (~), matched by name.
func (r *RowsChange) line() string {
	if r == nil {
		return ""
	}
	out := "rows: " + rowsSummary(r.Lines, r.Total, r.Currency)
	if r.Old == nil {
		return out
	}
	oldTotal := decimal.Zero
	for _, o := range r.Old {
		oldTotal = oldTotal.Add(dec(o.Price).Mul(dec(o.Quantity)))
	}
	out += " (was " + rowsSummary(len(r.Old), oldTotal.StringFixed(2), r.Currency) + ")"
	used := make([]bool, len(r.Old))
	var diff []string
	for _, n := range r.Rows {
		j := -1
		for i, o := range r.Old {
			if !used[i] && o.Name == n.Name {
				j = i
				break
			}
		}
		if j < 0 {
			diff = append(diff, "+ "+rowText(n))
			continue
		}
		used[j] = true
		if o := r.Old[j]; !dec(o.Price).Equal(dec(n.Price)) || !dec(o.Quantity).Equal(dec(n.Quantity)) {
			diff = append(diff, "~ "+rowText(o)+" → "+rowAmount(n))
		} else if d := rowFieldsDiff(o, n); d != "" {
			diff = append(diff, "~ "+strconv.Quote(oneLine(n.Name))+" "+d)
		}
	}
	for i, o := range r.Old {
		if !used[i] {
			diff = append(diff, "- "+rowText(o))
		}
	}
	if len(diff) > 0 {
		out += ": " + strings.Join(diff, "; ")
	}
	return out
}

// rowFieldsDiff names what else differs between two rows of one name and
// amount ("tax none → 20"), so a rows change is never shown without its
// difference. A measure the new row leaves to the portal is no difference.
func rowFieldsDiff(o, n RowReport) string {
	var out []string
	add := func(name, old, new string) {
		if old != new {
			out = append(out, name+" "+old+" → "+new)
		}
	}
	add("product", strconv.FormatInt(o.ProductID, 10), strconv.FormatInt(n.ProductID, 10))
	add("discount", dec(o.DiscountSum).String(), dec(n.DiscountSum).String())
	tax := func(r RowReport) string {
		if r.TaxRate == nil {
			return "none"
		}
		return dec(*r.TaxRate).String()
	}
	add("tax", tax(o), tax(n))
	add("tax included", strconv.FormatBool(o.TaxIncluded), strconv.FormatBool(n.TaxIncluded))
	if n.MeasureCode != 0 {
		add("measure code", strconv.Itoa(o.MeasureCode), strconv.Itoa(n.MeasureCode))
	}
	if n.MeasureName != "" {
		add("measure", strconv.Quote(o.MeasureName), strconv.Quote(n.MeasureName))
	}
	return strings.Join(out, ", ")
}

func rowsSummary(lines int, total, currency string) string {
	word := "lines"
	if lines == 1 {
		word = "line"
	}
	s := fmt.Sprintf("%d %s, %s", lines, word, spaceThousands(total))
	if currency != "" {
		s += " " + currency
	}
	return s
}

func rowText(r RowReport) string { return strconv.Quote(oneLine(r.Name)) + " " + rowAmount(r) }

func rowAmount(r RowReport) string {
	return dec(r.Quantity).String() + " × " + spaceThousands(dec(r.Price).StringFixed(2))
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// spaceThousands writes 12400.00 as "12 400.00".
func spaceThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}
