package retailcrmtest

import (
	"net/http"
	"time"
)

// Defaults of a Server.
const (
	DefaultAPIKey   = "fake-retailcrm-key-0123456789"
	DefaultTimezone = "Europe/Moscow"
	DefaultSite     = "shop"
	// DefaultUserID is the manager behind UpdateOrder's history records.
	DefaultUserID = 19
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Middleware, when set, wraps the fake's HTTP handler (a benchmark
	// times the requests in flight without a proxy's extra hop).
	Middleware func(http.Handler) http.Handler
	// APIKey is the key requests must send in X-API-KEY.
	APIKey string
	// ExtraKeys are also accepted; history made with them shows
	// apiKey.current false to APIKey (another integration's key).
	ExtraKeys []string
	// Timezone is the account zone (settings.timezone), an IANA name.
	Timezone string
	// Sites are the store codes; default one store, DefaultSite.
	Sites []string
	// Scopes of the key; default order_read, order_write, customer_read,
	// customer_write, reference_read, user_read.
	Scopes []string
	// Seed makes probabilistic faults repeatable.
	Seed uint64
	// RPS, when > 0, answers 503 to requests above that rate (burst RPS),
	// measured on the Now clock.
	RPS float64
	// Now is the fake's clock: history createdAt and the RPS limit; default
	// time.Now.
	Now func() time.Time
	// UserID is the manager id on records written by UpdateOrder.
	UserID int64
	// OrderDates is how GET /orders reads filter[createdAtFrom] and
	// filter[createdAtTo]; the documentation leaves it open, so tests run
	// each reading.
	OrderDates DateReading
	// CreatedOn is the field of the history record that carries
	// created: true when an order is created; default "status" (as in the
	// documented sample). Another field ("order_method", "customer") puts
	// the flag on a record of that field, after a status record without it:
	// nothing documented says the flag sits on the status record.
	CreatedOn string
	// Trigger, when set, is called after every change to an order, as a
	// RetailCRM trigger with an HTTP action would (trigger.go, SetTrigger).
	Trigger *Trigger
}

// DateReading is one way the service may read the createdAt filters of the
// order list. Every reading rejects values that are neither "Y-m-d" nor
// "Y-m-d H:i:s" with 400.
type DateReading int

const (
	// DatesWholeDay takes "Y-m-d" or "Y-m-d H:i:s"; a date as an upper
	// bound covers its whole day.
	DatesWholeDay DateReading = iota
	// DatesMidnight takes both forms; a date is that day's 00:00:00, so as
	// an upper bound it excludes the rest of the day.
	DatesMidnight
	// DatesOnly takes "Y-m-d" only (a date-time is 400); an upper bound
	// covers its whole day.
	DatesOnly
)

func (o Options) withDefaults() Options {
	if o.APIKey == "" {
		o.APIKey = DefaultAPIKey
	}
	if o.Timezone == "" {
		o.Timezone = DefaultTimezone
	}
	if len(o.Sites) == 0 {
		o.Sites = []string{DefaultSite}
	}
	if o.Scopes == nil {
		o.Scopes = []string{"order_read", "order_write", "customer_read", "customer_write", "reference_read", "user_read"}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserID == 0 {
		o.UserID = DefaultUserID
	}
	return o
}
