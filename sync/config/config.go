// Package config loads and validates crmsync's YAML configuration
// (docs/configuration.md).
//
// Config is the schema: every key is a field with a yaml tag, and the key
// list, the environment variable names (CRMSYNC_ + the upper-cased path), the
// secrets (secret:"true") and the type each key must have all come from
// walking it (fields). A value is layered defaults -> file -> environment ->
// flags: the file is parsed once into a yaml.Node, which gives the values and
// the line numbers, and the environment and the flags bound to a
// *viper.Viper come on top. The mapping and rules sections are data keyed by
// case-sensitive codes (Bitrix24 stage ids such as C1:NEW), so they are read
// from the file alone and their keys keep their case.
package config

import (
	"strconv"
	"time"

	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/texts"
)

// Config is a loaded, validated configuration, and the schema of the file:
// each field with a yaml tag is a key (a struct is a section), yaml:"-"
// marks what is not read from the file. Tags:
//
//	secret:"true"  the value is a secret: never printed, and it may come from
//	               the file named by the key + "_file" or from a systemd
//	               credential instead (secrets.go)
//	fold:"upper"   the value is upper-cased ("lower": lower-cased)
//
// Defaults are in defaults(); docs/configuration.md lists every key with
// its default (TestDocListsEveryKey).
type Config struct {
	// File is the configuration file that was read, or "" when none was found.
	File string `yaml:"-"`
	// Searched lists the places looked at when no --config was given.
	Searched []string `yaml:"-"`

	DB          string `yaml:"db"`
	PhoneRegion string `yaml:"phone_region" fold:"upper"`
	// Locale is the language of every text crmsync writes (texts.Locale):
	// ru (the default) or en.
	Locale string `yaml:"locale" fold:"lower"`
	// LogFormat and LogLevel are checked where the logger is built, as
	// the --log-format and --log-level flags that override them.
	LogFormat string    `yaml:"log_format"`
	LogLevel  string    `yaml:"log_level"`
	RetailCRM RetailCRM `yaml:"retailcrm"`
	Bitrix    Bitrix    `yaml:"bitrix"`
	Mapping   Mapping   `yaml:"mapping"`
	// Funnels sends the orders of some stores (order types, methods) to
	// other deal funnels, each with its own status mapping; the first
	// match wins and the top level is the default (FunnelFor).
	Funnels []Funnel     `yaml:"funnels"`
	Rules   []rules.Rule `yaml:"rules"`
	Alerts  Alerts       `yaml:"alerts"`
	Serve   Serve        `yaml:"serve"`

	// SecretFiles are the files a secret was read from, the configuration
	// file among them when it holds one, so check can warn when others may
	// read them. Credentials systemd passes in $CREDENTIALS_DIRECTORY are not
	// listed: systemd makes them readable by the service alone.
	SecretFiles []SecretFile `yaml:"-"`
}

// SecretFile is one file that holds a secret.
type SecretFile struct {
	Path string
	// Key names what the file holds: a *_file key, or the secret keys of
	// the configuration file.
	Key string
}

// Serve is the serve section: crmsync serve's listener and schedule, and
// the tokens its wake-up endpoints check.
type Serve struct {
	Listen         string        `yaml:"listen"`
	Every          time.Duration `yaml:"every"`
	RetailCRMToken string        `yaml:"retailcrm_token" secret:"true"`
	BitrixToken    string        `yaml:"bitrix_token" secret:"true"`
	// PublicURL is where RetailCRM and Bitrix24 reach serve from outside
	// (the reverse proxy or Ingress in front of serve.listen): check builds
	// the URLs to register from it.
	PublicURL string `yaml:"public_url"`
}

// RetailCRM is the retailcrm section.
type RetailCRM struct {
	URL    string   `yaml:"url"`
	APIKey string   `yaml:"api_key" secret:"true"`
	Sites  []string `yaml:"sites"`
	Rate   float64  `yaml:"rate"`
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration `yaml:"timeout"`
}

// Bitrix is the bitrix section.
type Bitrix struct {
	WebhookURL   string        `yaml:"webhook_url" secret:"true"`
	Rate         float64       `yaml:"rate"`
	Burst        int           `yaml:"burst"`
	Timeout      time.Duration `yaml:"timeout"` // one HTTP attempt
	Entity       string        `yaml:"entity" fold:"lower"`
	CategoryID   int           `yaml:"category_id"`
	OriginatorID string        `yaml:"originator_id"`
	AssignedByID int           `yaml:"assigned_by_id"`
	CAFile       string        `yaml:"ca_file"`
	// Companies turns on Bitrix24 companies for corporate customers and
	// orders with a legal buyer (docs/configuration.md).
	Companies bool `yaml:"companies"`
}

// Entity kinds crmsync can create in Bitrix24.
const (
	EntityDeal = "deal"
	EntityLead = "lead"
)

// Mapping is the mapping section. Keys keep their case.
type Mapping struct {
	// Statuses maps a RetailCRM status code, or "group:<code>", to a stage.
	Statuses map[string]string `yaml:"statuses"`
	// Stages maps a Bitrix24 stage to a RetailCRM status code.
	Stages        map[string]string `yaml:"stages"`
	OrderMethods  map[string]string `yaml:"order_methods"`
	DealFields    map[string]string `yaml:"deal_fields"`
	ContactFields map[string]string `yaml:"contact_fields"`
	// DealTitle is the deal's title, a rule-text template over the order
	// (docs/rules.md); "" is the locale's default (Заказ №{{.Number}}).
	DealTitle string `yaml:"deal_title"`
	// ProfileFields maps a purchase profile value (ProfileKeys) to the
	// contact field that holds it.
	ProfileFields map[string]string `yaml:"profile_fields"`
	// RepeatPurchaseField is the deal field set to Y on a customer's second
	// and later orders; "" means IS_RETURN_CUSTOMER.
	RepeatPurchaseField string `yaml:"repeat_purchase_field"`

	// Products says how product rows find catalogue products.
	Products Products `yaml:"products"`
	// Values translates mapped values per target field: field → {value the
	// order gives → value Bitrix24 stores} (a list field stores item ids).
	Values map[string]map[string]string `yaml:"values"`
	// PaidField is a deal field set to Y while the order is fully paid and
	// N otherwise; "" sets none.
	PaidField string `yaml:"paid_field"`
	// Managers maps a RetailCRM user id to the Bitrix24 user id who is
	// responsible for its orders' deals; it wins over matching by e-mail.
	Managers map[string]string `yaml:"managers"`
	// DeletedStage is the stage of the deals of orders deleted in
	// RetailCRM; "" means the stage of group:cancel (DeletedStageOr).
	DeletedStage string `yaml:"deleted_stage"`
}

// ManagerFor returns the Bitrix24 user mapping.managers names for a
// RetailCRM user (validated: both are positive ids).
func (m Mapping) ManagerFor(retailcrmUser int64) (int64, bool) {
	v, ok := m.Managers[strconv.FormatInt(retailcrmUser, 10)]
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil && id > 0
}

// DeletedStageOr is the stage for deals of deleted orders: deleted_stage,
// else the stage of group:cancel, else "" (no stage to move to).
func (m Mapping) DeletedStageOr() string {
	if m.DeletedStage != "" {
		return m.DeletedStage
	}
	s, _ := m.StageFor("", "cancel")
	return s
}

// Products is mapping.products: how an order line's row finds its
// catalogue product (docs/configuration.md, "Product rows").
type Products struct {
	// Match is ProductsMatchNone (free-text rows) or
	// ProductsMatchExternalID (the product whose XML_ID is the offer's
	// externalId).
	Match string `yaml:"match" fold:"lower"`
	// IBlockID is the catalogue searched; 0 finds the catalogues with
	// catalog.catalog.list, which only an administrator's webhook may call.
	IBlockID int `yaml:"iblock_id"`
}

// mapping.products.match values.
const (
	ProductsMatchNone       = "none"
	ProductsMatchExternalID = "external_id"
)

// Purchase profile values a contact can carry (mapping.profile_fields).
const (
	ProfileOrdersCount     = "orders_count"
	ProfileTotalSpent      = "total_spent"
	ProfileFirstOrderDate  = "first_order_date"
	ProfileLastOrderDate   = "last_order_date"
	ProfileLastOrderNumber = "last_order_number"
)

// ProfileKeys lists the keys mapping.profile_fields accepts.
func ProfileKeys() []string {
	return []string{ProfileOrdersCount, ProfileTotalSpent, ProfileFirstOrderDate, ProfileLastOrderDate, ProfileLastOrderNumber}
}

// Alerts is the alerts section.
type Alerts struct {
	NotifyUserIDs []int `yaml:"notify_user_ids"`
}

// Defaults, as documented in docs/configuration.md.
const (
	DefaultDB            = "./crmsync.db"
	DefaultRetailCRMRate = 8.0
	DefaultBitrixRate    = 2.0
	DefaultBitrixBurst   = 50
	DefaultOriginatorID  = "retailcrm"
	DefaultPhoneRegion   = "RU"
	// DefaultRetailCRMTimeout bounds one RetailCRM call.
	DefaultRetailCRMTimeout = 30 * time.Second
	// DefaultBitrixTimeout is a little above the 60 s a cloud portal allows
	// one request (b24restdocs:limits.md).
	DefaultBitrixTimeout = 75 * time.Second
	// MaxTimeout keeps a typo such as "30m" from hanging a scheduled run.
	MaxTimeout = 10 * time.Minute
	// DefaultServeListen keeps serve's endpoints on this machine unless the
	// operator opens them deliberately.
	DefaultServeListen = "127.0.0.1:8080"
	DefaultServeEvery  = 5 * time.Minute
	DefaultLogFormat   = "text"
	DefaultLogLevel    = "info"
)

// defaults is the configuration before any file, environment variable or
// flag is read; a key not set here defaults to its zero value.
func defaults() *Config {
	return &Config{
		DB:          DefaultDB,
		PhoneRegion: DefaultPhoneRegion,
		Locale:      string(texts.Default),
		LogFormat:   DefaultLogFormat,
		LogLevel:    DefaultLogLevel,
		RetailCRM:   RetailCRM{Rate: DefaultRetailCRMRate, Timeout: DefaultRetailCRMTimeout},
		Bitrix: Bitrix{Rate: DefaultBitrixRate, Burst: DefaultBitrixBurst, Timeout: DefaultBitrixTimeout,
			Entity: EntityDeal, OriginatorID: DefaultOriginatorID, Companies: true},
		Mapping: Mapping{Statuses: DefaultStatuses(), Products: Products{Match: ProductsMatchNone}},
		Serve:   Serve{Listen: DefaultServeListen, Every: DefaultServeEvery},
	}
}

// DefaultStatuses is the status mapping used when the file names none.
func DefaultStatuses() map[string]string {
	return map[string]string{
		"new":            "NEW",
		"group:approval": "PREPARATION",
		"group:complete": "WON",
		"group:cancel":   "LOSE",
	}
}

// Secrets returns the values that must never be printed: those of the keys
// tagged secret:"true".
func (c *Config) Secrets() []string {
	var out []string
	for _, f := range fields() {
		if f.secret {
			out = append(out, *f.stringIn(c))
		}
	}
	return out
}

// StageFor returns the stage mapped to a RetailCRM status: the exact status
// code first, then its group.
func (m Mapping) StageFor(status, group string) (string, bool) {
	return stageFor(m.Statuses, status, group)
}

// StatusForStage returns the RetailCRM status a Bitrix24 stage maps back to:
// mapping.stages first, else the inverse of the exact (non-group) status
// entries when exactly one status maps to that stage. Group entries never map
// back implicitly: a group names many statuses.
func (m Mapping) StatusForStage(stage string) (string, bool) {
	return statusForStage(m.Statuses, m.Stages, stage)
}
