// Package config loads and validates crmsync's YAML configuration (SPEC §4).
//
// Scalars come from one *viper.Viper, so a bound flag beats a CRMSYNC_*
// environment variable, which beats the file, which beats the default. The
// mapping and rules sections are data keyed by case-sensitive codes (Bitrix24
// stage ids such as C1:NEW), which viper would fold to lower case, so they are
// decoded from the YAML directly.
package config

import (
	"time"

	"github.com/crmsync/crmsync/sync/rules"
)

// Config is a loaded, validated configuration.
type Config struct {
	// File is the configuration file that was read, or "" when none was found.
	File string
	// Searched lists the places looked at when no --config was given.
	Searched []string

	DB          string
	PhoneRegion string
	RetailCRM   RetailCRM
	Bitrix      Bitrix
	Mapping     Mapping
	Rules       []rules.Rule
	Alerts      Alerts
	Serve       Serve

	// SecretFiles are the files a secret was read from, the configuration
	// file among them when it holds one, so check can warn when others may
	// read them. Credentials systemd passes in $CREDENTIALS_DIRECTORY are not
	// listed: systemd makes them readable by the service alone.
	SecretFiles []SecretFile
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
	Listen         string
	Every          time.Duration
	RetailCRMToken string
	BitrixToken    string
}

// RetailCRM is the retailcrm section.
type RetailCRM struct {
	URL    string
	APIKey string
	Sites  []string
	Rate   float64
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration
}

// Bitrix is the bitrix section.
type Bitrix struct {
	WebhookURL   string
	Rate         float64
	Burst        int
	Timeout      time.Duration // one HTTP attempt
	Entity       string
	CategoryID   int
	OriginatorID string
	AssignedByID int
	CAFile       string
}

// Entity kinds crmsync can create in Bitrix24.
const (
	EntityDeal = "deal"
	EntityLead = "lead"
)

// Mapping is the mapping section. Keys keep their case.
type Mapping struct {
	// Statuses maps a RetailCRM status code, or "group:<code>", to a stage.
	Statuses map[string]string
	// Stages maps a Bitrix24 stage to a RetailCRM status code.
	Stages        map[string]string
	OrderMethods  map[string]string
	DealFields    map[string]string
	ContactFields map[string]string
	// ProfileFields maps a purchase profile value (ProfileKeys) to the
	// contact field that holds it.
	ProfileFields map[string]string
	// RepeatPurchaseField is the deal field set to Y on a customer's second
	// and later orders; "" means IS_RETURN_CUSTOMER.
	RepeatPurchaseField string
}

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
	NotifyUserIDs []int
}

// Defaults, as documented in SPEC §4.
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
	// one request (D:limits).
	DefaultBitrixTimeout = 75 * time.Second
	// MaxTimeout keeps a typo such as "30m" from hanging a scheduled run.
	MaxTimeout = 10 * time.Minute
	// DefaultServeListen keeps serve's endpoints on this machine unless the
	// operator opens them deliberately.
	DefaultServeListen = "127.0.0.1:8080"
	DefaultServeEvery  = 5 * time.Minute
)

// DefaultStatuses is the status mapping used when the file names none.
func DefaultStatuses() map[string]string {
	return map[string]string{
		"new":            "NEW",
		"group:approval": "PREPARATION",
		"group:complete": "WON",
		"group:cancel":   "LOSE",
	}
}

// Secrets returns the values that must never be printed.
func (c *Config) Secrets() []string {
	return []string{c.RetailCRM.APIKey, c.Bitrix.WebhookURL, c.Serve.RetailCRMToken, c.Serve.BitrixToken}
}

// StageFor returns the stage mapped to a RetailCRM status: the exact status
// code first, then its group.
func (m Mapping) StageFor(status, group string) (string, bool) {
	if s, ok := m.Statuses[status]; ok {
		return s, true
	}
	if group != "" {
		if s, ok := m.Statuses["group:"+group]; ok {
			return s, true
		}
	}
	return "", false
}

// StatusForStage returns the RetailCRM status a Bitrix24 stage maps back to:
// mapping.stages first, else the inverse of the exact (non-group) status
// entries when exactly one status maps to that stage. Group entries never map
// back implicitly: a group names many statuses.
func (m Mapping) StatusForStage(stage string) (string, bool) {
	if s, ok := m.Stages[stage]; ok {
		return s, true
	}
	found := ""
	for status, st := range m.Statuses {
		if st != stage || len(status) > 6 && status[:6] == "group:" {
			continue
		}
		if found != "" {
			return "", false // ambiguous
		}
		found = status
	}
	return found, found != ""
}
