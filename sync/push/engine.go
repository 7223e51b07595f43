package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/runs"
	"github.com/crmsync/crmsync/sync/texts"
)

// Command is the run name push records in the runs table.
const Command = "push"

// DefaultMaxAttempts is how many times an item failing with a transient
// error (5xx, an answer lost on the way) is tried before it is parked.
const DefaultMaxAttempts = 5

// Options configure one run.
type Options struct {
	// DryRun plans and reports without writing to RetailCRM. The engine's
	// store should then be a scratch copy, so nothing reaches the file.
	DryRun bool
	// MaxItems stops the run after this many items: stage-history rows read
	// plus deals scanned for comments (0: no limit).
	MaxItems int
	// MaxDuration stops starting new pages and batches after this long.
	MaxDuration time.Duration
	// Stop, once closed, stops the run before its next page or batch, the
	// one in progress finished (crmsync serve on SIGTERM); nil: never.
	Stop <-chan struct{}
	// MaxAttempts parks an item after this many transient failures
	// (0: DefaultMaxAttempts). Validation errors park at once.
	MaxAttempts int
	// PID is recorded with the run.
	PID int
}

// RetailCRM is what push needs of the RetailCRM client (*retailcrm.Client
// satisfies it).
type RetailCRM interface {
	// OrdersByID reads the current orders, 100 ids per request.
	OrdersByID(ctx context.Context, ids []int64) ([]retailcrm.Order, error)
	// EditOrder writes the patch to the order (by=id, site).
	EditOrder(ctx context.Context, id int64, site string, patch retailcrm.OrderPatch) (*retailcrm.EditResult, error)
	// Settings reads the account time zone.
	Settings(ctx context.Context) (*retailcrm.Settings, error)
	// Statuses reads the status reference (code → group).
	Statuses(ctx context.Context) (map[string]retailcrm.Status, error)
}

// Bitrix is what push needs of the Bitrix24 client (*bitrix.Client
// satisfies it).
type Bitrix interface {
	StageHistoryList(ctx context.Context, entityTypeID int, req bitrix.ListRequest) (*bitrix.StageHistoryPage, error)
	Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error)
}

// Deps are the engine's dependencies.
type Deps struct {
	RetailCRM RetailCRM
	Bitrix    Bitrix
	// Store is the database; a dry run passes a scratch copy
	// (store.Options{Scratch: true}).
	Store *store.Store
	// Mapping maps stages to statuses (Mapping.StatusForStage) and statuses
	// to stages (Mapping.StageFor, to see that an order already agrees).
	Mapping config.Mapping
	// CategoryID (bitrix.category_id) and Funnels (funnels) say which
	// mapping serves a stage: that of the funnel the stage belongs to
	// (config.Config.FunnelOfCategory), the top-level Mapping by default.
	CategoryID int
	Funnels    []config.Funnel
	// Entity is config.EntityDeal (default) or config.EntityLead.
	Entity string
	// Originator is bitrix.originator_id; deals with recent activity are
	// looked up by it.
	Originator string
	// WebhookUserID is the Bitrix24 user the webhook acts as
	// (bitrix.ParseWebhook gives it as Webhook.UserID). Comments crmsync writes carry it as their author, so
	// comments by that user are never carried back, even after a lost
	// database took the ledger (where pull records each comment's text and
	// id) with it; and deals whose last activity is that user's are not
	// listed as active (docs/architecture.md, Push). 0 relies on the ledger
	// alone and lists every active deal.
	WebhookUserID int64
	// NotifyUserIDs (alerts.notify_user_ids) are told, once, about each
	// item a run parks, and about a run failing outright (once per kind
	// of failure and day).
	NotifyUserIDs []int64
	// Locale (the configuration's locale:) words the alerts and the lines
	// push adds to an order's manager comment; "" is the default (ru).
	Locale string
	// Logger receives progress and warnings; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Engine pushes Bitrix24 stage moves and comments to RetailCRM.
type Engine struct {
	deps         Deps
	st           *store.Store
	log          *slog.Logger
	now          func() time.Time
	et           store.EntityType
	entityTypeID int
	timeline     string
	ledgerEntity string
	txt          *texts.Catalog
}

// New checks the dependencies and returns an engine.
func New(d Deps) (*Engine, error) {
	if d.RetailCRM == nil || d.Bitrix == nil || d.Store == nil {
		return nil, errors.New("push: RetailCRM, Bitrix and Store are required")
	}
	e := &Engine{deps: d, st: d.Store, log: d.Logger, now: d.Now}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.now == nil {
		e.now = time.Now
	}
	locale, ok := texts.Parse(d.Locale)
	if !ok {
		return nil, fmt.Errorf("push: locale %q is not ru or en", d.Locale)
	}
	e.txt = texts.For(locale)
	switch d.Entity {
	case "", config.EntityDeal:
		e.et, e.entityTypeID, e.timeline, e.ledgerEntity = store.EntityDeal, bitrix.EntityTypeDeal, bitrix.TimelineDeal, "deal"
	case config.EntityLead:
		e.et, e.entityTypeID, e.timeline, e.ledgerEntity = store.EntityLead, bitrix.EntityTypeLead, bitrix.TimelineLead, "lead"
	default:
		return nil, fmt.Errorf("push: bitrix.entity %q is not deal or lead", d.Entity)
	}
	return e, nil
}

// run is the state of one Run.
type run struct {
	*Engine
	opts     Options
	gate     gate
	rep      *Report
	runID    int64
	count    *runs.Counter   // this run's requests
	rc       *runs.RetailCRM // Deps.RetailCRM, counted
	bx       *runs.Bitrix    // Deps.Bitrix, counted
	start    time.Time
	deadline time.Time
	items    int

	loc      *time.Location
	locErr   error
	locDone  bool
	groups   map[string]string
	groupErr error

	// since, when set, bounds a first push's stage-history walk by
	// CREATED_TIME (firstStart).
	since time.Time

	unmapped  map[string]int
	seenDeals map[int64]bool
	retrying  map[string]bool // kind:orderID of failures retried this run

	newlyParked []ParkedItem // parked by this run: one alert each
	prevRun     time.Time    // start of the last push run that scanned every active deal; zero if none
	// activityMark is the portal's time of this run's first listing of
	// active deals (zero when not listed): the next run's window starts
	// there once this run read every active deal.
	activityMark time.Time
	// activityPartial: a listing of the deals with activity failed, so
	// the next run's window must not move past it.
	activityPartial bool
}

// Run performs one push run and returns its report. The report is filled
// as far as the run got even when an error is returned. A run that parked
// items returns no error: check Report.Parked. A run that failed outright
// (not a dry run, not interrupted) tells Deps.NotifyUserIDs, once per kind
// of failure and day.
func (e *Engine) Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	count := &runs.Counter{}
	r := &run{Engine: e, opts: opts, rep: &Report{Envelope: runs.NewEnvelope(opts.DryRun)},
		count: count, rc: count.RetailCRM(e.deps.RetailCRM), bx: count.Bitrix(e.deps.Bitrix),
		start: e.now(), unmapped: map[string]int{}, seenDeals: map[int64]bool{}, retrying: map[string]bool{}}
	err := r.record(ctx)
	if err != nil && !opts.DryRun && runs.OutcomeOf(ctx, err, 0).Result == store.RunFailed {
		// Straight to the client: the run's counters are recorded already.
		al := runs.Alerter{Users: e.deps.NotifyUserIDs, Send: e.deps.Bitrix.Batch, Store: e.st, Log: e.log, Texts: e.txt}
		al.RunFailed(context.WithoutCancel(ctx), Command, err, e.now())
	}
	return r.rep, err
}

// record runs the push as one recorded run (runs.Start, Finish).
func (r *run) record(ctx context.Context) error {
	e, opts := r.Engine, r.opts
	r.gate = liveGate{rc: r.rc}
	if opts.DryRun {
		r.gate = dryGate{}
	}
	if opts.MaxDuration > 0 {
		r.deadline = r.start.Add(opts.MaxDuration)
	}
	var err error
	if r.prevRun, err = e.lastCompleteRun(ctx); err != nil {
		return err
	}
	rec, err := runs.Start(ctx, e.st, Command, opts.PID, r.start)
	if err != nil {
		return err
	}
	r.runID = rec.ID
	err = r.run(ctx)
	r.rep.Summary.RetailCRMRequests = r.count.Requests(runs.APIRetailCRM)
	r.rep.Summary.BitrixRequests = r.count.Requests(runs.APIBitrix)
	// Every item the run parked makes it partial (exit 3), as in pull: those
	// waiting for a retry as well as those out of attempts.
	out := runs.OutcomeOf(ctx, err, r.rep.Summary.Parked+r.rep.Summary.Failed)
	// Only a finished run's complete comment scan moves the start of the
	// next run's activity window.
	leaves := store.RunLeaves{CommentsComplete: r.rep.Summary.CommentsComplete && out.Finished()}
	ferr := rec.Finish(ctx, out, r.rep.Counters(), leaves)
	if ferr == nil && leaves.CommentsComplete && !r.activityMark.IsZero() {
		ferr = e.st.Tx(ctx, func(tx *store.Tx) error {
			return tx.SetCursor(ctx, activityCursor(e.et), r.activityMark.Format(time.RFC3339))
		})
	}
	if ferr != nil && err == nil {
		err = ferr
	}
	e.log.Debug("push finished", "dry_run", opts.DryRun, "summary", r.rep.Summary.Line())
	return err
}

// lastCompleteRun is the start of the latest push run that scanned every
// deal with activity for comments (not stopped by an error or a limit):
// activity since then is what the next run scans.
func (e *Engine) lastCompleteRun(ctx context.Context) (time.Time, error) {
	st, err := e.st.RunState(ctx, Command)
	if err != nil {
		return time.Time{}, err
	}
	return st.CommentsCompleteAt, nil
}

func (r *run) run(ctx context.Context) error {
	stageRetry, commentRetry, err := r.dueFailures(ctx)
	if err != nil {
		return err
	}
	err = r.pushStages(ctx, stageRetry)
	if err == nil {
		err = r.pushComments(ctx, commentRetry)
	}
	if aerr := r.alert(context.WithoutCancel(ctx)); aerr != nil && err == nil {
		err = aerr
	}
	return err
}

// stopped reports whether a run limit has been reached, noting which.
func (r *run) stopped() bool {
	switch {
	case r.opts.MaxItems > 0 && r.items >= r.opts.MaxItems:
		r.rep.Summary.Stopped = "max-items"
	case !r.deadline.IsZero() && !r.now().Before(r.deadline):
		r.rep.Summary.Stopped = "max-duration"
	case runs.Stopped(r.opts.Stop):
		r.rep.Summary.Stopped = "stop"
	default:
		return false
	}
	return true
}

// budget is how many more items the run may take (a large number when
// there is no limit).
func (r *run) budget() int {
	if r.opts.MaxItems <= 0 {
		return 1 << 30
	}
	return max(r.opts.MaxItems-r.items, 0)
}

// location is the RetailCRM account's time zone, read once per run.
func (r *run) location(ctx context.Context) (*time.Location, error) {
	if !r.locDone {
		r.locDone = true
		s, err := r.rc.Settings(ctx)
		if err == nil {
			r.loc, err = s.Location()
		}
		if err != nil {
			r.locErr = fmt.Errorf("reading the RetailCRM account time zone: %w", err)
			r.log.Warn("cannot time order status changes; conflicts keep the order's status", "err", r.locErr)
		}
	}
	return r.loc, r.locErr
}

// statusGroup returns the group of a RetailCRM status ("" when unknown);
// the status reference is read once per run, and only when the mapping has
// group entries.
func (r *run) statusGroup(ctx context.Context, status string) string {
	if r.groups == nil && r.groupErr == nil {
		ref, err := r.rc.Statuses(ctx)
		if err != nil {
			r.groupErr = err
			r.log.Warn("reading RetailCRM statuses; group mappings are not applied this run", "err", err)
			return ""
		}
		r.groups = make(map[string]string, len(ref))
		for code, s := range ref {
			r.groups[code] = s.Group
		}
	}
	return r.groups[status]
}

// funnelOf is the funnel whose mapping serves a stage of a deal of an
// order of store site: the one the stage belongs to (docs/configuration.md,
// "Several stores, several funnels").
func (r *run) funnelOf(site, stage string) config.Funnel {
	c := config.Config{Bitrix: config.Bitrix{CategoryID: r.deps.CategoryID}, Mapping: r.deps.Mapping, Funnels: r.deps.Funnels}
	if r.et == store.EntityLead {
		return c.DefaultFunnel()
	}
	return c.FunnelOfCategory(site, config.StageCategory(stage))
}

// hasGroupMappings reports whether a statuses map has group: entries.
func hasGroupMappings(statuses map[string]string) bool {
	for k := range statuses {
		if len(k) > 6 && k[:6] == "group:" {
			return true
		}
	}
	return false
}

// agrees reports whether the order's status already maps to the stage, so
// nothing needs writing (e.g. "complete-paid" in group complete and WON).
func (r *run) agrees(ctx context.Context, site, status, stage string) bool {
	f := r.funnelOf(site, stage)
	group := ""
	if hasGroupMappings(f.Statuses) {
		group = r.statusGroup(ctx, status)
	}
	s, ok := f.StageFor(status, group)
	return ok && s == stage
}

// isPermanent reports an answer about one order (not about the account
// or the connection): the item is parked at once.
func isPermanent(err error) bool { return retailcrm.Classify(err) == retailcrm.ClassPermanent }

// isTransient reports an answer that may differ on a later try; the item
// is retried with backoff. Other errors stop the run. A lost or late
// answer leaves an edit's outcome unknown: the next try re-reads the order
// first, so nothing is applied twice.
func isTransient(err error) bool { return retailcrm.Classify(err) == retailcrm.ClassTransient }
