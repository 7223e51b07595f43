package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/internal/counts"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/redact"
	"github.com/crmsync/crmsync/sync/runs"
	"github.com/crmsync/crmsync/sync/status"
)

type statusOptions struct {
	json   bool
	failed bool
}

// The JSON document of `status --json` is built by sync/status, which the
// status page of serve shares; the aliases keep the names this package's
// tests use.
type (
	statusReport           = status.Report
	statusDuplicate        = status.Duplicate
	statusCompanyDuplicate = status.CompanyDuplicate
	statusLinks            = status.Links
)

// backlogCounter is the counter a pull run leaves with RetailCRM's estimate
// of the history records still to read.
const backlogCounter = status.BacklogCounter

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

--json prints a stable document for monitoring: fields are only ever added.
It always holds every failure (.failures.items); --failed narrows the text
form to the failures and leaves the JSON document as it is.`,
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
	cmd.Flags().BoolVar(&opts.failed, "failed", false, "list only the failures, every one with its reason, attempts and next attempt (text form; --json always has them all)")
	return cmd
}

func (a *app) buildStatus(ctx context.Context, opts *statusOptions) (*statusReport, error) {
	var cfg *status.Config
	if a.cfg != nil {
		cfg = &status.Config{File: a.cfg.File, RetailCRMURL: a.cfg.RetailCRM.URL,
			BitrixWebhookURL: webhook(a.cfg).String(), Entity: a.cfg.Bitrix.Entity}
	} else if a.cfgErr != nil {
		cfg = &status.Config{Error: a.cfgErr.Error()}
		a.log.Warn("configuration has problems; showing the database only", "err", a.cfgErr)
	}
	rep := status.NoDatabase()
	st, ok, err := a.openStoreReadOnly(ctx)
	if err != nil || !ok {
		rep.Database, rep.Config = a.dbPath(), cfg
		return rep, err
	}
	defer st.Close()
	if rep, err = status.Collect(ctx, st); err != nil {
		return nil, err
	}
	rep.Database, rep.Config = a.dbPath(), cfg
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
		fmt.Fprintf(tw, "  %s\t%s\tstarted %s\t%s\t%s\n", r.Command, r.Result, r.StartedAt.UTC().Format(textTime), took, counts.Line(r.Counters))
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
	writeDuplicates(w, "Duplicates", "entities", "duplicates", rep.Duplicates, func(d statusDuplicate) string {
		return duplicateLine(d.Entity, d.OriginID, d.KeptID, d.Others)
	}, 10)
	writeDuplicates(w, "Duplicate companies", "companies", "company_duplicates", rep.CompanyDuplicates, func(d statusCompanyDuplicate) string {
		return companyDuplicateLine(d.OriginID, d.KeptID, d.Others)
	}, 10)
	fmt.Fprintln(w)
	writeFailures(w, rep.Failures, 10)
}

// writeDuplicates lists groups of Bitrix24 entities sharing one ORIGIN_ID
// (what: which entities, "Duplicate companies" carried by "companies"), at
// most limit groups; the rest are in status --json's field.
func writeDuplicates[D any](w io.Writer, title, what, field string, dups []D, line func(D) string, limit int) {
	if len(dups) == 0 {
		return
	}
	fmt.Fprintf(w, "%s in Bitrix24: %d ORIGIN_ID(s) carried by several %s; crmsync uses the oldest, merge or delete the others\n", title, len(dups), what)
	for i, d := range dups {
		if i == limit {
			fmt.Fprintf(w, "  ... %d more: crmsync status --json | jq .%s\n", len(dups)-limit, field)
			break
		}
		fmt.Fprintf(w, "  %s\n", line(d))
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
	return fmt.Sprintf("%s of %s %d: uses %d; %d other(s): %s", entity, owner, origin, kept, len(others), idList(others))
}

// writeFailures lists failures, at most limit of them (0: all).
func writeFailures(w io.Writer, f status.Failures, limit int) {
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
