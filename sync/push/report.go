package push

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/sync/runs"
)

// ReportVersion is the version of the JSON report (one for every
// command's report, runs.ReportVersion).
const ReportVersion = runs.ReportVersion

// Operations of a Change.
const (
	OpStatus  = "status"
	OpComment = "comment"
)

// Report is what a push run did (or, dry, would do).
type Report struct {
	runs.Envelope
	Changes   []Change      `json:"changes"`
	Conflicts []Conflict    `json:"conflicts"`
	Unmapped  []Unmapped    `json:"unmapped_stages"`
	Parked    []ParkedItem  `json:"parked"`
	Summary   Summary       `json:"summary"`
	Cursor    CursorSummary `json:"cursor"`
}

// Change is one write to a RetailCRM order.
type Change struct {
	Op          string `json:"op"` // status, comment
	OrderID     int64  `json:"order_id"`
	OrderNumber string `json:"order_number,omitempty"`
	Site        string `json:"site,omitempty"`
	DealID      int64  `json:"deal_id"`
	Stage       string `json:"stage,omitempty"`      // status: the deal's stage
	OldStatus   string `json:"old_status,omitempty"` // status: before
	NewStatus   string `json:"new_status,omitempty"` // status: after
	Text        string `json:"text,omitempty"`       // comment: the lines appended
	Comments    int    `json:"comments,omitempty"`   // comment: how many timeline comments
}

// Conflict is a decision between an order's status and its deal's stage
// that both changed since the last sync; the later change won.
type Conflict struct {
	OrderID     int64  `json:"order_id"`
	DealID      int64  `json:"deal_id"`
	Status      string `json:"status"`       // the order's status
	StatusTime  string `json:"status_time"`  // RetailCRM statusUpdatedAt, account zone
	Stage       string `json:"stage"`        // the deal's stage
	StageTime   string `json:"stage_time"`   // Bitrix24 stage-history time, portal zone
	Winner      string `json:"winner"`       // bitrix (stage pushed) or retailcrm (status kept)
	PushedValue string `json:"pushed_value"` // the status written when bitrix won
}

// Unmapped is a stage with no RetailCRM status, seen on some deals.
type Unmapped struct {
	Stage string `json:"stage"`
	Deals int    `json:"deals"`
}

// ParkedItem is an item set aside with RetailCRM's answer.
type ParkedItem struct {
	Kind    string `json:"kind"` // stage, comment
	OrderID int64  `json:"order_id"`
	DealID  int64  `json:"deal_id,omitempty"`
	Reason  string `json:"reason"`
}

// CursorSummary is where the stage-history cursor stood before and after.
type CursorSummary = runs.Cursor

// Summary counts a run's work. Failed counts the items that failed and
// wait for a retry (later runs try them again on their own), Parked those
// out of attempts, which need crmsync retry or skip. The text line says
// "parked" for both, as every command and status do (docs/operations.md);
// the JSON fields keep their meaning. WaitingForRetry and OutOfAttempts
// say the same as Failed and Parked in the words pull's summary uses.
type Summary struct {
	StageRows         int    `json:"stage_rows"`
	DealsMoved        int    `json:"deals_moved"`
	EchoesDropped     int    `json:"echoes_dropped"`
	Superseded        int    `json:"superseded"` // moves older than crmsync's last stage write on the deal
	UnmappedStages    int    `json:"unmapped_stages"`
	StatusesPushed    int    `json:"statuses_pushed"`
	StatusesUnchanged int    `json:"statuses_unchanged"`
	Conflicts         int    `json:"conflicts"`
	ConflictsLost     int    `json:"conflicts_lost"`
	DealsScanned      int    `json:"deals_scanned"`
	DealsSwept        int    `json:"deals_swept"` // open deals read by the sweep, without activity seen
	CommentsPushed    int    `json:"comments_pushed"`
	CommentsOwn       int    `json:"comments_own"`
	CommentsPresent   int    `json:"comments_present"`
	Retried           int    `json:"retried"`
	Failed            int    `json:"failed"`
	Parked            int    `json:"parked"`
	WaitingForRetry   int    `json:"waiting_for_retry"`
	OutOfAttempts     int    `json:"out_of_attempts"`
	Alerts            int    `json:"alerts"` // notifications about parked items delivered
	RetailCRMRequests int    `json:"retailcrm_requests"`
	BitrixRequests    int    `json:"bitrix_requests"`
	Stopped           string `json:"stopped,omitempty"` // why the run stopped early: max-items, max-duration, stop (serve stopping)
	// CommentsComplete: every deal with activity was scanned for comments.
	CommentsComplete bool `json:"comments_complete"`
}

// counterComplete is the run counter of Summary.CommentsComplete (the
// next run reads the state from the store's run state, not from it).
const counterComplete = "comments_complete"

// Pending reports whether the report holds writes.
func (r *Report) Pending() bool { return len(r.Changes) > 0 }

// Counters returns the summary as run counters for the store; each
// unmapped stage also gets a counter "unmapped_stage:<stage>" (deals).
func (r *Report) Counters() map[string]int64 {
	s := r.Summary
	c := map[string]int64{
		"stage_rows": int64(s.StageRows), "deals_moved": int64(s.DealsMoved), "echoes_dropped": int64(s.EchoesDropped), "superseded": int64(s.Superseded),
		"unmapped_stages": int64(s.UnmappedStages), "statuses_pushed": int64(s.StatusesPushed),
		"statuses_unchanged": int64(s.StatusesUnchanged), "conflicts": int64(s.Conflicts),
		"conflicts_lost": int64(s.ConflictsLost), "deals_scanned": int64(s.DealsScanned), "deals_swept": int64(s.DealsSwept),
		"comments_pushed": int64(s.CommentsPushed), "comments_own": int64(s.CommentsOwn),
		"comments_present": int64(s.CommentsPresent), "retried": int64(s.Retried), "failed": int64(s.Failed),
		"parked": int64(s.Parked), "retailcrm_requests": int64(s.RetailCRMRequests), "bitrix_requests": int64(s.BitrixRequests),
	}
	if s.CommentsComplete {
		c[counterComplete] = 1
	}
	for _, u := range r.Unmapped {
		c["unmapped_stage:"+u.Stage] = int64(u.Deals)
	}
	return c
}

// Line is the one-line summary of a run.
func (s Summary) Line() string {
	return runs.SummaryLine(fmt.Sprintf("stage moves %d (echoes %d, unmapped %d); statuses pushed %d, unchanged %d; conflicts %d (order kept %d); comments pushed %d from %d deals; %s; requests: retailcrm %d, bitrix %d",
		s.DealsMoved, s.EchoesDropped, s.UnmappedStages, s.StatusesPushed, s.StatusesUnchanged, s.Conflicts, s.ConflictsLost,
		s.CommentsPushed, s.DealsScanned, runs.FailuresPhrase(s.Parked+s.Failed, s.Failed), s.RetailCRMRequests, s.BitrixRequests), s.Stopped)
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	return runs.WriteDocument(w, *r, func(out *Report) {
		out.Changes, out.Conflicts = runs.List(out.Changes), runs.List(out.Conflicts)
		out.Unmapped, out.Parked = runs.List(out.Unmapped), runs.List(out.Parked)
	})
}

// WriteText writes the report one line per change:
//
//	~ status   order 1042 (#1042, site shop)  deal 877  status: new → complete (stage WON)
//	+ comment  order 1042 (#1042, site shop)  deal 877  "[2026-01-02 15:04 user 7] Called, all fine"
//	* conflict order 1017                     status cancel (RetailCRM ...) is newer than stage WON (Bitrix24 ...): status kept
//	? stage    LOSE                           no RetailCRM status mapped (2 deals); set mapping.stages
//	! stage    order 1017                     parked: order 1017 (deal 870): retailcrm: ... Status "x" does not exist.
//	= 3 stage moves unchanged, 1 echo dropped, 0 conflicts
func (r *Report) WriteText(w io.Writer) error {
	t := runs.Text{KindWidth: 8, SubjectWidth: 30}
	runs.Lines(&t, r.Changes, Change.line)
	runs.Lines(&t, r.Conflicts, Conflict.line)
	unmapped := slices.Clone(r.Unmapped)
	slices.SortFunc(unmapped, func(a, b Unmapped) int { return strings.Compare(a.Stage, b.Stage) })
	runs.Lines(&t, unmapped, Unmapped.line)
	runs.ParkedLines(&t, r.Parked, ParkedItem.parked)
	s := r.Summary
	t.Linef("= %s unchanged, %s dropped, %s", plural(s.StatusesUnchanged, "stage move"), plural(s.EchoesDropped, "echo"), plural(s.Conflicts, "conflict"))
	return t.Emit(w)
}

func (c Change) subject() string {
	var meta []string
	if c.OrderNumber != "" {
		meta = append(meta, "#"+c.OrderNumber)
	}
	if c.Site != "" {
		meta = append(meta, "site "+c.Site)
	}
	s := fmt.Sprintf("order %d", c.OrderID)
	if len(meta) > 0 {
		s += " (" + strings.Join(meta, ", ") + ")"
	}
	return s
}

func (c Change) line() string {
	switch c.Op {
	case OpStatus:
		old := c.OldStatus
		if old == "" {
			old = "(none)"
		}
		return fmt.Sprintf("~ %-8s %-30s deal %d  status: %s → %s (stage %s)", OpStatus, c.subject(), c.DealID, old, c.NewStatus, c.Stage)
	default:
		return fmt.Sprintf("+ %-8s %-30s deal %d  %q", OpComment, c.subject(), c.DealID, oneLine(c.Text))
	}
}

func (c Conflict) line() string {
	return fmt.Sprintf("* %-8s %-30s %s", "conflict", fmt.Sprintf("order %d", c.OrderID), c.describe())
}

func (c Conflict) describe() string {
	if c.Winner == winnerBitrix {
		return fmt.Sprintf("stage %s (Bitrix24 %s) is newer than status %s (RetailCRM %s): status set to %s",
			c.Stage, c.StageTime, c.Status, c.StatusTime, c.PushedValue)
	}
	return fmt.Sprintf("status %s (RetailCRM %s) is newer than stage %s (Bitrix24 %s): status kept",
		c.Status, c.StatusTime, c.Stage, c.StageTime)
}

func (u Unmapped) line() string {
	return fmt.Sprintf("? %-8s %-30s no RetailCRM status mapped (%s); set mapping.stages", "stage", u.Stage, plural(u.Deals, "deal"))
}

func (p ParkedItem) parked() (kind, subject, reason string) {
	return p.Kind, fmt.Sprintf("order %d", p.OrderID), oneLine(p.Reason)
}

// Winners of a conflict.
const (
	winnerBitrix    = "bitrix"
	winnerRetailCRM = "retailcrm"
)

// oneLine folds a text onto one line for the text report.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ⏎ ")), " ")
	if r := []rune(s); len(r) > 160 {
		s = string(r[:157]) + "..."
	}
	return s
}

// plural renders "1 deal", "2 deals", "0 echoes".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	if strings.HasSuffix(noun, "o") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
