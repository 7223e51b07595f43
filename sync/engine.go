package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/internal/clock"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/runs"
	"github.com/crmsync/crmsync/sync/texts"
)

// RetailCRM is what the engine reads from RetailCRM (*retailcrm.Client).
type RetailCRM interface {
	OrdersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error)
	Orders(ctx context.Context, f retailcrm.OrdersFilter) (*retailcrm.OrdersPage, error)
	Statuses(ctx context.Context) (map[string]retailcrm.Status, error)
	CustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CustomersHistoryPage, error)
}

// Bitrix is what the engine calls on Bitrix24 (*bitrix.Client): every read
// and write goes through batch.
type Bitrix interface {
	Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error)
}

// Options configure an Engine.
type Options struct {
	Config    *config.Config
	RetailCRM RetailCRM
	Bitrix    Bitrix
	// Store is the database. For a dry run open it with Options.Scratch:
	// the engine commits as usual and the file stays as it was.
	Store *store.Store
	// DryRun routes every Bitrix24 write to a recorder; the report lists
	// what a real run would do.
	DryRun bool
	// MaxItems stops the run after this many orders (and changed customers);
	// 0: no limit. The run may stop inside a page: the cursor then stays at
	// the last history record of the orders it handled (see limitOrders).
	MaxItems int
	// MaxDuration stops starting new pages after this long (0: no limit).
	MaxDuration time.Duration
	// Stop, once closed, stops the run before its next page, the one in
	// progress finished (crmsync serve on SIGTERM); nil: never.
	Stop <-chan struct{}
	// MaxAttempts parks a failing order after this many attempts (default 5);
	// the parking sends one alert.
	MaxAttempts int
	// KeepChanges keeps every change in the Result's report also in a real
	// run (a dry run always does).
	KeepChanges bool
	// Logger receives warnings and debug detail (default: discard).
	Logger *slog.Logger
	// Progress, when set, is called after every page.
	Progress func(Progress)
	// Now is the clock (default time.Now); Sleep waits between write rounds
	// (default: a timer honouring ctx).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// RetryDelay is the base pause before resending writes that were not
	// executed (default 1 s; grows linearly per round).
	RetryDelay time.Duration
	// RunCommand is the command name recorded with StartRun (default "pull").
	RunCommand string
}

// Progress is reported after every page.
type Progress struct {
	Pages    int
	Orders   int
	Cursor   int64
	Backlog  int64
	Elapsed  time.Duration
	Parked   int // items that failed so far (parked: waiting for a retry or out of attempts)
	Requests int
}

// Result is what Pull did.
type Result struct {
	RunID  int64
	Report *Report
}

// Parked reports how many items failed in this run: waiting for a retry
// or parked after their last attempt (Summary tells the two apart).
func (r *Result) Parked() int { return len(r.Report.Parked) }

// Engine runs pulls. It is used for one run.
type Engine struct {
	cfg    *config.Config
	rc     *runs.RetailCRM // opts.RetailCRM, its requests counted
	bx     *runs.Bitrix    // opts.Bitrix, its requests counted
	count  *runs.Counter
	store  *store.Store
	gate   gate
	mapper *mapper
	log    *slog.Logger
	opts   Options
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	retryDelay time.Duration
	firstOrder map[int64]int64 // customer id → smallest order id known
	iblocks    []int64         // the catalogues catalog.catalog.list named, read once per run
	people     managerCache    // RetailCRM managers ↔ Bitrix24 users (managers.go)
	recreate   map[int64]bool  // orders whose deleted deal an operator asked to re-create (deletions.go)
	companies  companyRun      // presets and the companies written, for the run
	rules      []rules.Rule
	refRead    map[string]bool // dictionaries read from RetailCRM this run
	sum        Summary
	report     *Report
	runID      int64
	// headPending: push's stage cursor is still to be set at the portal's
	// stage-history head (see markStageHead).
	headPending bool
	sent        *[]sentCmd // recorded writes (tests)
	// beforeCommit is a test hook called before each page's commit; an
	// error aborts the run there (crash injection).
	beforeCommit func(page int) error
	// chunk is how many orders are planned and written together (default
	// chunkOrders; a backfill sets its group's size).
	chunk int
}

// New builds an engine.
func New(opts Options) (*Engine, error) {
	if opts.Config == nil || opts.RetailCRM == nil || opts.Bitrix == nil || opts.Store == nil {
		return nil, errors.New("sync: Config, RetailCRM, Bitrix and Store are required")
	}
	count := &runs.Counter{}
	e := &Engine{cfg: opts.Config, rc: count.RetailCRM(opts.RetailCRM), bx: count.Bitrix(opts.Bitrix), count: count,
		store: opts.Store, opts: opts, log: opts.Logger, now: opts.Now, sleep: opts.Sleep, retryDelay: opts.RetryDelay, firstOrder: map[int64]int64{}}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.sleep == nil {
		e.sleep = clock.Sleep
	}
	if e.retryDelay == 0 {
		e.retryDelay = time.Second
	}
	if e.opts.MaxAttempts <= 0 {
		e.opts.MaxAttempts = 5
	}
	if e.opts.RunCommand == "" {
		e.opts.RunCommand = "pull"
	}
	region := opts.Config.PhoneRegion
	if region == "" {
		region = config.DefaultPhoneRegion
	}
	// The locale was validated with the configuration; an engine built
	// from a Config of its own gets the default for an unknown one.
	locale, _ := texts.Parse(opts.Config.Locale)
	e.mapper = &mapper{cfg: opts.Config, norm: normalizer{region: region, phones: newPhoneMemo()}, txt: texts.For(locale), log: e.log}
	title := opts.Config.Mapping.DealTitle
	if title == "" {
		title = e.mapper.txt.Get(texts.DealTitle)
	}
	var err error
	if e.mapper.title, err = rules.CompileText("deal_title", title); err != nil {
		return nil, fmt.Errorf("mapping.deal_title: %w: %w", err, config.ErrInvalid)
	}
	e.mapper.assignee = e.assignee
	// A text naming a field rule texts do not have is a configuration
	// error (exit 4) naming the rule: check reports the same.
	if errs := rules.TextErrors(opts.Config.Rules); len(errs) > 0 {
		for i, err := range errs {
			errs[i] = fmt.Errorf("%w: %w", err, config.ErrInvalid)
		}
		return nil, errors.Join(errs...)
	}
	e.rules = opts.Config.Rules
	if opts.DryRun {
		e.gate = newDryGate(nil)
	} else {
		e.gate = &liveGate{bx: e.bx, beforeWrite: e.stageHeadTooLate}
	}
	e.report = &Report{Envelope: runs.NewEnvelope(opts.DryRun)}
	return e, nil
}

// recordWrites makes the gate keep every write it passes (tests).
func (e *Engine) recordWrites() *[]sentCmd {
	rec := &[]sentCmd{}
	e.sent = rec
	switch g := e.gate.(type) {
	case *liveGate:
		g.rec = rec
	case *dryGate:
		g.rec = rec
	}
	return rec
}

func (e *Engine) addChange(c Change) {
	if e.opts.DryRun || e.opts.KeepChanges {
		e.report.Changes = append(e.report.Changes, c)
	}
}

// Pull runs one pull: parked and failed orders that are due first, then the
// order history from the stored cursor, page by page, until it is empty or
// a limit is reached. The run is recorded with StartRun/FinishRun. An error
// means the run stopped; every page committed before it stays committed.
func (e *Engine) Pull(ctx context.Context) (*Result, error) {
	return e.record(ctx, e.opts.RunCommand, e.pull)
}

// record runs body as one recorded run of command (runs.Start before,
// Finish with the counters and the outcome after; pull and backfill). A run
// that failed outright is alerted before its end is recorded, so its alert
// is among its counters.
func (e *Engine) record(ctx context.Context, command string, body func(ctx context.Context, start time.Time) error) (*Result, error) {
	run, err := runs.Start(ctx, e.store, command, os.Getpid(), e.now())
	if err != nil {
		return nil, fmt.Errorf("recording the run: %w", err)
	}
	e.runID = run.ID
	res := &Result{RunID: run.ID, Report: e.report}
	err = body(ctx, run.Started)
	e.countRequests()
	e.report.Summary = e.sum
	out := runs.OutcomeOf(ctx, err, len(e.report.Parked))
	if out.Result == store.RunFailed {
		e.alertRunFailed(context.WithoutCancel(ctx), command, err)
	}
	// The backlog a run leaves is what status shows until the next run of
	// the command.
	backlog := e.sum.Backlog
	if ferr := run.Finish(ctx, out, e.sum.Counters(), store.RunLeaves{Backlog: &backlog}); ferr != nil && err == nil {
		err = fmt.Errorf("recording the run's end: %w", ferr)
	}
	return res, err
}

// countRequests copies the requests counted so far into the summary.
func (e *Engine) countRequests() {
	e.sum.BitrixRequests = e.count.Requests(runs.APIBitrix)
	e.sum.RetailCRMRequests = e.count.Requests(runs.APIRetailCRM)
}

func (e *Engine) pull(ctx context.Context, start time.Time) error {
	if err := e.loadReferences(ctx); err != nil {
		return err
	}
	e.markStageHead(ctx, start)
	if err := e.retryDue(ctx); err != nil {
		return err
	}
	if err := e.retryCustomers(ctx); err != nil {
		return err
	}
	if err := e.retryCorporates(ctx); err != nil {
		return err
	}
	drained, err := followHistory(ctx, e, start, historyStream[retailcrm.HistoryRecord]{
		name:       "order history",
		cursor:     store.CursorOrdersHistory,
		read:       e.rc.OrdersHistory,
		cursorName: "history",
		from:       func(cursor int64) { e.report.Cursor = CursorSummary{From: cursor, To: cursor} },
		limit:      limitOrders,
		page: func(ctx context.Context, recs []retailcrm.HistoryRecord, next, total int64) error {
			return e.pullOrderPage(ctx, start, recs, next, total)
		},
	})
	if err != nil || !drained {
		return err
	}
	e.sum.Backlog = 0
	if err := e.pullCustomers(ctx, start); err != nil {
		return err
	}
	return e.pullCorporate(ctx, start)
}

// pullOrderPage syncs the orders of one page of order history (up to the
// record next), notes the backlog left and reports the progress.
func (e *Engine) pullOrderPage(ctx context.Context, start time.Time, recs []retailcrm.HistoryRecord, next, total int64) error {
	// totalCount counts the records after the cursor, this page's included.
	e.sum.Backlog = max(total-int64(len(recs)), 0)
	if err := e.processPage(ctx, recs, next); err != nil {
		return err
	}
	e.report.Cursor.To = next
	e.sum.Pages++
	if e.opts.Progress != nil {
		e.opts.Progress(Progress{Pages: e.sum.Pages, Orders: e.sum.OrdersSeen, Cursor: next,
			Backlog: e.sum.Backlog, Elapsed: e.now().Sub(start),
			Parked: len(e.report.Parked), Requests: e.count.Total()})
	}
	return nil
}

// limitReached names the run limit reached, or "".
func (e *Engine) limitReached(start time.Time) string {
	switch {
	case e.opts.MaxItems > 0 && e.sum.OrdersSeen+e.sum.CustomersSeen >= e.opts.MaxItems:
		return "max-items"
	case e.opts.MaxDuration > 0 && e.now().Sub(start) >= e.opts.MaxDuration:
		return "max-duration"
	case runs.Stopped(e.opts.Stop):
		return "stop"
	}
	return ""
}

// itemsLeft is how many more orders and customers the run may handle
// under MaxItems; limited is false without a limit.
func (e *Engine) itemsLeft() (left int, limited bool) {
	if e.opts.MaxItems <= 0 {
		return 0, false
	}
	return max(e.opts.MaxItems-e.sum.OrdersSeen-e.sum.CustomersSeen, 0), true
}

// processPage syncs the orders of one history page and commits the page.
func (e *Engine) processPage(ctx context.Context, recs []retailcrm.HistoryRecord, cursor int64) error {
	e.sum.HistoryRecords += len(recs)
	kept, dropped := filterEchoes(recs)
	e.sum.EchoesDropped += dropped
	ids, events := groupByOrder(kept)
	orders, err := e.fetchOrders(ctx, ids)
	if err != nil {
		return err
	}
	e.sum.OrdersSeen += len(ids)
	var notes []store.Event
	var list []*retailcrm.Order
	var deleted []int64
	for _, id := range ids {
		o, ok := orders[id]
		if !ok {
			if events[id].deleted {
				deleted = append(deleted, id)
				continue
			}
			notes = append(notes, store.Event{Source: store.SourceRetailCRM, SourceID: "order:" + strconv.FormatInt(id, 10),
				OrderID: id, Action: "order.skip", Result: store.ResultSkipped,
				Message: "order not returned by RetailCRM (deleted, or a store outside retailcrm.sites); skipped"})
			continue
		}
		if !e.siteAllowed(o.Site) {
			continue
		}
		list = append(list, o)
	}
	dn, err := e.syncDeleted(ctx, deleted, events)
	if err != nil {
		return err
	}
	return e.syncOrders(ctx, list, events, &cursor, append(notes, dn...))
}

func (e *Engine) siteAllowed(site string) bool {
	if len(e.cfg.RetailCRM.Sites) == 0 {
		return true
	}
	return slices.Contains(e.cfg.RetailCRM.Sites, site)
}

// fetchOrders reads the current full orders, 100 ids a call.
func (e *Engine) fetchOrders(ctx context.Context, ids []int64) (map[int64]*retailcrm.Order, error) {
	out := make(map[int64]*retailcrm.Order, len(ids))
	for i := 0; i < len(ids); i += retailcrm.MaxOrderIDs {
		part := ids[i:min(i+retailcrm.MaxOrderIDs, len(ids))]
		page, err := e.rc.Orders(ctx, retailcrm.OrdersFilter{IDs: part, Limit: retailcrm.MaxOrderIDs})
		if err != nil {
			return nil, fmt.Errorf("reading %d RetailCRM orders: %w", len(part), err)
		}
		for j := range page.Orders {
			o := &page.Orders[j]
			out[o.ID] = o
		}
	}
	return out, nil
}

// syncOrders processes orders in chunks of 50 and commits them (with the
// cursor, when given) in one transaction.
func (e *Engine) syncOrders(ctx context.Context, orders []*retailcrm.Order, events map[int64]*orderEvents, cursor *int64, notes []store.Event) error {
	var save func(tx *store.Tx) error
	if cursor != nil {
		save = func(tx *store.Tx) error { return tx.SetCursorInt(ctx, store.CursorOrdersHistory, *cursor) }
	}
	return e.applyOrders(ctx, orders, events, notes, save)
}

// chunkOrders is how many orders are planned and written together: a
// whole RetailCRM page, so its lookups share one request and its contact,
// deal and rows commands fill the batches' 50 places (docs/architecture.md).
const chunkOrders = 2 * bitrix.PageSize

// applyOrders plans and writes orders in chunks of chunkOrders and commits their
// links, events and failures in one transaction; save, when set, stores the
// caller's position (a cursor) in that same transaction, so a position is
// never ahead of the effects it stands for.
func (e *Engine) applyOrders(ctx context.Context, orders []*retailcrm.Order, events map[int64]*orderEvents, notes []store.Event, save func(tx *store.Tx) error) error {
	if err := e.knowCodes(ctx, orders, events); err != nil {
		return err
	}
	var chunks []*chunkResult
	size := e.chunk
	if size <= 0 {
		size = chunkOrders
	}
	for i := 0; i < len(orders); i += size {
		cr, err := e.processChunk(ctx, orders[i:min(i+size, len(orders))], events)
		if err != nil {
			return err
		}
		chunks = append(chunks, cr)
	}
	if e.beforeCommit != nil {
		if err := e.beforeCommit(e.sum.Pages + 1); err != nil {
			return err
		}
	}
	var alerts []store.Failure
	err := e.store.Tx(ctx, func(tx *store.Tx) error {
		alerts = alerts[:0]
		for _, n := range notes {
			n.RunID = e.runID
			if _, err := tx.AddEvent(ctx, n); err != nil {
				return err
			}
		}
		for _, ch := range chunks {
			parked, err := e.commitChunk(ctx, tx, ch)
			if err != nil {
				return err
			}
			alerts = append(alerts, parked...)
		}
		if save != nil {
			return save(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	for _, ch := range chunks {
		for _, it := range ch.items {
			if it.err != nil {
				e.report.Parked = append(e.report.Parked, ParkedItem{Kind: "order", Key: strconv.FormatInt(it.order.ID, 10),
					OrderID: it.order.ID, Reason: reason(it.err), WaitingForRetry: !it.parked})
				e.sum.countFailure(it.parked)
			}
		}
	}
	if len(alerts) > 0 {
		e.alert(ctx, alerts)
	}
	return nil
}

// reason is a parking reason without the generic "cannot sync order"
// prefix: the text names the order and what is wrong with it.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), errBadOrder.Error()+": ")
}

func (e *Engine) result() store.Result {
	if e.opts.DryRun {
		return store.ResultDryRun
	}
	return store.ResultOK
}

// commitChunk writes a chunk's links, events and failures; it returns the
// failures parked just now (one alert each).
func (e *Engine) commitChunk(ctx context.Context, tx *store.Tx, ch *chunkResult) ([]store.Failure, error) {
	if err := e.putProfiles(ctx, tx, ch.items); err != nil {
		return nil, err
	}
	if err := e.commitCompanies(ctx, tx, ch.items); err != nil {
		return nil, err
	}
	for _, c := range ch.customers {
		if !c.done || c.err != nil || c.contactID == 0 {
			continue
		}
		l := store.CustomerLink{CustomerID: c.state.customerID, ContactID: c.contactID, ContentHash: c.state.hash}
		if len(c.state.emails) > 0 {
			l.Email = c.state.emails[0]
		}
		if len(c.state.phones) > 0 {
			l.Phone = c.state.phones[0]
		}
		if err := tx.PutCustomerLink(ctx, l); err != nil {
			return nil, err
		}
		if c.action != "" {
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM,
				SourceID: "customer:" + strconv.FormatInt(c.state.customerID, 10), Action: c.action, Result: e.result(),
				Message: fmt.Sprintf("contact %d for customer %d", c.contactID, c.state.customerID)}); err != nil {
				return nil, err
			}
		}
	}
	var parked []store.Failure
	for _, it := range ch.items {
		key := strconv.FormatInt(it.order.ID, 10)
		if it.err != nil {
			fr := store.FailureReport{Kind: "order", Key: key, Error: reason(it.err), MaxAttempts: e.opts.MaxAttempts}
			if it.dealGone || it.recreate {
				// Parked at once: only crmsync retry lets a new deal be made
				// (a failed re-creation keeps that permission).
				fr.Payload = dealDeletedPayload
				if it.dealGone {
					fr.MaxAttempts = 1
				}
			}
			f, now, err := tx.RecordFailure(ctx, fr)
			if err != nil {
				return nil, err
			}
			it.parked = f.Parked
			if now {
				parked = append(parked, f)
			}
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM, SourceID: "order:" + key,
				OrderID: it.order.ID, Action: "parked", Result: store.ResultFailed, Message: reason(it.err)}); err != nil {
				return nil, err
			}
			// A deal written before a later step failed stays linked.
			if !it.dealDone || it.dealID == 0 {
				continue
			}
		}
		if it.dealID != 0 && it.dealDone {
			hash := it.deal.hash
			if it.err != nil {
				hash = "" // comments still owed: plan it again next time
			}
			rowsHash := ""
			if it.link != nil && it.link.EntityType == store.EntityType(e.mapper.entity()) && it.link.EntityID == it.dealID {
				rowsHash = it.link.RowsHash
			}
			if it.rowsDone && it.deal.rows != nil {
				rowsHash = it.deal.rows.hash
			}
			if err := tx.PutOrderLink(ctx, store.OrderLink{OrderID: it.order.ID, Site: it.order.Site, Number: it.order.Number,
				EntityType: store.EntityType(e.mapper.entity()), EntityID: it.dealID, ContactID: it.contactLinked,
				CustomerID: it.cust.state.customerID, ContentHash: hash, StatusGroup: e.mapper.groups[it.order.Status],
				RowsHash: rowsHash}); err != nil {
				return nil, err
			}
			if it.stageSet != "" {
				if err := tx.AddLedger(ctx, store.LedgerEntry{Side: store.SideBitrix, Entity: string(e.mapper.entity()),
					EntityID: it.dealID, Field: "STAGE_ID", Value: it.stageSet}); err != nil {
					return nil, err
				}
			}
		}
		if it.err != nil {
			continue
		}
		if err := tx.ClearFailure(ctx, "order", key); err != nil {
			return nil, err
		}
		if it.action != "" {
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM, SourceID: "order:" + key,
				OrderID: it.order.ID, Action: it.action, Result: e.result(),
				Message: fmt.Sprintf("%s %d for order %s", e.mapper.entity(), it.dealID, orderName(it.order))}); err != nil {
				return nil, err
			}
		}
	}
	return parked, nil
}

// dueIDs lists the failed items of kind (order, customer, corporate) whose
// next attempt is due, and their RetailCRM ids.
func (e *Engine) dueIDs(ctx context.Context, kind string) (due []store.Failure, ids []int64, err error) {
	due, err = e.store.Failures(ctx, store.FailureFilter{Kind: kind, Due: e.now()})
	if err != nil {
		return nil, nil, fmt.Errorf("reading failures: %w", err)
	}
	for _, f := range due {
		if id, err := strconv.ParseInt(f.Key, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return due, ids, nil
}

// retryDue syncs the failed orders whose next attempt is due, before the
// history: their current state is read and planned like any other order.
func (e *Engine) retryDue(ctx context.Context) error {
	due, ids, err := e.dueIDs(ctx, "order")
	if err != nil || len(ids) == 0 {
		return err
	}
	orders, err := e.fetchOrders(ctx, ids)
	if err != nil {
		return err
	}
	var list []*retailcrm.Order
	var notes []store.Event
	for _, id := range ids {
		o, ok := orders[id]
		if !ok {
			notes = append(notes, store.Event{Source: store.SourceCrmsync, SourceID: "order:" + strconv.FormatInt(id, 10),
				OrderID: id, Action: "retry.skip", Result: store.ResultSkipped, Message: "order no longer exists in RetailCRM"})
			continue
		}
		list = append(list, o)
	}
	e.sum.OrdersRetried += len(list)
	e.log.Info("retrying failed orders", "count", len(list))
	e.recreate = recreateRequested(due)
	defer func() { e.recreate = nil }()
	return e.syncOrders(ctx, list, nil, nil, notes)
}

// alert tells alerts.notify_user_ids about items parked just now, one
// message each.
func (e *Engine) alert(ctx context.Context, parked []store.Failure) {
	al := e.alerter()
	if len(al.Users) == 0 {
		return
	}
	msgs := make([]string, len(parked))
	for i, f := range parked {
		// The reason can quote order data (a customer's e-mail or name):
		// escaped, since notifications render BBCode.
		msgs[i] = parkedAlert(e.mapper.txt, f)
		for _, u := range al.Users {
			e.addChange(Change{Op: OpNotify, Entity: "notification", EntityID: u, Text: msgs[i]})
		}
	}
	res, err := al.Notify(ctx, msgs)
	if res != nil {
		e.sum.Alerts += len(res.ByStatus(bitrix.Done))
	}
	if err != nil {
		e.log.Warn("sending parking alerts", "err", err)
	}
}
