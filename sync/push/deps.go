package push

import (
	"context"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

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
