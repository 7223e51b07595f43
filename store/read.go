package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader holds the read methods, promoted to both Store and Tx so a
// transaction reads its own writes.
type reader struct {
	q      queryer
	redact func(string) string // nil: texts are kept as they are
	now    func() time.Time
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(...any) error }

// wrapf names the failed operation in err, formatted as by fmt.Errorf; nil
// stays nil.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// found reports whether a single-row lookup found its row: no row is not an
// error, any other error is named by format and args (see wrapf).
func found(err error, format string, args ...any) (bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrapf(err, format, args...)
}

// queryOne scans the row of a single-row lookup; ok is false, and v the
// zero value, when there is no row or on error (see found).
func queryOne[T any](row *sql.Row, scan func(scanner) (T, error), format string, args ...any) (v T, ok bool, err error) {
	v, err = scan(row)
	if ok, err = found(err, format, args...); !ok {
		var zero T
		return zero, false, err
	}
	return v, true, nil
}

// queryEach runs a query and hands each row to fn until one fails, the rows
// closed after. An error is named what ("": left as it is).
func queryEach(ctx context.Context, q queryer, what, query string, args []any, fn func(scanner) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err == nil {
		defer rows.Close()
		for err == nil && rows.Next() {
			err = fn(rows)
		}
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil && what != "" {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// queryRows runs a query and hands each row, as scan reads it, to each (see
// queryEach).
func queryRows[T any](ctx context.Context, q queryer, what, query string, args []any, scan func(scanner) (T, error), each func(T)) error {
	return queryEach(ctx, q, what, query, args, func(sc scanner) error {
		v, err := scan(sc)
		if err == nil {
			each(v)
		}
		return err
	})
}

// queryAll runs a query and returns every row as scan reads it; nil on
// error (see queryEach).
func queryAll[T any](ctx context.Context, q queryer, what, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	var out []T
	if err := queryRows(ctx, q, what, query, args, scan, func(v T) { out = append(out, v) }); err != nil {
		return nil, err
	}
	return out, nil
}

// exists reports whether a lookup of SELECT 1 found a row (see found).
func exists(row *sql.Row, format string, args ...any) (bool, error) {
	var one int
	return found(row.Scan(&one), format, args...)
}

func scanInt64(sc scanner) (n int64, err error) {
	err = sc.Scan(&n)
	return n, err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ms is the stored form of a time: unix milliseconds, UTC by definition.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// orNow returns t, or the store's clock when t is zero.
func (r *reader) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return r.now()
	}
	return t
}

// mask is applied to every free text before it is stored.
func (r *reader) mask(s string) string {
	if r.redact == nil {
		return s
	}
	return r.redact(s)
}

// idsJSON passes a whole id list as one parameter, expanded by json_each,
// so no query hits SQLite's variable limit and no chunking is needed.
func idsJSON(ids []int64) string {
	b, _ := json.Marshal(ids) // []int64 always marshals
	return string(b)
}

// Cursor returns the named cursor's value; ok is false when it was never set.
func (r *reader) Cursor(ctx context.Context, name string) (value string, ok bool, err error) {
	return queryOne(r.q.QueryRowContext(ctx, `SELECT value FROM cursors WHERE name = ?`, name), func(sc scanner) (v string, err error) {
		err = sc.Scan(&v)
		return v, err
	}, "read cursor %q", name)
}

// CursorInt returns a numeric cursor; ok is false when it was never set. A
// value that is not an integer is an error.
func (r *reader) CursorInt(ctx context.Context, name string) (value int64, ok bool, err error) {
	s, ok, err := r.Cursor(ctx, name)
	if err != nil || !ok {
		return 0, ok, err
	}
	value, err = strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("cursor %q: %w", name, err)
	}
	return value, true, nil
}

// Cursors returns every cursor, by name.
func (r *reader) Cursors(ctx context.Context) ([]Cursor, error) {
	return queryAll(ctx, r.q, "read cursors", `SELECT name, value, updated_at FROM cursors ORDER BY name`, nil, func(sc scanner) (c Cursor, err error) {
		var at int64
		err = sc.Scan(&c.Name, &c.Value, &at)
		c.UpdatedAt = fromMS(at)
		return c, err
	})
}

const orderLinkCols = `order_id, site, number, entity_type, entity_id, contact_id, customer_id, content_hash, synced_at, status_group, rows_hash`

func scanOrderLink(sc scanner) (OrderLink, error) {
	var l OrderLink
	var et string
	var at int64
	err := sc.Scan(&l.OrderID, &l.Site, &l.Number, &et, &l.EntityID, &l.ContactID, &l.CustomerID, &l.ContentHash, &at, &l.StatusGroup, &l.RowsHash)
	l.EntityType = EntityType(et)
	l.SyncedAt = fromMS(at)
	return l, err
}

// OrderLink returns the link of one order; ok is false when there is none.
func (r *reader) OrderLink(ctx context.Context, orderID int64) (link OrderLink, ok bool, err error) {
	return queryOne(r.q.QueryRowContext(ctx, `SELECT `+orderLinkCols+` FROM order_links WHERE order_id = ?`, orderID),
		scanOrderLink, "read order link %d", orderID)
}

// OrderLinks returns the links of the given orders that exist, by order id.
func (r *reader) OrderLinks(ctx context.Context, orderIDs []int64) (map[int64]OrderLink, error) {
	out := make(map[int64]OrderLink, len(orderIDs))
	if len(orderIDs) == 0 {
		return out, nil
	}
	err := r.orderLinks(ctx, `SELECT `+orderLinkCols+` FROM order_links
		WHERE order_id IN (SELECT value FROM json_each(?))`, func(l OrderLink) { out[l.OrderID] = l }, idsJSON(orderIDs))
	return out, err
}

// OrderLinksByEntity returns the links of the given Bitrix24 deals (or
// leads), by entity id; push uses it to map stage moves back to orders.
func (r *reader) OrderLinksByEntity(ctx context.Context, et EntityType, entityIDs []int64) (map[int64]OrderLink, error) {
	out := make(map[int64]OrderLink, len(entityIDs))
	if len(entityIDs) == 0 {
		return out, nil
	}
	err := r.orderLinks(ctx, `SELECT `+orderLinkCols+` FROM order_links
		WHERE entity_type = ? AND entity_id IN (SELECT value FROM json_each(?))
		ORDER BY order_id`, func(l OrderLink) {
		if _, dup := out[l.EntityID]; !dup { // lowest order id wins
			out[l.EntityID] = l
		}
	}, string(entityTypeOrDeal(et)), idsJSON(entityIDs))
	return out, err
}

// SweepEntities returns up to limit distinct linked deals (or leads) with
// an id above after, ascending, leaving out those whose orders are in one
// of the skipped status groups (orders of unknown group are kept).
func (r *reader) SweepEntities(ctx context.Context, et EntityType, after int64, limit int, skipGroups []string) ([]int64, error) {
	if limit <= 0 {
		return nil, nil
	}
	if skipGroups == nil {
		skipGroups = []string{}
	}
	groups, _ := json.Marshal(skipGroups) // []string always marshals
	return queryAll(ctx, r.q, "read order links", `SELECT DISTINCT entity_id FROM order_links
		WHERE entity_type = ? AND entity_id > ? AND status_group NOT IN (SELECT value FROM json_each(?))
		ORDER BY entity_id LIMIT ?`, []any{string(entityTypeOrDeal(et)), after, string(groups), limit}, scanInt64)
}

// CommentSweep returns the last deal (or lead) id push's comment sweep
// read; 0 when it has not started or has wrapped around.
func (r *reader) CommentSweep(ctx context.Context, et EntityType) (int64, error) {
	id, _, err := queryOne(r.q.QueryRowContext(ctx, `SELECT last_entity_id FROM comment_sweeps WHERE entity_type = ?`,
		string(entityTypeOrDeal(et))), scanInt64, "read comment sweep")
	return id, err
}

// CommentCursors returns the last comment id push read on each of the
// given deals (or leads) that has a cursor, by entity id.
func (r *reader) CommentCursors(ctx context.Context, et EntityType, entityIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(entityIDs))
	if len(entityIDs) == 0 {
		return out, nil
	}
	err := queryEach(ctx, r.q, "read comment cursors", `SELECT entity_id, last_comment_id FROM comment_cursors
		WHERE entity_type = ? AND entity_id IN (SELECT value FROM json_each(?))`,
		[]any{string(entityTypeOrDeal(et)), idsJSON(entityIDs)}, func(sc scanner) error {
			var id, last int64
			err := sc.Scan(&id, &last)
			out[id] = last
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UnreadOwnWrites returns up to limit linked deals (or leads) crmsync wrote
// to (ledger rows of side bitrix, of the given entities, keyed by the deal's
// id) at or after since, later than push last read their comments (the
// comment cursor's updated_at) less slack: such a write may hide an earlier
// comment by a person from the deal's last activity. Of a deal push never
// read, the first write (the deal's creation) does not count: nothing
// came before it. The most recent writes come first.
func (r *reader) UnreadOwnWrites(ctx context.Context, et EntityType, entities []string, since time.Time, slack time.Duration, limit int) ([]int64, error) {
	if limit <= 0 {
		return nil, nil
	}
	ents, _ := json.Marshal(entities) // []string always marshals
	et = entityTypeOrDeal(et)
	return queryAll(ctx, r.q, "read unread own writes", `SELECT l.entity_id, max(l.written_at) AS w FROM ledger l
		LEFT JOIN comment_cursors c ON c.entity_type = ? AND c.entity_id = l.entity_id
		WHERE l.side = ? AND l.entity IN (SELECT value FROM json_each(?)) AND l.written_at >= ?
			AND CASE WHEN c.updated_at IS NULL
				THEN l.written_at > (SELECT min(f.written_at) FROM ledger f WHERE f.side = l.side
					AND f.entity IN (SELECT value FROM json_each(?)) AND f.entity_id = l.entity_id)
				ELSE l.written_at > c.updated_at - ? END
			AND EXISTS (SELECT 1 FROM order_links o WHERE o.entity_type = ? AND o.entity_id = l.entity_id)
		GROUP BY l.entity_id ORDER BY w DESC, l.entity_id LIMIT ?`,
		[]any{string(et), string(SideBitrix), string(ents), ms(since), string(ents), slack.Milliseconds(), string(et), limit},
		func(sc scanner) (id int64, err error) {
			var w int64
			err = sc.Scan(&id, &w)
			return id, err
		})
}

// CountCommentCursors counts the deals and leads push follows comments on.
func (r *reader) CountCommentCursors(ctx context.Context) (int64, error) {
	n, _, err := queryOne(r.q.QueryRowContext(ctx, `SELECT count(*) FROM comment_cursors`), scanInt64, "count comment cursors")
	return n, err
}

// ProfileContributions returns what each of a customer's orders adds to
// its purchase profile, by order id.
func (r *reader) ProfileContributions(ctx context.Context, customerID int64) ([]ProfileContribution, error) {
	out, err := queryAll(ctx, r.q, "", `SELECT order_id, customer_id, counted, amount, created_at, number
		FROM profile_contributions WHERE customer_id = ? ORDER BY order_id`, []any{customerID}, func(sc scanner) (c ProfileContribution, err error) {
		err = sc.Scan(&c.OrderID, &c.CustomerID, &c.Counted, &c.Amount, &c.CreatedAt, &c.Number)
		return c, err
	})
	return out, wrapf(err, "read purchase profile of customer %d", customerID)
}

// RunState returns what the runs of a command left; the zero state (with
// Command set) when none left any.
func (r *reader) RunState(ctx context.Context, command string) (RunState, error) {
	st := RunState{Command: command}
	var backlog, complete sql.NullInt64
	ok, err := found(r.q.QueryRowContext(ctx, `SELECT backlog, comments_complete_at, run_id FROM run_state WHERE command = ?`, command).
		Scan(&backlog, &complete, &st.RunID), "read run state of %s", command)
	if err != nil {
		return RunState{}, err
	}
	if ok {
		st.Backlog, st.BacklogKnown = backlog.Int64, backlog.Valid
		st.CommentsCompleteAt = fromNullMS(complete)
	}
	return st, nil
}

// AlertSent reports whether the alert about a failed run of command, of
// this kind of failure, was sent on day (UTC, 2006-01-02).
func (r *reader) AlertSent(ctx context.Context, command, kind, day string) (bool, error) {
	return exists(r.q.QueryRowContext(ctx, `SELECT 1 FROM alert_marks WHERE command = ? AND kind = ? AND day = ?`,
		command, kind, day), "read sent alerts")
}

// OrderLinksByCustomer returns the links of a customer's orders, by order id
// ascending (repeat-purchase detection).
func (r *reader) OrderLinksByCustomer(ctx context.Context, customerID int64) ([]OrderLink, error) {
	var out []OrderLink
	err := r.orderLinks(ctx, `SELECT `+orderLinkCols+` FROM order_links
		WHERE customer_id = ? ORDER BY order_id`, func(l OrderLink) { out = append(out, l) }, customerID)
	return out, err
}

func (r *reader) orderLinks(ctx context.Context, query string, each func(OrderLink), args ...any) error {
	return queryRows(ctx, r.q, "read order links", query, args, scanOrderLink, each)
}

const customerLinkCols = `customer_id, contact_id, email, phone, content_hash, synced_at`

func scanCustomerLink(sc scanner) (CustomerLink, error) {
	var l CustomerLink
	var at int64
	err := sc.Scan(&l.CustomerID, &l.ContactID, &l.Email, &l.Phone, &l.ContentHash, &at)
	l.SyncedAt = fromMS(at)
	return l, err
}

// CustomerLink returns the link of one customer; ok is false when there is
// none.
func (r *reader) CustomerLink(ctx context.Context, customerID int64) (link CustomerLink, ok bool, err error) {
	return queryOne(r.q.QueryRowContext(ctx, `SELECT `+customerLinkCols+` FROM customer_links WHERE customer_id = ?`, customerID),
		scanCustomerLink, "read customer link %d", customerID)
}

// CustomerLinks returns the links of the given customers that exist.
func (r *reader) CustomerLinks(ctx context.Context, customerIDs []int64) (map[int64]CustomerLink, error) {
	out := make(map[int64]CustomerLink, len(customerIDs))
	if len(customerIDs) == 0 {
		return out, nil
	}
	err := r.customerLinks(ctx, `SELECT `+customerLinkCols+` FROM customer_links
		WHERE customer_id IN (SELECT value FROM json_each(?))`, func(l CustomerLink) { out[l.CustomerID] = l }, idsJSON(customerIDs))
	return out, err
}

// CustomerLinksByEmail returns the links with this email (normalised the
// same way as when stored), by customer id.
func (r *reader) CustomerLinksByEmail(ctx context.Context, email string) ([]CustomerLink, error) {
	email = NormalizeEmail(email)
	if email == "" {
		return nil, nil
	}
	var out []CustomerLink
	err := r.customerLinks(ctx, `SELECT `+customerLinkCols+` FROM customer_links
		WHERE email = ? ORDER BY customer_id`, func(l CustomerLink) { out = append(out, l) }, email)
	return out, err
}

// CustomerLinksByPhone returns the links with this (normalised) phone.
func (r *reader) CustomerLinksByPhone(ctx context.Context, phone string) ([]CustomerLink, error) {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return nil, nil
	}
	var out []CustomerLink
	err := r.customerLinks(ctx, `SELECT `+customerLinkCols+` FROM customer_links
		WHERE phone = ? ORDER BY customer_id`, func(l CustomerLink) { out = append(out, l) }, phone)
	return out, err
}

func (r *reader) customerLinks(ctx context.Context, query string, each func(CustomerLink), args ...any) error {
	return queryRows(ctx, r.q, "read customer links", query, args, scanCustomerLink, each)
}

// NormalizeEmail is the form emails are stored and looked up in: trimmed and
// lower-case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CountLinks counts the links held.
func (r *reader) CountLinks(ctx context.Context) (LinkCounts, error) {
	var c LinkCounts
	err := r.q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM order_links),
		(SELECT count(*) FROM order_links WHERE entity_type = 'deal'),
		(SELECT count(*) FROM order_links WHERE entity_type = 'lead'),
		(SELECT count(*) FROM customer_links)`).Scan(&c.Orders, &c.Deals, &c.Leads, &c.Customers)
	if err != nil {
		return LinkCounts{}, fmt.Errorf("count links: %w", err)
	}
	return c, nil
}

// Duplicates lists the recorded groups of Bitrix24 entities sharing one
// ORIGIN_ID, by entity type and origin id.
func (r *reader) Duplicates(ctx context.Context) ([]Duplicate, error) {
	var out []Duplicate
	err := queryEach(ctx, r.q, "read duplicates", `SELECT entity_type, origin_id, entity_id, kept_id, seen_at FROM bitrix_duplicates
		ORDER BY entity_type, origin_id, entity_id`, nil, func(sc scanner) error {
		var et string
		var origin, id, kept, seen int64
		if err := sc.Scan(&et, &origin, &id, &kept, &seen); err != nil {
			return err
		}
		if n := len(out); n == 0 || string(out[n-1].EntityType) != et || out[n-1].OriginID != origin {
			out = append(out, Duplicate{EntityType: EntityType(et), OriginID: origin, KeptID: kept})
		}
		d := &out[len(out)-1]
		d.Others = append(d.Others, id)
		d.SeenAt = fromMS(max(ms(d.SeenAt), seen))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const runCols = `id, command, started_at, ended_at, result, counters, pid, message`

func scanRun(sc scanner) (Run, error) {
	var run Run
	var started int64
	var ended sql.NullInt64
	var result, counters string
	if err := sc.Scan(&run.ID, &run.Command, &started, &ended, &result, &counters, &run.PID, &run.Message); err != nil {
		return Run{}, err
	}
	run.StartedAt = fromMS(started)
	run.EndedAt = fromNullMS(ended)
	run.Result = RunResult(result)
	if err := json.Unmarshal([]byte(counters), &run.Counters); err != nil {
		return Run{}, fmt.Errorf("run %d counters: %w", run.ID, err)
	}
	return run, nil
}

// Run returns one run, or an error wrapping ErrNotFound.
func (r *reader) Run(ctx context.Context, id int64) (Run, error) {
	run, ok, err := queryOne(r.q.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id), scanRun, "read run %d", id)
	if err == nil && !ok {
		return Run{}, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return run, err
}

// LastRuns returns the latest run of each command, by command name.
func (r *reader) LastRuns(ctx context.Context) ([]Run, error) {
	return r.runs(ctx, `SELECT `+runCols+` FROM runs
		WHERE id IN (SELECT max(id) FROM runs GROUP BY command) ORDER BY command`)
}

// Runs returns the latest runs, newest first, optionally of one command
// only (command ""). limit 0 means 20.
func (r *reader) Runs(ctx context.Context, command string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 20
	}
	return r.runs(ctx, `SELECT `+runCols+` FROM runs
		WHERE ?1 = '' OR command = ?1 ORDER BY id DESC LIMIT ?2`, command, limit)
}

// RunsEndedSince returns the runs that ended at or after since, oldest
// first: what their counters say happened in that time. Runs still going
// have no counters yet and are left out. The runs table is pruned
// (Prune), so reading it whole stays cheap.
func (r *reader) RunsEndedSince(ctx context.Context, since time.Time) ([]Run, error) {
	return r.runs(ctx, `SELECT `+runCols+` FROM runs WHERE ended_at >= ? ORDER BY ended_at, id`, ms(since))
}

func (r *reader) runs(ctx context.Context, query string, args ...any) ([]Run, error) {
	return queryAll(ctx, r.q, "read runs", query, args, scanRun)
}

const failureCols = `id, kind, key, attempts, last_error, payload, first_failed_at, last_failed_at, next_attempt_at, parked, skipped`

func scanFailure(sc scanner) (Failure, error) {
	var f Failure
	var first, last, next int64
	err := sc.Scan(&f.ID, &f.Kind, &f.Key, &f.Attempts, &f.LastError, &f.Payload, &first, &last, &next, &f.Parked, &f.Skipped)
	f.FirstFailedAt, f.LastFailedAt, f.NextAttemptAt = fromMS(first), fromMS(last), fromMS(next)
	return f, err
}

// Failure returns the failure recorded for (kind, key); ok is false when
// there is none.
func (r *reader) Failure(ctx context.Context, kind, key string) (f Failure, ok bool, err error) {
	return queryOne(r.q.QueryRowContext(ctx, `SELECT `+failureCols+` FROM failures WHERE kind = ? AND key = ?`, kind, key),
		scanFailure, "read failure %s %s", kind, key)
}

// Failures lists failures matching the filter, oldest first.
func (r *reader) Failures(ctx context.Context, filter FailureFilter) ([]Failure, error) {
	var where []string
	var args []any
	if filter.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, filter.Kind)
	}
	if filter.ParkedOnly {
		where = append(where, "parked = 1")
	}
	if !filter.Due.IsZero() {
		where = append(where, "parked = 0 AND next_attempt_at <= ?")
		args = append(args, ms(filter.Due))
	}
	if !filter.IncludeSkipped {
		where = append(where, "skipped = 0")
	}
	query := `SELECT ` + failureCols + ` FROM failures`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id"
	return queryAll(ctx, r.q, "read failures", query, args, scanFailure)
}

// CountFailures counts failures by state.
func (r *reader) CountFailures(ctx context.Context) (FailureCounts, error) {
	var c FailureCounts
	err := r.q.QueryRowContext(ctx, `SELECT
		coalesce(sum(skipped = 0 AND parked = 0), 0),
		coalesce(sum(skipped = 0 AND parked = 1), 0),
		coalesce(sum(skipped = 1), 0) FROM failures`).Scan(&c.Retrying, &c.Parked, &c.Skipped)
	if err != nil {
		return FailureCounts{}, fmt.Errorf("count failures: %w", err)
	}
	return c, nil
}

// Events lists events matching the filter, newest first.
func (r *reader) Events(ctx context.Context, filter EventFilter) ([]Event, error) {
	limit := filter.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	if filter.RunID != 0 {
		where = append(where, "run_id = ?")
		args = append(args, filter.RunID)
	}
	if filter.OrderID != 0 {
		where = append(where, "order_id = ?")
		args = append(args, filter.OrderID)
	}
	if !filter.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, ms(filter.Since))
	}
	query := `SELECT id, coalesce(run_id, 0), source, source_id, coalesce(order_id, 0), action, result, message, at FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	return queryAll(ctx, r.q, "read events", query, args, func(sc scanner) (e Event, err error) {
		var src, res string
		var at int64
		err = sc.Scan(&e.ID, &e.RunID, &src, &e.SourceID, &e.OrderID, &e.Action, &res, &e.Message, &at)
		e.Source, e.Result, e.At = Source(src), Result(res), fromMS(at)
		return e, err
	})
}

// LedgerHas reports whether crmsync wrote exactly this value to this field
// (at any time still in the ledger): the echo test.
func (r *reader) LedgerHas(ctx context.Context, side Side, entity string, entityID int64, field, value string) (bool, error) {
	return exists(r.q.QueryRowContext(ctx, `SELECT 1 FROM ledger
		WHERE side = ? AND entity = ? AND entity_id = ? AND field = ? AND value = ? LIMIT 1`,
		string(side), entity, entityID, field, r.mask(value)), "read ledger")
}

const ledgerCols = `id, side, entity, entity_id, field, value, remote_id, written_at`

func scanLedgerEntry(sc scanner) (e LedgerEntry, err error) {
	var s string
	var at int64
	err = sc.Scan(&e.ID, &s, &e.Entity, &e.EntityID, &e.Field, &e.Value, &e.RemoteID, &at)
	e.Side, e.WrittenAt = Side(s), fromMS(at)
	return e, err
}

// LedgerEntries returns every row crmsync recorded for this field, oldest
// first, values as stored (masked: compare them with Masked texts).
func (r *reader) LedgerEntries(ctx context.Context, side Side, entity string, entityID int64, field string) ([]LedgerEntry, error) {
	return queryAll(ctx, r.q, "read ledger", `SELECT `+ledgerCols+` FROM ledger
		WHERE side = ? AND entity = ? AND entity_id = ? AND field = ? ORDER BY written_at, id`,
		[]any{string(side), entity, entityID, field}, scanLedgerEntry)
}

// Masked returns a text as the store would keep it, secrets masked, to
// compare it with stored values (see LedgerEntries).
func (r *reader) Masked(s string) string { return r.mask(s) }

// LedgerLatest returns the last value crmsync wrote to this field; ok is
// false when it never did.
func (r *reader) LedgerLatest(ctx context.Context, side Side, entity string, entityID int64, field string) (e LedgerEntry, ok bool, err error) {
	return queryOne(r.q.QueryRowContext(ctx, `SELECT `+ledgerCols+` FROM ledger
		WHERE side = ? AND entity = ? AND entity_id = ? AND field = ?
		ORDER BY written_at DESC, id DESC LIMIT 1`,
		string(side), entity, entityID, field), scanLedgerEntry, "read ledger")
}

// LedgerHasRemoteID reports whether crmsync created the remote object with
// this id (e.g. a timeline comment), so it is not carried back.
func (r *reader) LedgerHasRemoteID(ctx context.Context, side Side, entity string, remoteID int64) (bool, error) {
	return exists(r.q.QueryRowContext(ctx, `SELECT 1 FROM ledger
		WHERE side = ? AND entity = ? AND remote_id = ? LIMIT 1`, string(side), entity, remoteID), "read ledger")
}

// RuleFired returns the record of a rule's action for an event; ok is false
// when it has not fired.
func (r *reader) RuleFired(ctx context.Context, ruleKey, eventKey, action string) (f RuleFire, ok bool, err error) {
	return queryOne(r.q.QueryRowContext(ctx, `SELECT rule_key, event_key, action, result_id, fired_at FROM rule_fires
		WHERE rule_key = ? AND event_key = ? AND action = ?`, ruleKey, eventKey, action), func(sc scanner) (fire RuleFire, err error) {
		var at int64
		err = sc.Scan(&fire.RuleKey, &fire.EventKey, &fire.Action, &fire.ResultID, &at)
		fire.FiredAt = fromMS(at)
		return fire, err
	}, "read rule fire")
}

func entityTypeOrDeal(et EntityType) EntityType {
	if et == "" {
		return EntityDeal
	}
	return et
}

// CatalogProducts returns the cached lookups of the given external codes in
// catalogue iblockID, by code; codes never looked up are absent.
func (r *reader) CatalogProducts(ctx context.Context, iblockID int64, xmlIDs []string) (map[string]CatalogProduct, error) {
	out := make(map[string]CatalogProduct, len(xmlIDs))
	if len(xmlIDs) == 0 {
		return out, nil
	}
	codes, err := json.Marshal(xmlIDs)
	if err != nil {
		return nil, err
	}
	err = queryRows(ctx, r.q, "read catalogue products", `SELECT xml_id, product_id, checked_at FROM catalog_products
		WHERE iblock_id = ? AND xml_id IN (SELECT value FROM json_each(?))`, []any{iblockID, string(codes)}, func(sc scanner) (p CatalogProduct, err error) {
		var at int64
		err = sc.Scan(&p.XMLID, &p.ProductID, &at)
		p.IBlockID, p.CheckedAt = iblockID, fromMS(at)
		return p, err
	}, func(p CatalogProduct) { out[p.XMLID] = p })
	if err != nil {
		return nil, err
	}
	return out, nil
}
