package config

import (
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/texts"
)

var (
	// Stage ids: NEW, WON, UC_A1B2C3 in the default funnel; C1:NEW in funnel 1.
	stagePattern = regexp.MustCompile(`^(C(\d+):)?[A-Z0-9_]+$`)
	// Bitrix24 field names: TITLE, COMMENTS, UF_CRM_DELIVERY.
	fieldPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	// Order paths: delivery.code, customFields.nps, customer.phones.0.number.
	orderPathPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
	// Source ids: WEB, CALL, UC_X1, 1.
	sourcePattern = regexp.MustCompile(`^[A-Za-z0-9_|]+$`)
)

func validate(c *Config, p *Errors) {
	if !p.has("db") && strings.TrimSpace(c.DB) == "" {
		p.add("db", "must not be empty")
	}
	if c.PhoneRegion != "" && phonenumbers.GetCountryCodeForRegion(c.PhoneRegion) == 0 {
		p.add("phone_region", "unknown region; use a two-letter ISO code such as RU, KZ, DE")
	}
	if _, ok := texts.Parse(c.Locale); !ok {
		p.add("locale", "must be ru or en")
	}
	if !ValidLogLevel(c.LogLevel) {
		p.add("log_level", "must be debug, info, warn or error")
	}
	if !ValidLogFormat(c.LogFormat) {
		p.add("log_format", "must be text or json")
	}

	if c.RetailCRM.URL != "" {
		if u, msg := checkURL(c.RetailCRM.URL); msg != "" {
			p.add("retailcrm.url", "%s; use the account's base URL, e.g. https://example.retailcrm.ru", msg)
		} else if u.Path != "" && u.Path != "/" {
			p.add("retailcrm.url", "must be the account's base URL without a path; crmsync adds /api/v5 itself")
		} else {
			c.RetailCRM.URL = u.Scheme + "://" + u.Host
		}
	}
	if !p.has("retailcrm.rate") && (c.RetailCRM.Rate <= 0 || c.RetailCRM.Rate > 100) {
		p.add("retailcrm.rate", "must be more than 0 and at most 100 requests per second")
	}
	checkTimeout(p, "retailcrm.timeout", c.RetailCRM.Timeout)
	for i, s := range c.RetailCRM.Sites {
		if strings.ContainsAny(s, " \t/?&") {
			p.add(fmt.Sprintf("retailcrm.sites[%d]", i), "is not a store code (no spaces, /, ? or &)")
		}
	}

	if c.Bitrix.WebhookURL != "" {
		validateWebhookURL(&c.Bitrix.WebhookURL, p)
	}
	if !p.has("bitrix.rate") && (c.Bitrix.Rate <= 0 || c.Bitrix.Rate > 1000) {
		p.add("bitrix.rate", "must be a positive number of requests per second (2 on most plans, 5 on Enterprise), at most 1000")
	}
	if !p.has("bitrix.burst") && c.Bitrix.Burst < 1 {
		p.add("bitrix.burst", "must be at least 1 (50 on most plans, 250 on Enterprise)")
	}
	checkTimeout(p, "bitrix.timeout", c.Bitrix.Timeout)
	if c.Bitrix.Entity != EntityDeal && c.Bitrix.Entity != EntityLead {
		p.add("bitrix.entity", "must be deal or lead")
	}
	if c.Bitrix.CategoryID < 0 {
		p.add("bitrix.category_id", "must be 0 (the default funnel) or a funnel id")
	}
	if c.Bitrix.Entity == EntityLead && c.Bitrix.CategoryID != 0 {
		p.add("bitrix.category_id", "leads have no funnels; remove it or use entity: deal")
	}
	if c.Bitrix.OriginatorID == "" {
		p.add("bitrix.originator_id", "must not be empty: it keys every deal and contact crmsync creates")
	} else if len(c.Bitrix.OriginatorID) > 255 {
		p.add("bitrix.originator_id", "must be at most 255 characters")
	}
	if c.Bitrix.AssignedByID < 0 {
		p.add("bitrix.assigned_by_id", "must be a user id, or 0 for the webhook's user")
	}
	if c.Bitrix.CAFile != "" {
		checkCAFile(c.Bitrix.CAFile, p)
	}

	validateMapping(c, p)
	validateFunnels(c, p)
	validateProfile(c.Mapping, p)
	validateContent(c.Mapping, p)
	validateServe(c.Serve, p)
	for i, id := range c.Alerts.NotifyUserIDs {
		if id <= 0 {
			p.add(fmt.Sprintf("alerts.notify_user_ids[%d]", i), "must be a Bitrix24 user id (a positive number)")
		}
	}
}

// ValidLogLevel reports whether s names a log level ("" is the default).
func ValidLogLevel(s string) bool {
	switch strings.ToLower(s) {
	case "", "debug", "info", "warn", "warning", "error":
		return true
	}
	return false
}

// ValidLogFormat reports whether s names a log format ("" is the default).
func ValidLogFormat(s string) bool {
	switch strings.ToLower(s) {
	case "", "text", "json":
		return true
	}
	return false
}

// validateWebhookURL checks bitrix.webhook_url and writes it back in its
// canonical form (one trailing slash).
func validateWebhookURL(webhook *string, p *Errors) {
	const shape = "must look like https://PORTAL/rest/USER_ID/SECRET/"
	_, msg := checkURL(*webhook)
	hook, err := bitrix.ParseWebhook(*webhook)
	switch {
	case msg != "":
		p.add("bitrix.webhook_url", "%s (%s)", shape, msg)
	case err != nil:
		// The value is not echoed: it holds the secret.
		p.add("bitrix.webhook_url", "%s (the path of the URL is not /rest/USER_ID/SECRET/)", shape)
	default:
		*webhook = hook.URL()
	}
}

// checkURL parses an API URL and refuses plain http except on loopback,
// where the fake servers run.
func checkURL(raw string) (*url.URL, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "not an http(s) URL"
	}
	if u.User != nil {
		return nil, "must not contain a user name or password"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, "must not contain a query or fragment"
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, "plain http:// is refused (the key would cross the network in clear text); use https://"
	}
	return u, ""
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkCAFile(path string, p *Errors) {
	data, err := os.ReadFile(path)
	if err != nil {
		p.add("bitrix.ca_file", "cannot read the file: %v", unwrapPathError(err))
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		p.add("bitrix.ca_file", "the file holds no PEM certificate")
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func validateMapping(c *Config, p *Errors) {
	m := c.Mapping
	checkStage := func(key, stage string) {
		sub := stagePattern.FindStringSubmatch(stage)
		if sub == nil {
			p.add(key, "is not a Bitrix24 stage id (like NEW, WON, UC_ABC123, or C1:NEW in funnel 1)")
			return
		}
		if c.Bitrix.Entity == EntityLead {
			if sub[1] != "" {
				p.add(key, "names a deal-funnel stage; leads use status ids like NEW, IN_PROCESS, JUNK")
			}
			return
		}
		funnel := 0
		if sub[2] != "" {
			funnel, _ = strconv.Atoi(sub[2])
		}
		if funnel != c.Bitrix.CategoryID {
			if funnel == 0 {
				p.add(key, "names a stage of the default funnel, but bitrix.category_id is %d; prefix the stage with C%d:", c.Bitrix.CategoryID, c.Bitrix.CategoryID)
			} else {
				p.add(key, "names a stage of funnel %d, but bitrix.category_id is %d", funnel, c.Bitrix.CategoryID)
			}
		}
	}
	checkStatusMap("mapping", m.Statuses, m.Stages, checkStage, p)
	if m.DeletedStage != "" {
		checkStage("mapping.deleted_stage", m.DeletedStage)
	}
	for _, user := range slices.Sorted(maps.Keys(m.Managers)) {
		key := "mapping.managers." + user
		if id, err := strconv.ParseInt(user, 10, 64); err != nil || id <= 0 {
			p.add(key, "the key is not a RetailCRM user id (a positive number)")
		}
		if id, err := strconv.ParseInt(m.Managers[user], 10, 64); err != nil || id <= 0 {
			p.add(key, "must be a Bitrix24 user id (a positive number)")
		}
	}
	for _, method := range slices.Sorted(maps.Keys(m.OrderMethods)) {
		if !sourcePattern.MatchString(m.OrderMethods[method]) {
			p.add("mapping.order_methods."+method, "is not a Bitrix24 SOURCE_ID (like WEB, CALL, STORE)")
		}
	}
	if m.DealTitle != "" {
		if _, err := rules.CompileText("deal_title", m.DealTitle); err != nil {
			p.add("mapping.deal_title", "is not a valid template: %v", err)
		}
	}
	for section, fields := range map[string]map[string]string{"mapping.deal_fields": m.DealFields, "mapping.contact_fields": m.ContactFields} {
		for _, field := range slices.Sorted(maps.Keys(fields)) {
			key := section + "." + field
			if !fieldPattern.MatchString(field) {
				p.add(key, "the key is not a Bitrix24 field name (upper case, like UF_CRM_DELIVERY)")
			}
			if !orderPathPattern.MatchString(fields[field]) {
				p.add(key, "is not an order path (like delivery.code or customFields.nps)")
			}
		}
	}
}

// validateProfile checks mapping.profile_fields (a fixed set of keys, each
// to a distinct contact field) and mapping.repeat_purchase_field.
func validateProfile(m Mapping, p *Errors) {
	used := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(m.ProfileFields)) {
		path := "mapping.profile_fields." + key
		field := m.ProfileFields[key]
		if !slices.Contains(ProfileKeys(), key) {
			p.add(path, "unknown profile value; one of %s", strings.Join(ProfileKeys(), ", "))
			continue
		}
		if !fieldPattern.MatchString(field) {
			p.add(path, "is not a Bitrix24 field name (upper case, like UF_CRM_ORDERS_COUNT)")
			continue
		}
		if other, ok := used[field]; ok {
			p.add(path, "names the same field as mapping.profile_fields.%s; each profile value needs its own field", other)
			continue
		}
		used[field] = key
		if _, ok := m.ContactFields[field]; ok {
			p.add(path, "names a field that mapping.contact_fields also fills; one field cannot hold both")
		}
	}
	if f := m.RepeatPurchaseField; f != "" && !fieldPattern.MatchString(f) {
		p.add("mapping.repeat_purchase_field", "is not a Bitrix24 deal field name (like IS_RETURN_CUSTOMER or UF_CRM_REPEAT)")
	}
}

// validateContent checks the keys of what a deal carries besides its
// fields: mapping.products, mapping.values and mapping.paid_field.
func validateContent(m Mapping, p *Errors) {
	switch m.Products.Match {
	case "", ProductsMatchNone, ProductsMatchExternalID:
	default:
		p.add("mapping.products.match", "must be %s or %s", ProductsMatchNone, ProductsMatchExternalID)
	}
	if m.Products.IBlockID < 0 {
		p.add("mapping.products.iblock_id", "must be a catalogue's iblock id, or 0 to find it with catalog.catalog.list")
	}
	for _, field := range slices.Sorted(maps.Keys(m.Values)) {
		key := "mapping.values." + field
		if !fieldPattern.MatchString(field) {
			p.add(key, "the key is not a Bitrix24 field name (upper case, like UF_CRM_DELIVERY)")
			continue
		}
		_, deal := m.DealFields[field]
		_, contact := m.ContactFields[field]
		if !deal && !contact && field != m.PaidField {
			p.add(key, "names a field that neither mapping.deal_fields, mapping.contact_fields nor mapping.paid_field fills")
		}
		for _, from := range slices.Sorted(maps.Keys(m.Values[field])) {
			if m.Values[field][from] == "" {
				p.add(key+"."+from, "must name the Bitrix24 value (a list field's item id)")
			}
		}
	}
	if f := m.PaidField; f != "" {
		switch {
		case !fieldPattern.MatchString(f):
			p.add("mapping.paid_field", "is not a Bitrix24 deal field name (like UF_CRM_PAID)")
		case m.DealFields[f] != "":
			p.add("mapping.paid_field", "names a field that mapping.deal_fields also fills; one field cannot hold both")
		case f == m.RepeatPurchaseField:
			p.add("mapping.paid_field", "names the field mapping.repeat_purchase_field fills; one field cannot hold both")
		}
	}
}

// checkTimeout wants a timeout that can let one call finish but cannot hang a
// scheduled run.
func checkTimeout(p *Errors, key string, d time.Duration) {
	if p.has(key) {
		return
	}
	if d < 100*time.Millisecond || d > MaxTimeout {
		p.add(key, "must be between 100ms and %s", MaxTimeout)
	}
}

// Limits of serve.every: often enough to matter, rarely enough not to spend
// the APIs' rate limits on an idle account.
const (
	minServeEvery = 10 * time.Second
	maxServeEvery = 24 * time.Hour
	// minTokenLen makes a token in a webhook URL too long to guess.
	minTokenLen = 16
)

// tokenPattern is what may stand in the URL path /hooks/retailcrm/<token>
// without escaping.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

func validateServe(s Serve, p *Errors) {
	if host, port, err := net.SplitHostPort(s.Listen); err != nil || strings.ContainsAny(host, " /") {
		p.add("serve.listen", "must be HOST:PORT, e.g. 127.0.0.1:8080 (or :8080 for every interface)")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("serve.listen", "must end in a port number from 0 to 65535, e.g. 127.0.0.1:8080")
	}
	if !p.has("serve.every") && (s.Every < minServeEvery || s.Every > maxServeEvery) {
		p.add("serve.every", "must be between %s and %s", minServeEvery, maxServeEvery)
	}
	if t := s.RetailCRMToken; t != "" && (len(t) < minTokenLen || !tokenPattern.MatchString(t)) {
		p.add("serve.retailcrm_token", "must be at least %d characters of A-Z, a-z, 0-9, '.', '_', '~' or '-' (it is part of the trigger's URL), e.g. from openssl rand -hex 16", minTokenLen)
	}
	if t := s.BitrixToken; t != "" && strings.IndexFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		p.add("serve.bitrix_token", "must be the application token Bitrix24 shows for the outbound webhook, without spaces")
	}
	if s.PublicURL != "" {
		// The services call it from the internet: an absolute http(s) URL
		// that the hook paths can be appended to.
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			p.add("serve.public_url", "must be the http(s) address RetailCRM and Bitrix24 reach serve at, without a query, e.g. https://crmsync.example.com")
		}
	}
}
