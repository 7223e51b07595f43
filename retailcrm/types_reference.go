package retailcrm

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Status is an order status (reference/statuses). Group is its status
// group code, the usual key for stage mapping.
type Status struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	Active   bool   `json:"active"`
	Ordering int    `json:"ordering"`
	Group    string `json:"group"`
}

// ProductStatus is an order line status (reference/product-statuses).
// CancelStatus marks statuses that take the line out of the order, such as
// returned. Codes may be empty strings.
type ProductStatus struct {
	Name         string `json:"name"`
	Code         string `json:"code"`
	Active       bool   `json:"active"`
	Ordering     int    `json:"ordering"`
	CancelStatus bool   `json:"cancelStatus"`
}

// StatusGroup is a group of order statuses (reference/status-groups).
type StatusGroup struct {
	Name     string   `json:"name"`
	Code     string   `json:"code"`
	Active   bool     `json:"active"`
	Ordering int      `json:"ordering"`
	Process  bool     `json:"process"`
	Statuses []string `json:"statuses"`
}

// OrderType is a kind of order, such as retail or wholesale
// (reference/order-types).
type OrderType struct {
	Name          string `json:"name"`
	Code          string `json:"code"`
	Active        bool   `json:"active"`
	Ordering      int    `json:"ordering"`
	DefaultForCRM bool   `json:"defaultForCrm"`
	DefaultForAPI bool   `json:"defaultForApi"`
}

// PaymentStatus is a payment status (reference/payment-statuses).
// PaymentComplete marks the statuses in which a payment counts as paid.
type PaymentStatus struct {
	Name            string   `json:"name"`
	Code            string   `json:"code"`
	Active          bool     `json:"active"`
	Ordering        int      `json:"ordering"`
	PaymentComplete bool     `json:"paymentComplete"`
	PaymentTypes    []string `json:"paymentTypes,omitempty"`
}

// OrderMethod is a way orders come in (reference/order-methods).
type OrderMethod struct {
	Name          string `json:"name"`
	Code          string `json:"code"`
	Active        bool   `json:"active"`
	DefaultForCRM bool   `json:"defaultForCrm"`
	DefaultForAPI bool   `json:"defaultForApi"`
}

// DeliveryType is a delivery type (reference/delivery-types).
type DeliveryType struct {
	Name         string          `json:"name"`
	Code         string          `json:"code"`
	Active       bool            `json:"active"`
	DefaultCost  decimal.Decimal `json:"defaultCost"`
	PaymentTypes []string        `json:"paymentTypes,omitempty"`
	Sites        []string        `json:"sites,omitempty"`
}

// PaymentType is a payment type (reference/payment-types).
type PaymentType struct {
	Name            string   `json:"name"`
	Code            string   `json:"code"`
	Active          bool     `json:"active"`
	DeliveryTypes   []string `json:"deliveryTypes,omitempty"`
	PaymentStatuses []string `json:"paymentStatuses,omitempty"`
	Sites           []string `json:"sites,omitempty"`
}

// Site is a store of the account (reference/sites).
type Site struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	URL           string `json:"url"`
	Code          string `json:"code"`
	Currency      string `json:"currency,omitempty"`
	CountryISO    string `json:"countryIso,omitempty"`
	DefaultForCRM bool   `json:"defaultForCrm"`
}

// Credentials describes what the API key may do (GET /api/credentials).
type Credentials struct {
	Scopes         []string `json:"scopes"`
	SiteAccess     string   `json:"siteAccess"`
	SitesAvailable []string `json:"sitesAvailable"`
}

// Site access modes.
const (
	SiteAccessFull      = "access_full"
	SiteAccessSelective = "access_selective"
)

// HasScope reports whether the key has the named scope (e.g. "order_write").
func (c *Credentials) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// MissingScopes returns the scopes of want the key lacks, in order.
func (c *Credentials) MissingScopes(want ...string) []string {
	var out []string
	for _, w := range want {
		if !c.HasScope(w) {
			out = append(out, w)
		}
	}
	return out
}

// Settings are the account settings crmsync reads (GET /api/v5/settings).
type Settings struct {
	// Timezone is the IANA name of the account's zone ("Europe/Moscow").
	Timezone string
	// DefaultCurrency is the account's currency code ("RUB").
	DefaultCurrency string
}

// Location loads the account's time zone, used to read every API date.
func (s *Settings) Location() (*time.Location, error) {
	if s.Timezone == "" {
		return nil, ErrNoLocation
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil, fmt.Errorf("retailcrm: account time zone %q: %w", s.Timezone, err)
	}
	return loc, nil
}
