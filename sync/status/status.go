// Package status gathers what `crmsync status` and the status page of
// `crmsync serve` show: cursors, the last run of each command, links,
// failures, the backlog and duplicates (Collect), and the Bitrix24 requests
// of the last hour (Requests). It reads only; printing is the caller's.
package status

import (
	"context"
	"sort"
	"time"

	"github.com/crmsync/crmsync/store"
)

// Report is the JSON document of `status --json`. Field names are a
// contract: add fields, never rename them.
type Report struct {
	Database      string   `json:"database"`
	Exists        bool     `json:"exists"`
	SchemaVersion int      `json:"schema_version"`
	Config        *Config  `json:"config,omitempty"`
	Cursors       []Cursor `json:"cursors"`
	// CommentCursors counts the per-deal timeline cursors of push, which
	// are too many to list.
	CommentCursors int   `json:"comment_cursors"`
	Runs           []Run `json:"runs"`
	// LastRuns is Runs keyed by command, for scripts that ask for one.
	LastRuns map[string]Run  `json:"last_runs"`
	Links    Links           `json:"links"`
	Failures Failures        `json:"failures"`
	Backlog  map[string]*int `json:"backlog"`
	// Duplicates are Bitrix24 deals, leads and contacts that share one
	// ORIGIN_ID, as the last lookups saw them: crmsync uses the oldest.
	Duplicates []Duplicate `json:"duplicates"`
	// CompanyDuplicates are Bitrix24 companies that share one ORIGIN_ID
	// (text: a corporate customer id or "inn:<INN>[:<KPP>]").
	CompanyDuplicates []CompanyDuplicate `json:"company_duplicates"`
}

// CompanyDuplicate is one company ORIGIN_ID carried by several companies.
type CompanyDuplicate struct {
	OriginID string    `json:"origin_id"` // the company's ORIGIN_ID
	KeptID   int64     `json:"kept_id"`   // the one crmsync uses (the oldest)
	Others   []int64   `json:"others"`
	SeenAt   time.Time `json:"seen_at"`
}

// Duplicate is one ORIGIN_ID carried by several Bitrix24 entities.
type Duplicate struct {
	Entity   string    `json:"entity"`    // deal, lead or contact
	OriginID int64     `json:"origin_id"` // RetailCRM order id (deal, lead) or customer id (contact)
	KeptID   int64     `json:"kept_id"`   // the one crmsync uses (the oldest)
	Others   []int64   `json:"others"`
	SeenAt   time.Time `json:"seen_at"`
}

// Config is what the report tells of the configuration: where it came
// from and the two services, the webhook redacted by the caller.
type Config struct {
	File             string `json:"file"`
	RetailCRMURL     string `json:"retailcrm_url"`
	BitrixWebhookURL string `json:"bitrix_webhook_url"`
	Entity           string `json:"entity"`
	Error            string `json:"error,omitempty"`
}

// Cursor is one stream's position.
type Cursor struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Run is the last run of one command.
type Run struct {
	ID        int64            `json:"id"`
	Command   string           `json:"command"`
	StartedAt time.Time        `json:"started_at"`
	EndedAt   *time.Time       `json:"ended_at"`
	Result    string           `json:"result"`
	Counters  map[string]int64 `json:"counters"`
	PID       int              `json:"pid"`
	Message   string           `json:"message,omitempty"`
}

// Links counts what the store links.
type Links struct {
	Orders    int64 `json:"orders"`
	Deals     int64 `json:"deals"`
	Leads     int64 `json:"leads"`
	Customers int64 `json:"customers"`
}

// Failures are the items waiting for a retry (Pending) or out of attempts
// (Parked).
type Failures struct {
	Parked  int       `json:"parked"`
	Pending int       `json:"pending"`
	Items   []Failure `json:"items"`
}

// Failure is one failed item.
type Failure struct {
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

// BacklogCounter is the counter a pull run leaves with RetailCRM's
// estimate of the history records still to read.
const BacklogCounter = "backlog"

// NoDatabase returns the report for a database not created yet: every
// list empty (never null in JSON), Exists false.
func NoDatabase() *Report {
	return &Report{
		Cursors:    []Cursor{},
		Runs:       []Run{},
		LastRuns:   map[string]Run{},
		Backlog:    map[string]*int{store.CursorOrdersHistory: nil},
		Failures:   Failures{Items: []Failure{}},
		Duplicates: []Duplicate{},

		CompanyDuplicates: []CompanyDuplicate{},
	}
}

// Collect reads the report from st. Database and Config are left for the
// caller, who knows where the database and the configuration came from.
func Collect(ctx context.Context, st *store.Store) (*Report, error) {
	rep := NoDatabase()
	rep.Exists = true
	var err error
	if rep.SchemaVersion, err = st.SchemaVersion(ctx); err != nil {
		return nil, err
	}

	cursors, err := st.Cursors(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cursors {
		rep.Cursors = append(rep.Cursors, Cursor{Name: c.Name, Value: c.Value, UpdatedAt: c.UpdatedAt})
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
		sr := Run{ID: r.ID, Command: r.Command, StartedAt: r.StartedAt, Result: string(r.Result),
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
	rep.Links = Links{Orders: counts.Orders, Deals: counts.Deals, Leads: counts.Leads, Customers: counts.Customers}

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
		sf := Failure{ID: f.ID, Kind: f.Kind, Key: f.Key, Attempts: f.Attempts, LastError: f.LastError, Reason: f.LastError,
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
		rep.Duplicates = append(rep.Duplicates, Duplicate{Entity: string(d.EntityType), OriginID: d.OriginID,
			KeptID: d.KeptID, Others: d.Others, SeenAt: d.SeenAt})
	}
	cdups, err := st.CompanyDuplicates(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range cdups {
		rep.CompanyDuplicates = append(rep.CompanyDuplicates, CompanyDuplicate{OriginID: d.OriginID, KeptID: d.KeptID,
			Others: d.Others, SeenAt: d.SeenAt})
	}
	return rep, nil
}
