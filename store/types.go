package store

import "time"

// Cursor is one named position in a stream.
type Cursor struct {
	Name      string
	Value     string
	UpdatedAt time.Time
}

// Cursor names shared by the commands. Per-deal comment cursors have a
// table of their own (CommentCursors).
const (
	CursorOrdersHistory    = "orders_history"
	CursorCustomersHistory = "customers_history"
	CursorCorporateHistory = "corporate_history"
	CursorStageHistory     = "stagehistory"
	// CursorStageHistorySince is when crmsync began writing to a portal
	// (RFC 3339, crmsync's clock): push's first run starts there when it
	// has no stage cursor (docs/architecture.md, Push).
	CursorStageHistorySince = "stagehistory_since"
	CursorBackfill          = "backfill"
)

// EntityType is the Bitrix24 entity an order is linked to.
type EntityType string

// Entity types an order can be linked to.
const (
	EntityDeal EntityType = "deal"
	EntityLead EntityType = "lead"
)

// OrderLink ties a RetailCRM order to its Bitrix24 deal (or lead).
type OrderLink struct {
	OrderID     int64 // RetailCRM order id
	Site        string
	Number      string
	EntityType  EntityType // "" is stored as EntityDeal
	EntityID    int64      // Bitrix24 deal or lead id
	ContactID   int64      // 0 when none
	CustomerID  int64      // RetailCRM customer id, 0 when none
	ContentHash string     // hash of the last desired state applied
	SyncedAt    time.Time  // zero means now when written
	// StatusGroup is the RetailCRM status group of the order as pull last
	// saw it ("" when unknown): push sweeps the comments of deals whose
	// orders are not in a final group.
	StatusGroup string
	// RowsHash is the hash of the product rows last set on the deal ("":
	// none set yet).
	RowsHash string
}

// CatalogProduct is a cached catalogue lookup: the Bitrix24 product whose
// XML_ID is XMLID in catalogue IBlockID (0: the catalogues the portal
// lists), ProductID 0 when none has it.
type CatalogProduct struct {
	IBlockID  int64
	XMLID     string
	ProductID int64
	CheckedAt time.Time // zero means now when written
}

// CustomerLink ties a RetailCRM customer to its Bitrix24 contact.
type CustomerLink struct {
	CustomerID  int64 // RetailCRM customer id
	ContactID   int64
	Email       string // normalised: trimmed, lower-case
	Phone       string // normalised by the caller (E.164 where known)
	ContentHash string
	SyncedAt    time.Time
}

// LinkCounts is how many links the store holds.
type LinkCounts struct {
	Orders    int64
	Deals     int64 // orders linked to deals
	Leads     int64 // orders linked to leads
	Customers int64
}

// Source is where an event came from.
type Source string

// Event sources.
const (
	SourceRetailCRM Source = "retailcrm"
	SourceBitrix    Source = "bitrix"
	SourceCrmsync   Source = "crmsync"
)

// Result is the outcome of one logged action.
type Result string

// Event results.
const (
	ResultOK       Result = "ok"
	ResultFailed   Result = "failed"
	ResultSkipped  Result = "skipped"
	ResultDryRun   Result = "dry-run"
	ResultConflict Result = "conflict"
)

// Event is one row of the event log.
type Event struct {
	ID       int64
	RunID    int64 // 0 when not part of a run
	Source   Source
	SourceID string // e.g. the history record id
	OrderID  int64  // 0 when not about an order
	Action   string // e.g. deal.add, contact.update, status.push, parked
	Result   Result
	Message  string
	At       time.Time // zero means now when written
}

// EventFilter selects events; zero fields do not filter. Newest first.
type EventFilter struct {
	RunID   int64
	OrderID int64
	Since   time.Time
	Limit   int // 0 means 100
}

// RunResult is a run's state.
type RunResult string

// Run results.
const (
	RunRunning     RunResult = "running"
	RunOK          RunResult = "ok"
	RunPartial     RunResult = "partial" // finished, some items parked
	RunFailed      RunResult = "failed"
	RunInterrupted RunResult = "interrupted"
)

// Run is one execution of a command.
type Run struct {
	ID        int64
	Command   string
	StartedAt time.Time
	EndedAt   time.Time // zero while running (or when the process died)
	Result    RunResult
	Counters  map[string]int64
	PID       int
	Message   string // error of a failed run
}

// Failure is an item that failed and is retried with backoff, or parked.
type Failure struct {
	ID            int64
	Kind          string // order, customer, stage, comment, ...
	Key           string // e.g. the order id as text
	Attempts      int
	LastError     string
	Payload       string // what a retry needs beyond the key, if anything
	FirstFailedAt time.Time
	LastFailedAt  time.Time
	NextAttemptAt time.Time
	Parked        bool // attempts exhausted: waits for retry or skip
	Skipped       bool // acknowledged by an operator: never retried
}

// FailureCounts summarises the failures table for status.
type FailureCounts struct {
	Retrying int64 // waiting for their next attempt
	Parked   int64 // attempts exhausted, waiting for retry or skip
	Skipped  int64 // acknowledged by an operator
}

// FailureReport is one failed attempt, as given to Tx.RecordFailure.
type FailureReport struct {
	Kind    string
	Key     string
	Error   string
	Payload string
	// MaxAttempts parks the item when its attempt count reaches it; 0 or
	// less never parks.
	MaxAttempts int
}

// FailureFilter selects failures. By default every failure not skipped is
// listed, oldest first.
type FailureFilter struct {
	Kind           string    // only this kind
	ParkedOnly     bool      // only parked ones
	Due            time.Time // only unparked ones whose next attempt is at or before Due
	IncludeSkipped bool      // list acknowledged ones too
}

// Side is the system crmsync wrote to.
type Side string

// Sides.
const (
	SideRetailCRM Side = "retailcrm"
	SideBitrix    Side = "bitrix"
)

// LedgerEntry is a value crmsync wrote, kept to recognise its echo.
type LedgerEntry struct {
	ID        int64
	Side      Side
	Entity    string // order, deal, contact, comment
	EntityID  int64
	Field     string
	Value     string
	RemoteID  int64     // e.g. the timeline comment id; 0 when none
	WrittenAt time.Time // zero means now when written
}

// RuleFire records that a business rule's action ran for an event.
type RuleFire struct {
	RuleKey  string
	EventKey string
	Action   string
	ResultID string // e.g. the task id created
	FiredAt  time.Time
}

// PruneResult counts rows removed by Prune.
type PruneResult struct {
	Events int64
	Ledger int64
	Runs   int64
}

// EntityContact names Bitrix24 contacts where an EntityType covers every
// entity crmsync writes (duplicates); orders link only to deals and leads.
const EntityContact EntityType = "contact"

// Duplicate is one group of Bitrix24 entities that carry crmsync's
// ORIGINATOR_ID and the same ORIGIN_ID: the oldest, which crmsync uses, and
// the others, which it leaves alone.
type Duplicate struct {
	EntityType EntityType // deal, lead or contact
	OriginID   int64      // RetailCRM order id (deal, lead) or customer id (contact)
	KeptID     int64      // the lowest id: the one crmsync uses
	Others     []int64    // ascending
	SeenAt     time.Time  // when a lookup last saw them
}

// ProfileContribution is what one RetailCRM order adds to its customer's
// purchase profile (pull's mapping.profile_fields).
type ProfileContribution struct {
	OrderID    int64
	CustomerID int64
	Counted    bool   // false: cancelled or returned, adds nothing
	Amount     string // totalSumm, exact decimal text
	CreatedAt  string // createdAt as RetailCRM gives it, in the account's zone
	Number     string
}

// RunState is what the runs of one command leave for the next run and for
// status.
type RunState struct {
	Command string
	// Backlog is RetailCRM's estimate of the history records still to read
	// when the last run finished (pull, backfill); valid only when
	// BacklogKnown.
	Backlog      int64
	BacklogKnown bool
	// CommentsCompleteAt is the start of the latest run that read the
	// comments of every deal with activity (push); zero when none has.
	CommentsCompleteAt time.Time
	RunID              int64 // the run that last changed the state; 0 when none
}

// RunLeaves is the state a finishing run leaves (Store.FinishRunLeaving).
type RunLeaves struct {
	// Backlog, when set, replaces the command's backlog.
	Backlog *int64
	// CommentsComplete: the run read the comments of every deal with
	// activity; its start becomes the command's CommentsCompleteAt.
	CommentsComplete bool
}
