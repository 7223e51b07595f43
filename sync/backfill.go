package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// BackfillOptions say which orders a backfill imports.
type BackfillOptions struct {
	// Since and Until bound the orders' createdAt: [Since, Until). A zero
	// value leaves that side open. An Until later than the start of the
	// backfill is cut there: orders created afterwards reach Bitrix24
	// through pull, from the history head the backfill records.
	Since, Until time.Time
	// Location is the RetailCRM account's time zone (Settings.Location);
	// the server's clock (generatedAt) is read in it. Required.
	Location *time.Location
	// WithRules fires the business rules (docs/rules.md) for the imported orders,
	// each taken as just created. Without it a backfill fires none: years of
	// old orders must not turn into thousands of tasks and notifications.
	WithRules bool
	// SampleChanges caps the changes a report keeps (dry run or
	// KeepChanges) at this many, so a dry run over 100,000 orders shows a
	// sample instead of holding every change in memory (default 50;
	// negative keeps all).
	SampleChanges int
	// Progress, when set, is called after every committed group of pages.
	Progress func(BackfillProgress)
	// groupPages overrides backfillGroupPages (tests that act between pages).
	groupPages int
	// noReadAhead reads each page only when the walk reaches it (tests
	// that change the shop between pages and expect the next read to see it).
	noReadAhead bool
}

// BackfillProgress is reported after every committed group of pages of a backfill.
type BackfillProgress struct {
	Done     int64 // orders of the window passed, earlier runs included
	Before   int64 // of Done, passed by earlier runs (a resumed backfill)
	Total    int64 // orders in the window (pagination.totalCount)
	Pages    int   // pages done by this run
	Parked   int   // items that failed in this run (parked: waiting for a retry or out of attempts)
	Requests int   // requests sent by this run, both APIs
	Elapsed  time.Duration
	Resumed  bool // this run continues an interrupted backfill
}

// BackfillResult is what Backfill did.
type BackfillResult struct {
	*Result
	Done, Total int64
	// Head is the order history id recorded for pull, 0 when pull already
	// had a cursor (left alone) or the history is empty.
	Head int64
	// Resumed says this run continued an interrupted backfill.
	Resumed bool
	// ChangesOmitted counts the changes left out of the report's sample.
	ChangesOmitted int
}

// backfillPageSize is the page size of the walk: the largest the API
// takes, one Bitrix24 batch per 50 orders and step.
const backfillPageSize = 100

// backfillGroupPages is how many pages a backfill plans and commits
// together: one chunk of up to 500 orders, whose lookups share a request or
// two and whose writes leave at most one batch per kind part-filled.
const backfillGroupPages = 5

// headLookbacks are how far before now the search for the history head
// starts: the newest records are found with a startDate filter (cheap on the
// server), widening only when a quiet account has no recent record; 0 means
// the whole history.
func headLookbacks() []time.Duration {
	return []time.Duration{10 * time.Minute, 24 * time.Hour, 7 * 24 * time.Hour, 31 * 24 * time.Hour, 366 * 24 * time.Hour, 0}
}

// clockMargin widens the window when the server's clock is unknown: a host
// clock behind RetailCRM's must not cut off orders created just before the
// head was read (an overlap with pull is harmless).
const clockMargin = 10 * time.Minute

// maxHeadPages bounds the walk by sinceId after the last page of the
// window (normally one empty read; more only when records keep arriving
// faster than it reads). Stopping early only under-estimates the head:
// pull then re-reads those records, which is idempotent.
const maxHeadPages = 200

// backfillState is the backfill cursor, stored as JSON and written in the
// same transaction as each page's links, so it never claims a page whose
// effects are not committed.
//
// The walk pages through GET /orders by page number over a window frozen
// at the first start: [Since, To), To being the server's clock when the
// history head was read (or --until, if earlier). Orders created after To
// are left to pull. The list is asked for whole days around the window
// (the service's reading of its date filters is not documented) and each
// page is cut to the window locally, so the pages also hold orders of the
// edge days, and orders created after To can enter them during the walk;
// the list order is not documented, so nothing here assumes one beyond its
// being stable. An order entering the list moves later ones back a place:
// one is read twice, none skipped. An order leaving it (deleted, merged)
// moves later ones forward: totalCount then drops, and the walk steps back
// as many pages as orders left, re-reading orders already done, which costs
// one RetailCRM read and no Bitrix24 request (their content hashes match).
// An entry and a departure between two page reads cancel out in totalCount,
// so that departure goes unnoticed; the order it would skip is one created
// before the backfill, which a later backfill of the window brings in.
type backfillState struct {
	Version int    `json:"v"`
	Since   string `json:"since,omitempty"` // requested bounds, RFC 3339; identify the backfill
	Until   string `json:"until,omitempty"`
	To      string `json:"to"`             // the frozen exclusive upper bound, RFC 3339
	Page    int    `json:"page"`           // next page to read, 1-based
	Total   int64  `json:"total"`          // orders in the window at the last read
	Done    int64  `json:"done"`           // orders of the window passed
	LastID  int64  `json:"last_id"`        // largest order id of the last page done
	Head    int64  `json:"head,omitempty"` // order history head recorded for pull
	Started string `json:"started"`        // when the first run began, RFC 3339
}

func formatBound(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Backfill imports the orders created in [Since, Until) page by page
// through the planner and batch writer pull uses, resuming an interrupted
// backfill of the same window. Before the first page it records the order
// and customer history heads for pull, unless pull already has cursors. The
// run is recorded as command "backfill".
func (e *Engine) Backfill(ctx context.Context, bo BackfillOptions) (*BackfillResult, error) {
	if bo.Location == nil {
		return nil, errors.New("sync: backfill needs the RetailCRM account's time zone")
	}
	if bo.SampleChanges == 0 {
		bo.SampleChanges = 50
	}
	if !bo.WithRules {
		// The planner owes rule actions to an order without a deal as if it
		// were just created; a backfill only imports.
		e.rules = nil
	}
	out := &BackfillResult{}
	res, err := e.record(ctx, "backfill", func(ctx context.Context, start time.Time) error {
		return e.backfill(ctx, bo, start, out)
	})
	out.Result = res
	return out, err
}

func (e *Engine) backfill(ctx context.Context, bo BackfillOptions, start time.Time, out *BackfillResult) error {
	if err := e.loadReferences(ctx); err != nil {
		return err
	}
	e.markStageHead(ctx, start)
	st, err := e.backfillStart(ctx, bo, out)
	if err != nil {
		return err
	}
	to, err := time.Parse(time.RFC3339, st.To)
	if err != nil {
		return fmt.Errorf("backfill cursor: bad upper bound %q: %w", st.To, err)
	}
	filter := retailcrm.OrdersFilter{CreatedAtFrom: bo.Since, Sites: e.cfg.RetailCRM.Sites, Limit: backfillPageSize}
	if !bo.Since.IsZero() && !bo.Since.Before(to) {
		return e.backfillDone(ctx, out, st)
	}
	// createdAt has whole seconds and CreatedAtTo is inclusive: the last
	// second before To is the exclusive bound. The service filters by whole
	// days (see retailcrm.OrdersFilter), so each page is cut to [Since, To)
	// here.
	last := to.Add(-time.Second)
	filter.CreatedAtTo = last
	before := st.Done
	report := func() {
		out.Done, out.Total = st.Done, st.Total
		e.sum.Backlog = max(st.Total-st.Done, 0)
		if bo.Progress != nil {
			bo.Progress(BackfillProgress{Done: st.Done, Before: min(before, st.Done), Total: st.Total, Pages: e.sum.Pages, Parked: len(e.report.Parked),
				Requests: e.count.Total(), Elapsed: e.now().Sub(start), Resumed: out.Resumed})
		}
	}
	// Pages are planned and committed in groups (backfillGroupPages): the
	// lookups of a group share requests and its writes fill the batches. The
	// cursor is committed with the group's effects, so a crash repeats at
	// most one group, whose writes the lookups then find.
	group := bo.groupPages
	if group <= 0 {
		group = backfillGroupPages
	}
	var pending []*retailcrm.Order
	at := map[int64]int{} // order id → index in pending
	pendingPages := 0
	flush := func() error {
		if pendingPages == 0 {
			return nil
		}
		value, err := json.Marshal(st)
		if err != nil {
			return err
		}
		save := func(tx *store.Tx) error { return tx.SetCursor(ctx, store.CursorBackfill, string(value)) }
		e.chunk = max(len(pending), chunkOrders)
		err = e.applyOrders(ctx, pending, nil, nil, save)
		e.chunk = 0
		if err != nil {
			return err
		}
		e.sum.Pages += pendingPages
		pending, pendingPages = nil, 0
		clear(at)
		e.sampleChanges(bo.SampleChanges, out)
		report()
		return nil
	}
	pages := &orderPages{read: func(ctx context.Context, n int) (*retailcrm.OrdersPage, error) {
		f := filter
		f.Page = n
		return e.rc.Orders(ctx, f)
	}}
	defer pages.stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := pages.get(ctx, st.Page)
		if err != nil {
			return fmt.Errorf("reading page %d of the RetailCRM orders: %w", st.Page, err)
		}
		total := page.Pagination.TotalCount
		if gone := st.Total - total; gone > 0 && st.Page > 1 {
			// Orders left the window since the last page: the ones after them
			// moved forward. Step back so none is skipped.
			back := int((gone + backfillPageSize - 1) / backfillPageSize)
			e.log.Info("orders left the backfill window; re-reading pages", "orders", gone, "pages", back)
			st.Page = max(st.Page-back, 1)
			st.Total = total
			st.Done = min(st.Done, int64(st.Page-1)*backfillPageSize)
			continue
		}
		st.Total = total
		if len(page.Orders) == 0 {
			if err := flush(); err != nil {
				return err
			}
			report()
			return e.backfillDone(ctx, out, st)
		}
		list := make([]*retailcrm.Order, 0, len(page.Orders))
		next := st
		for i := range page.Orders {
			o := &page.Orders[i]
			next.LastID = max(next.LastID, o.ID)
			within, err := o.CreatedWithin(bo.Location, bo.Since, last)
			if err != nil {
				e.log.Warn("backfill: importing an order whose creation time cannot be read", "order", o.ID, "error", err)
			}
			if within && e.siteAllowed(o.Site) {
				list = append(list, o)
			}
		}
		next.Page++
		next.Done = min(int64(st.Page)*backfillPageSize, total)
		if next.Done < st.Done {
			next.Done = st.Done
		}
		// A page read again (the window shrank) replaces its orders in the
		// group instead of planning them twice.
		for _, o := range list {
			if i, ok := at[o.ID]; ok {
				pending[i] = o
				continue
			}
			at[o.ID] = len(pending)
			pending = append(pending, o)
			e.sum.OrdersSeen++
		}
		st = next
		pendingPages++
		last := int64(st.Page-1)*backfillPageSize >= total
		if pendingPages >= group || last {
			if !last && !bo.noReadAhead {
				// The next group's pages are read while this one is written.
				lastPage := int((total + backfillPageSize - 1) / backfillPageSize)
				pages.prefetch(ctx, st.Page, min(st.Page+group-1, lastPage))
			}
			if err := flush(); err != nil {
				return err
			}
		} else {
			// Progress by the pages read, so a bar moves between commits.
			report()
		}
		if last {
			return e.backfillDone(ctx, out, st)
		}
	}
}

// sampleChanges keeps the report's changes to the first n.
func (e *Engine) sampleChanges(n int, out *BackfillResult) {
	if n < 0 || len(e.report.Changes) <= n {
		return
	}
	out.ChangesOmitted += len(e.report.Changes) - n
	e.report.Changes = e.report.Changes[:n:n]
}

// backfillDone removes the finished backfill's cursor: a later backfill
// of the same window walks it again (finding nothing to write).
func (e *Engine) backfillDone(ctx context.Context, out *BackfillResult, st backfillState) error {
	out.Done, out.Total = st.Total, st.Total
	e.sum.Backlog = 0
	return e.store.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteCursor(ctx, store.CursorBackfill) })
}

// backfillStart resumes the stored backfill of the same window, or starts
// one: it records the history heads pull will start from (unless pull has
// cursors already) and freezes the window's upper bound at the server's
// clock, all in one transaction before the first page.
func (e *Engine) backfillStart(ctx context.Context, bo BackfillOptions, out *BackfillResult) (backfillState, error) {
	since, until := formatBound(bo.Since), formatBound(bo.Until)
	raw, ok, err := e.store.Cursor(ctx, store.CursorBackfill)
	if err != nil {
		return backfillState{}, fmt.Errorf("reading the backfill cursor: %w", err)
	}
	if ok {
		var st backfillState
		switch err := json.Unmarshal([]byte(raw), &st); {
		case err != nil || st.Version != 1 || st.Page < 1 || st.To == "":
			e.log.Warn("ignoring an unreadable backfill cursor; starting over", "value", raw)
		case st.Since != since || st.Until != until:
			e.log.Info("an unfinished backfill of another window is replaced by this one",
				"since", st.Since, "until", st.Until)
		default:
			out.Resumed = true
			e.log.Info("resuming the backfill", "page", st.Page, "done", st.Done, "total", st.Total)
			return st, nil
		}
	}
	st := backfillState{Version: 1, Since: since, Until: until, Page: 1, Started: formatBound(e.now())}

	orderCursor, haveOrders, err := e.store.CursorInt(ctx, store.CursorOrdersHistory)
	if err != nil {
		return st, fmt.Errorf("reading the history cursor: %w", err)
	}
	_, haveCustomers, err := e.store.CursorInt(ctx, store.CursorCustomersHistory)
	if err != nil {
		return st, fmt.Errorf("reading the customers history cursor: %w", err)
	}
	haveCorporate := true
	if e.followsCorporate() {
		if _, haveCorporate, err = e.store.CursorInt(ctx, store.CursorCorporateHistory); err != nil {
			return st, fmt.Errorf("reading the corporate customers history cursor: %w", err)
		}
	}
	var serverNow retailcrm.DateTime
	var orderHead, customerHead, corporateHead int64
	// The two heads are independent searches: the customers' runs beside
	// the orders' (the same requests; a few reads each, more on a quiet
	// account whose lookback widens, and the fake or the service answers
	// one while crmsync reads the other).
	type headResult struct {
		head int64
		err  error
	}
	customers := make(chan headResult, 1)
	walkCtx, cancelWalk := context.WithCancel(ctx)
	defer cancelWalk()
	if !haveCustomers {
		go func() {
			head, _, err := e.historyHead(walkCtx, func(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
				return e.rc.HistoryHead(ctx, retailcrm.StreamCustomers, f)
			})
			customers <- headResult{head, err}
		}()
	}
	// An early return stops the customers' walk and waits for it.
	waitCustomers := func() {
		if !haveCustomers {
			cancelWalk()
			<-customers
		}
	}
	if haveOrders {
		// pull's cursor stays; one read still gives the server's clock.
		page, err := e.rc.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: orderCursor, Limit: 20})
		if err != nil {
			waitCustomers()
			return st, fmt.Errorf("reading the RetailCRM order history: %w", err)
		}
		serverNow = page.GeneratedAt
	} else {
		orderHead, serverNow, err = e.historyHead(ctx, func(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
			return e.rc.HistoryHead(ctx, retailcrm.StreamOrders, f)
		})
		if err != nil {
			waitCustomers()
			return st, fmt.Errorf("finding the RetailCRM order history head: %w", err)
		}
		st.Head = orderHead
		out.Head = orderHead
	}
	if !haveCustomers {
		c := <-customers
		if c.err != nil {
			return st, fmt.Errorf("finding the RetailCRM customers history head: %w", c.err)
		}
		customerHead = c.head
	}
	if !haveCorporate {
		// The backfill reads companies' current data with their orders:
		// pull follows only the corporate changes made after it starts.
		corporateHead, _, err = e.historyHead(ctx, func(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error) {
			p, err := e.rc.CorporateCustomersHistory(ctx, f)
			if err != nil {
				return nil, err
			}
			return p.Head(), nil
		})
		if err != nil {
			return st, fmt.Errorf("finding the RetailCRM corporate customers history head: %w", err)
		}
	}
	// Orders created up to the server's time of the last head read have
	// creation records at or below the head; later ones are pull's.
	to := e.now().Add(clockMargin)
	if t, err := serverNow.In(bo.Location); err == nil && !t.IsZero() {
		to = t
	}
	to = to.Truncate(time.Second).Add(time.Second)
	if !bo.Until.IsZero() && bo.Until.Before(to) {
		to = bo.Until
	}
	st.To = formatBound(to)
	value, err := json.Marshal(st)
	if err != nil {
		return st, err
	}
	err = e.store.Tx(ctx, func(tx *store.Tx) error {
		if !haveOrders {
			if err := tx.SetCursorInt(ctx, store.CursorOrdersHistory, orderHead); err != nil {
				return err
			}
		}
		if !haveCustomers {
			if err := tx.SetCursorInt(ctx, store.CursorCustomersHistory, customerHead); err != nil {
				return err
			}
		}
		if !haveCorporate {
			if err := tx.SetCursorInt(ctx, store.CursorCorporateHistory, corporateHead); err != nil {
				return err
			}
		}
		return tx.SetCursor(ctx, store.CursorBackfill, string(value))
	})
	if err != nil {
		return st, fmt.Errorf("recording the backfill start: %w", err)
	}
	e.report.Cursor = CursorSummary{From: orderCursor, To: max(orderCursor, orderHead)}
	e.log.Info("backfill started", "history_head", orderHead, "customers_history_head", customerHead, "corporate_history_head", corporateHead, "window_end", st.To)
	return st, nil
}

// headReader reads one page of a history for historyHead.
type headReader func(context.Context, retailcrm.HistoryFilter) (*retailcrm.HistoryHeadPage, error)

// historyHead finds the newest history id: the first page of records
// created since a moment shortly before now (or of the whole history),
// then, when that filter selects more pages, its last page (page with a
// startDate or no filter is allowed; with sinceId it is a 400), then by
// sinceId until a page comes back empty — one read when nothing was added
// meanwhile: three reads for a window of any size instead of one per page.
// Records added between the reads only fill the last page or add one; the
// sinceId walk reads past them. It returns the head and the server's clock
// of that empty answer, by which every existing record is at or below the
// head. A head it cannot reach in maxHeadPages is under-estimated, which is
// harmless; it is never over-estimated, since it is an id seen.
func (e *Engine) historyHead(ctx context.Context, read headReader) (int64, retailcrm.DateTime, error) {
	now := e.now()
	var head int64
	var at retailcrm.DateTime
	var window retailcrm.HistoryFilter // the filter whose first page found the head
	pages := 0                         // and how many pages it selects
	found := false
	var whole *retailcrm.HistoryHeadPage // the whole history's first page, once read
	for i, back := range headLookbacks() {
		if back == 0 && whole != nil {
			// Read already: walk on from it.
			head, pages, found = whole.LastID, whole.Pages, true
			window = retailcrm.HistoryFilter{Limit: retailcrm.HistoryLimit}
			break
		}
		f := retailcrm.HistoryFilter{Limit: retailcrm.HistoryLimit}
		if back > 0 {
			f.StartDate = now.Add(-back)
		}
		p, err := read(ctx, f)
		if err != nil {
			return 0, at, err
		}
		at = p.GeneratedAt
		if p.Records > 0 {
			head, pages, window, found = p.LastID, p.Pages, f, true
			break
		}
		if i > 0 {
			continue
		}
		// Nothing in the last minutes: the whole history's first page says
		// whether there is any (an empty stream, such as the corporate
		// customers of a shop selling only to people, costs 2 requests, not
		// 6) and, when it is not full, where it ends.
		p, err = read(ctx, retailcrm.HistoryFilter{Limit: retailcrm.HistoryLimit})
		if err != nil {
			return 0, at, err
		}
		at = p.GeneratedAt
		if p.Records == 0 {
			return 0, at, nil
		}
		if p.Records < retailcrm.HistoryLimit {
			return p.LastID, at, nil
		}
		whole = p
	}
	if !found {
		return 0, at, nil // no history at all
	}
	if pages > 1 {
		last := window
		last.Page = pages
		switch p, err := read(ctx, last); {
		case errors.Is(err, retailcrm.ErrValidation):
			// No answer recorded since the 400 rule shows page with a
			// startDate taken (docs/api-notes.md); if it is refused too,
			// the walk by sinceId still finds the head, at its old cost.
			e.log.Warn("the history refused a page by number; walking to the head by sinceId", "error", err)
		case err != nil:
			return 0, at, err
		default:
			at = p.GeneratedAt
			head = max(head, p.LastID)
		}
	}
	for range maxHeadPages {
		p, err := read(ctx, retailcrm.HistoryFilter{SinceID: head, Limit: retailcrm.HistoryLimit})
		if err != nil {
			return 0, at, err
		}
		at = p.GeneratedAt
		if p.Records == 0 || p.LastID <= head {
			return head, at, nil
		}
		head = p.LastID
	}
	e.log.Warn("the history head is further than the walk goes; pull will re-read the rest", "head", head)
	return head, at, nil
}
