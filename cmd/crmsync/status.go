package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/redact"
	"github.com/crmsync/crmsync/sync/runs"
)

type statusOptions struct {
	json   bool
	failed bool
}

// The JSON document of `status --json`. Field names are a contract: add
// fields, never rename them.
type statusReport struct {
	Database      string         `json:"database"`
	Exists        bool           `json:"exists"`
	SchemaVersion int            `json:"schema_version"`
	Config        *statusConfig  `json:"config,omitempty"`
	Cursors       []statusCursor `json:"cursors"`
	// CommentCursors counts the per-deal timeline cursors of push, which
	// are too many to list.
	CommentCursors int         `json:"comment_cursors"`
	Runs           []statusRun `json:"runs"`
	// LastRuns is Runs keyed by command, for scripts that ask for one.
	LastRuns map[string]statusRun `json:"last_runs"`
	Links    statusLinks          `json:"links"`
	Failures statusFailures       `json:"failures"`
	Backlog  map[string]*int      `json:"backlog"`
	// Duplicates are Bitrix24 deals, leads and contacts that share one
	// ORIGIN_ID, as the last lookups saw them: crmsync uses the oldest.
	Duplicates []statusDuplicate `json:"duplicates"`
	// CompanyDuplicates are Bitrix24 companies that share one ORIGIN_ID
	// (text: a corporate customer id or "inn:<INN>[:<KPP>]").
	CompanyDuplicates []statusCompanyDuplicate `json:"company_duplicates"`
}

type statusCompanyDuplicate struct {
	OriginID string    `json:"origin_id"` // the company's ORIGIN_ID
	KeptID   int64     `json:"kept_id"`   // the one crmsync uses (the oldest)
	Others   []int64   `json:"others"`
	SeenAt   time.Time `json:"seen_at"`
}

type statusDuplicate struct {
	Entity   string    `json:"entity"`    // deal, lead or contact
	OriginID int64     `json:"origin_id"` // RetailCRM order id (deal, lead) or customer id (contact)
	KeptID   int64     `json:"kept_id"`   // the one crmsync uses (the oldest)
	Others   []int64   `json:"others"`
	SeenAt   time.Time `json:"seen_at"`
}

type statusConfig struct {
	File             string `json:"file"`
	RetailCRMURL     string `json:"retailcrm_url"`
	BitrixWebhookURL string `json:"bitrix_webhook_url"`
	Entity           string `json:"entity"`
	Error            string `json:"error,omitempty"`
}

type statusCursor struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

type statusRun struct {
	ID        int64            `json:"id"`
	Command   string           `json:"command"`
	StartedAt time.Time        `json:"started_at"`
	EndedAt   *time.Time       `json:"ended_at"`
	Result    string           `json:"result"`
	Counters  map[string]int64 `json:"counters"`
	PID       int              `json:"pid"`
	Message   string           `json:"message,omitempty"`
}

type statusLinks struct {
	Orders    int64 `json:"orders"`
	Deals     int64 `json:"deals"`
	Leads     int64 `json:"leads"`
	Customers int64 `json:"customers"`
}

type statusFailures struct {
	Parked  int             `json:"parked"`
	Pending int             `json:"pending"`
	Items   []statusFailure `json:"items"`
}

type statusFailure struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	Key           string     `json:"key"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	Reason        string     `json:"reason"` // the same as last_error, in the word the docs use
	FirstFailedAt time.Time  `json:"first_failed_at"`
	LastFailedAt  time.Time  `json:"last_failed_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Parked        bool       `json:"parked"`
}

// backlogCounter is the counter a pull run leaves with RetailCRM's estimate
// of the history records still to read.
const backlogCounter = "backlog"

func (a *app) statusCmd() *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show cursors, last runs, links and parked failures",
		Long: `status reads the database and shows where each stream stands (cursors), the
last run of each command with its result and counters, how many orders and
customers are linked, the parked failures (waiting for a retry or out of attempts) with their
reasons, and the backlog RetailCRM reported at the last pull. It changes
nothing and needs no lock, so it can run while a sync is running.

--json prints a stable document for monitoring: fields are only ever added.`,
		Example: `  crmsync status
  crmsync status --failed
  crmsync status --json | jq .failures.parked`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := a.buildStatus(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if opts.json {
				return writeJSON(a.out, a.redactor, rep)
			}
			var b strings.Builder
			writeStatusText(&b, rep, opts.failed)
			_, err = io.WriteString(a.out, a.redactor.String(b.String()))
			return err
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print a JSON document (stable field names)")
	cmd.Flags().BoolVar(&opts.failed, "failed", false, "list every failure with its reason, attempts and next attempt")
	return cmd
}

func (a *app) buildStatus(ctx context.Context, opts *statusOptions) (*statusReport, error) {
	rep := &statusReport{
		Database: a.dbPath(),
		Cursors:  []statusCursor{},
		Runs:     []statusRun{},
		LastRuns: map[string]statusRun{},
		Backlog:  map[string]*int{store.CursorOrdersHistory: nil},
		Failures: statusFailures{Items: []statusFailure{}},
	}
	rep.Duplicates = []statusDuplicate{}
	rep.CompanyDuplicates = []statusCompanyDuplicate{}
	if a.cfg != nil {
		rep.Config = &statusConfig{File: a.cfg.File, RetailCRMURL: a.cfg.RetailCRM.URL,
			BitrixWebhookURL: webhook(a.cfg).String(), Entity: a.cfg.Bitrix.Entity}
	} else if a.cfgErr != nil {
		rep.Config = &statusConfig{Error: a.cfgErr.Error()}
		a.log.Warn("configuration has problems; showing the database only", "err", a.cfgErr)
	}

	st, ok, err := a.openStoreReadOnly(ctx)
	if err != nil || !ok {
		return rep, err
	}
	defer st.Close()
	rep.Exists = true
	if rep.SchemaVersion, err = st.SchemaVersion(ctx); err != nil {
		return nil, err
	}

	cursors, err := st.Cursors(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cursors {
		rep.Cursors = append(rep.Cursors, statusCursor{Name: c.Name, Value: c.Value, UpdatedAt: c.UpdatedAt})
	}
	n, err := st.CountCommentCursors(ctx)
	if err != nil {
		return nil, err
	}
	rep.CommentCursors = int(n)
	pull, err := st.RunState(ctx, "pull")
	if err != nil {
		return nil, err
	}
	if pull.BacklogKnown {
		v := int(pull.Backlog)
		rep.Backlog[store.CursorOrdersHistory] = &v
	}

	runs, err := st.LastRuns(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Command < runs[j].Command })
	for _, r := range runs {
		sr := statusRun{ID: r.ID, Command: r.Command, StartedAt: r.StartedAt, Result: string(r.Result),
			Counters: r.Counters, PID: r.PID, Message: r.Message}
		if sr.Counters == nil {
			sr.Counters = map[string]int64{}
		}
		if !r.EndedAt.IsZero() {
			end := r.EndedAt
			sr.EndedAt = &end
		}
		rep.Runs = append(rep.Runs, sr)
		rep.LastRuns[sr.Command] = sr
	}

	counts, err := st.CountLinks(ctx)
	if err != nil {
		return nil, err
	}
	rep.Links = statusLinks{Orders: counts.Orders, Deals: counts.Deals, Leads: counts.Leads, Customers: counts.Customers}

	failures, err := st.Failures(ctx, store.FailureFilter{})
	if err != nil {
		return nil, err
	}
	for _, f := range failures {
		if f.Parked {
			rep.Failures.Parked++
		} else {
			rep.Failures.Pending++
		}
		sf := statusFailure{ID: f.ID, Kind: f.Kind, Key: f.Key, Attempts: f.Attempts, LastError: f.LastError, Reason: f.LastError,
			FirstFailedAt: f.FirstFailedAt, LastFailedAt: f.LastFailedAt, Parked: f.Parked}
		if !f.Parked && !f.NextAttemptAt.IsZero() {
			next := f.NextAttemptAt
			sf.NextAttemptAt = &next
		}
		rep.Failures.Items = append(rep.Failures.Items, sf)
	}

	dups, err := st.Duplicates(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range dups {
		rep.Duplicates = append(rep.Duplicates, statusDuplicate{Entity: string(d.EntityType), OriginID: d.OriginID,
			KeptID: d.KeptID, Others: d.Others, SeenAt: d.SeenAt})
	}
	cdups, err := st.CompanyDuplicates(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range cdups {
		rep.CompanyDuplicates = append(rep.CompanyDuplicates, statusCompanyDuplicate{OriginID: d.OriginID, KeptID: d.KeptID,
			Others: d.Others, SeenAt: d.SeenAt})
	}
	return rep, nil
}

// writeJSON prints v as indented JSON, redacted as a whole.
func writeJSON(w io.Writer, r *redact.Redactor, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, r.String(string(data))+"\n")
	return err
}

const textTime = "2006-01-02 15:04:05 MST"

func writeStatusText(w io.Writer, rep *statusReport, failedOnly bool) {
	if failedOnly {
		writeFailures(w, rep.Failures, 0)
		return
	}
	fmt.Fprintf(w, "Database: %s", rep.Database)
	if !rep.Exists {
		fmt.Fprintf(w, " (not created yet: the first pull or backfill creates it)\n")
	} else {
		fmt.Fprintf(w, " (schema %d)\n", rep.SchemaVersion)
	}
	if c := rep.Config; c != nil {
		if c.Error != "" {
			fmt.Fprintf(w, "Config:   has problems; run crmsync check\n")
		} else {
			file := c.File
			if file == "" {
				file = "(none; environment only)"
			}
			fmt.Fprintf(w, "Config:   %s\nRetailCRM: %s\nBitrix24:  %s (%ss)\n", file, orDash(c.RetailCRMURL), orDash(c.BitrixWebhookURL), c.Entity)
		}
	}

	fmt.Fprintln(w, "\nCursors:")
	if len(rep.Cursors) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range rep.Cursors {
		fmt.Fprintf(tw, "  %s\t%s\tupdated %s\n", c.Name, c.Value, c.UpdatedAt.UTC().Format(textTime))
	}
	if rep.CommentCursors > 0 {
		fmt.Fprintf(tw, "  comments\t(per deal)\t%d deals followed\n", rep.CommentCursors)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nLast runs:")
	if len(rep.Runs) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rep.Runs {
		took := "still running or died"
		if r.EndedAt != nil {
			took = "took " + r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\tstarted %s\t%s\t%s\n", r.Command, r.Result, r.StartedAt.UTC().Format(textTime), took, counters(r.Counters))
		if r.Message != "" {
			fmt.Fprintf(tw, "  \t\terror: %s\t\t\n", r.Message)
		}
	}
	tw.Flush()

	l := rep.Links
	fmt.Fprintf(w, "\nLinks: %d orders (%d deals, %d leads), %d customers\n", l.Orders, l.Deals, l.Leads, l.Customers)
	if n := rep.Backlog["orders_history"]; n != nil {
		fmt.Fprintf(w, "Backlog: about %d order history records at the last pull\n", *n)
	} else {
		fmt.Fprintln(w, "Backlog: unknown until the first pull")
	}
	writeDuplicates(w, rep.Duplicates, 10)
	writeCompanyDuplicates(w, rep.CompanyDuplicates, 10)
	fmt.Fprintln(w)
	writeFailures(w, rep.Failures, 10)
}

// writeDuplicates lists Bitrix24 entities sharing one ORIGIN_ID, at most
// limit groups.
func writeDuplicates(w io.Writer, dups []statusDuplicate, limit int) {
	if len(dups) == 0 {
		return
	}
	fmt.Fprintf(w, "Duplicates in Bitrix24: %d ORIGIN_ID(s) carried by several entities; crmsync uses the oldest, merge or delete the others\n", len(dups))
	for i, d := range dups {
		if i == limit {
			fmt.Fprintf(w, "  ... %d more: crmsync status --json | jq .duplicates\n", len(dups)-limit)
			break
		}
		fmt.Fprintf(w, "  %s\n", duplicateLine(d.Entity, d.OriginID, d.KeptID, d.Others))
	}
}

// writeCompanyDuplicates lists Bitrix24 companies sharing one ORIGIN_ID,
// at most limit groups.
func writeCompanyDuplicates(w io.Writer, dups []statusCompanyDuplicate, limit int) {
	if len(dups) == 0 {
		return
	}
	fmt.Fprintf(w, "Duplicate companies in Bitrix24: %d ORIGIN_ID(s) carried by several companies; crmsync uses the oldest, merge or delete the others\n", len(dups))
	for i, d := range dups {
		if i == limit {
			fmt.Fprintf(w, "  ... %d more: crmsync status --json | jq .company_duplicates\n", len(dups)-limit)
			break
		}
		fmt.Fprintf(w, "  %s\n", companyDuplicateLine(d.OriginID, d.KeptID, d.Others))
	}
}

// companyDuplicateLine describes one group of companies: "company of
// corporate customer 4211: uses 30; 2 other(s): 31, 34" (or "company of
// inn:7707083893:773601001: ..." for an order's legal buyer).
func companyDuplicateLine(origin string, kept int64, others []int64) string {
	owner := origin
	if !strings.HasPrefix(origin, "inn:") {
		owner = "corporate customer " + origin
	}
	return fmt.Sprintf("company of %s: uses %d; %d other(s): %s", owner, kept, len(others), idList(others))
}

// idList joins up to five ids, "…" standing for the rest.
func idList(ids []int64) string {
	out := make([]string, 0, 6)
	for i, id := range ids {
		if i == 5 {
			out = append(out, "…")
			break
		}
		out = append(out, fmt.Sprint(id))
	}
	return strings.Join(out, ", ")
}

// duplicateLine describes one group: "deal of order 1042: uses 7; 2 others: 8, 9".
func duplicateLine(entity string, origin, kept int64, others []int64) string {
	owner := "order"
	if entity == string(store.EntityContact) {
		owner = "customer"
	}
	ids := make([]string, 0, 5)
	for i, id := range others {
		if i == 5 {
			ids = append(ids, "…")
			break
		}
		ids = append(ids, fmt.Sprint(id))
	}
	return fmt.Sprintf("%s of %s %d: uses %d; %d other(s): %s", entity, owner, origin, kept, len(others), strings.Join(ids, ", "))
}

// writeFailures lists failures, at most limit of them (0: all).
func writeFailures(w io.Writer, f statusFailures, limit int) {
	fmt.Fprintf(w, "Failures: %s\n", runs.FailuresPhrase(f.Parked+f.Pending, f.Pending))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, it := range f.Items {
		if limit > 0 && i == limit {
			fmt.Fprintf(tw, "  ... %d more: crmsync status --failed\n", len(f.Items)-limit)
			break
		}
		next := "parked: crmsync retry " + fmt.Sprint(it.ID) + " or skip " + fmt.Sprint(it.ID)
		if !it.Parked && it.NextAttemptAt != nil {
			next = "next attempt " + it.NextAttemptAt.UTC().Format(textTime)
		}
		fmt.Fprintf(tw, "  #%d\t%s %s\tattempts %d\t%s\t%s\n", it.ID, it.Kind, it.Key, it.Attempts, next, it.LastError)
	}
	tw.Flush()
}

func counters(c map[string]int64) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c[k])
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
