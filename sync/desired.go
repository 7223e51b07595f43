package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/texts"
)

// errBadOrder marks a problem with an order's data or the mapping: the
// order is parked, the run goes on.
var errBadOrder = errors.New("cannot sync order")

// badOrder returns a parking reason wrapped in errBadOrder.
func badOrder(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadOrder, fmt.Sprintf(format, args...))
}

// contactState is the contact an order's customer should have in Bitrix24.
type contactState struct {
	customerID int64
	fields     map[string]string // NAME, LAST_NAME, SECOND_NAME, mapped fields
	emails     []string          // normalised
	phones     []string          // normalised (E.164 where known)
	hash       string
}

// dealState is the deal (or lead) an order should have in Bitrix24. CONTACT_ID
// is added once the contact is known.
type dealState struct {
	orderID    int64
	number     string
	site       string
	customerID int64
	fields     map[string]string
	hash       string
	rows       *rowsState // the product rows, hashed on their own
	// funnel is the deal funnel the order goes to (docs/configuration.md,
	// "Several stores, several funnels"); category is its category_id,
	// hashed only when funnels are configured so that single-funnel
	// setups keep their hashes.
	funnel   config.Funnel
	category int
	funnels  bool
}

// mapper builds the desired Bitrix24 state of an order.
type mapper struct {
	cfg    *config.Config
	norm   normalizer
	groups map[string]string // RetailCRM status code → group code
	ref    references        // status names, product statuses
	txt    *texts.Catalog    // crmsync's own phrases, in the configured locale
	title  *rules.Text       // mapping.deal_title, or the locale's default
	log    *slog.Logger      // nil: say nothing
	// assignee is the Bitrix24 user responsible for a RetailCRM manager's
	// deals (0: none configured); nil: none.
	assignee func(retailcrmUser int64) int64
}

func (m *mapper) entity() bitrix.Entity {
	if m.cfg.Bitrix.Entity == config.EntityLead {
		return bitrix.EntityLead
	}
	return bitrix.EntityDeal
}

func (m *mapper) stageField() string {
	if m.entity() == bitrix.EntityLead {
		return bitrix.FieldStatusID
	}
	return bitrix.FieldStageID
}

func (m *mapper) originator() string {
	if m.cfg.Bitrix.OriginatorID != "" {
		return m.cfg.Bitrix.OriginatorID
	}
	return config.DefaultOriginatorID
}

// customerOf returns the person an order's contact is made of: the customer,
// or a corporate order's contact person.
func customerOf(o *retailcrm.Order) *retailcrm.Customer {
	if o.Customer != nil && o.Customer.Type == "customer_corporate" && o.Contact != nil && o.Contact.ID != 0 {
		return o.Contact
	}
	if o.Customer != nil && o.Customer.ID != 0 {
		return o.Customer
	}
	return nil
}

// clean makes text safe to send: valid UTF-8, no NUL, trimmed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.TrimSpace(s)
}

// desire computes the desired contact and deal of an order, or a parking
// reason (wrapping errBadOrder).
func (m *mapper) desire(o *retailcrm.Order) (*dealState, *contactState, error) {
	c := customerOf(o)
	if c == nil {
		return nil, nil, badOrder("order %s has no customer", orderName(o))
	}
	contact, err := m.desireContact(o, c)
	if err != nil {
		return nil, nil, err
	}
	deal, err := m.desireDeal(o, c)
	if err != nil {
		return nil, nil, err
	}
	return deal, contact, nil
}

func (m *mapper) desireContact(o *retailcrm.Order, c *retailcrm.Customer) (*contactState, error) {
	st := &contactState{customerID: c.ID, fields: map[string]string{}}
	first, last, middle := c.FirstName, c.LastName, c.Patronymic
	if first == "" && last == "" {
		first, last, middle = o.FirstName, o.LastName, o.Patronymic
	}
	// Names are plain strings to the API, but the portal shows them inside
	// its own BBCode texts (notifications, mentions, timeline entries), so
	// they are escaped like every other value (docs/api-notes.md).
	setIf(st.fields, bitrix.FieldName, esc(clean(first)))
	setIf(st.fields, bitrix.FieldLastName, esc(clean(last)))
	setIf(st.fields, bitrix.FieldSecondName, esc(clean(middle)))
	seen := map[string]bool{}
	for _, raw := range []string{c.Email, o.Email} {
		e, err := m.norm.email(raw)
		if err != nil {
			return nil, badOrder("order %s, customer %d: %v", orderName(o), c.ID, err)
		}
		if e != "" && !seen[e] {
			seen[e] = true
			st.emails = append(st.emails, e)
		}
	}
	raws := make([]string, 0, len(c.Phones)+1)
	for _, p := range c.Phones {
		raws = append(raws, p.Number)
	}
	raws = append(raws, o.Phone)
	for _, raw := range raws {
		if p := m.norm.phone(raw); p != "" && !seen[p] {
			seen[p] = true
			st.phones = append(st.phones, p)
		}
	}
	for field, path := range m.cfg.Mapping.ContactFields {
		setIf(st.fields, field, esc(clean(m.mapped(o, field, path))))
	}
	st.hash = hashState("contact", st.fields, "email", strings.Join(st.emails, ","), "phone", strings.Join(st.phones, ","))
	return st, nil
}

func (m *mapper) desireDeal(o *retailcrm.Order, c *retailcrm.Customer) (*dealState, error) {
	group := m.groups[o.Status]
	funnel := m.cfg.FunnelFor(o.Site, o.OrderType, o.OrderMethod)
	stage, ok := funnel.StageFor(o.Status, group)
	if !ok || stage == "" {
		if group == "" {
			return nil, badOrder("order %s: status %q is not mapped (and unknown to /reference/statuses); add it to %s.statuses", orderName(o), o.Status, funnel.Path())
		}
		return nil, badOrder("order %s: status %q (group %q) is not mapped; add %q or %q to %s.statuses", orderName(o), o.Status, group, o.Status, "group:"+group, funnel.Path())
	}
	if fail := failureStage(funnel); fail != "" && allReturned(o, m.ref) {
		stage = fail // every line returned: the deal failed like a cancelled order
	}
	st := &dealState{orderID: o.ID, number: o.Number, site: o.Site, customerID: c.ID, fields: map[string]string{},
		funnel: funnel, category: funnel.CategoryID, funnels: len(m.cfg.Funnels) > 0 && m.entity() == bitrix.EntityDeal}
	number := o.Number
	if number == "" {
		number = strconv.FormatInt(o.ID, 10)
	}
	f := st.fields
	title, err := m.dealTitle(o, number)
	if err != nil {
		return nil, err
	}
	f[bitrix.FieldTitle] = title
	f[m.stageField()] = stage
	f[bitrix.FieldOpportunity] = o.TotalSumm.StringFixed(2)
	setIf(f, bitrix.FieldCurrencyID, clean(o.Currency))
	f["IS_MANUAL_OPPORTUNITY"] = "Y"
	if src, ok := m.cfg.Mapping.OrderMethods[o.OrderMethod]; ok && o.OrderMethod != "" {
		setIf(f, bitrix.FieldSourceID, src)
	}
	f["SOURCE_DESCRIPTION"] = m.sourceDescription(o, number)
	setIf(f, bitrix.FieldComments, m.dealComments(o))
	f[bitrix.FieldOriginatorID] = m.originator()
	f[bitrix.FieldOriginID] = strconv.FormatInt(o.ID, 10)
	if m.assignee != nil {
		if id := m.assignee(o.ManagerID); id > 0 {
			f[bitrix.FieldAssignedByID] = strconv.FormatInt(id, 10)
		}
	}
	if m.entity() == bitrix.EntityDeal {
		m.setDates(f, o)
	}
	setUTM(f, o.Source)
	if pf := m.cfg.Mapping.PaidField; pf != "" {
		paid := "N"
		if o.FullyPaid() {
			paid = "Y"
		}
		setIf(f, pf, m.translate(o, pf, paid))
	}
	for field, path := range m.cfg.Mapping.DealFields {
		setIf(f, field, esc(clean(m.mapped(o, field, path))))
	}
	rows, err := m.desireRows(o)
	if err != nil {
		return nil, err
	}
	st.rows = rows
	st.rehash()
	return st, nil
}

// rehash recomputes the hash after a field changed.
func (d *dealState) rehash() {
	if d.funnels {
		d.hash = hashState("deal", d.fields, "customer", strconv.FormatInt(d.customerID, 10), "category", strconv.Itoa(d.category))
		return
	}
	d.hash = hashState("deal", d.fields, "customer", strconv.FormatInt(d.customerID, 10))
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func orderName(o *retailcrm.Order) string {
	if o.Number != "" {
		return fmt.Sprintf("%d (#%s)", o.ID, o.Number)
	}
	return strconv.FormatInt(o.ID, 10)
}

// hashState is a stable hash of a desired state.
func hashState(kind string, fields map[string]string, extra ...string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00", kind)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, fields[k])
	}
	for _, e := range extra {
		fmt.Fprintf(h, "%s\x00", e)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// mapped is the value a mapped field takes from path, read from the order
// as RetailCRM sent it (retailcrm.Lookup; docs/configuration.md, "Mapped
// fields"): strings as they are, numbers as written, true and false as Y
// and N, objects and lists as compact JSON; "" when absent. A field with
// mapping.values gets the translation (translate).
func (m *mapper) mapped(o *retailcrm.Order, field, path string) string {
	v, ok := retailcrm.Lookup(orderRaw(o), path)
	if !ok {
		return ""
	}
	if raw := strings.TrimSpace(v); raw == "true" || raw == "false" {
		// Lookup gives a JSON bool as its literal; a string "true" comes
		// back the same, and both have always been written as Y/N.
		v = "N"
		if raw == "true" {
			v = "Y"
		}
	}
	return m.translate(o, field, v)
}

// translate maps a value through mapping.values of field. A value the
// field's table lacks is not written (a list field takes only its items'
// ids; an empty value never wipes what the field holds), and says so in
// the log; fields without a table take values as they are.
func (m *mapper) translate(o *retailcrm.Order, field, v string) string {
	table, ok := m.cfg.Mapping.Values[field]
	if !ok || v == "" {
		return v
	}
	if out, ok := table[v]; ok {
		return out
	}
	if m.log != nil {
		m.log.Warn("mapping.values has no translation for a value; the field is left as it is",
			"field", field, "value", oneLine(v), "order", o.ID)
	}
	return ""
}

// orderRaw is the order's JSON as RetailCRM sent it; an order built in
// code (tests) has none, and is encoded instead.
func orderRaw(o *retailcrm.Order) json.RawMessage {
	if len(o.Raw) > 0 {
		return o.Raw
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil
	}
	return b
}

// setDates dates the deal as the order (docs/configuration.md, "Dates"):
// BEGINDATE is the day it was created, CLOSEDATE the day it reached a
// final status group (complete or cancel: the day of statusUpdatedAt), and
// for an open order BEGINDATE + 7 days, the portal's own rule applied to
// the order's day rather than the import day. RetailCRM writes times as
// the account's wall clock, so the day as written is the account's day.
func (m *mapper) setDates(f map[string]string, o *retailcrm.Order) {
	begin, ok := orderDay(o.CreatedAt)
	if !ok {
		return
	}
	end := begin.AddDate(0, 0, 7)
	if g := m.groups[o.Status]; g == "complete" || g == "cancel" {
		if d, ok := orderDay(o.StatusUpdatedAt); ok {
			end = d
		}
	}
	if end.Before(begin) {
		end = begin // a clock set back; a deal cannot close before it began
	}
	f[bitrix.FieldBeginDate] = bitrix.FormatDate(begin)
	f[bitrix.FieldCloseDate] = bitrix.FormatDate(end)
}

// orderDay is the calendar day of a RetailCRM time, in the account's zone.
func orderDay(d retailcrm.DateTime) (time.Time, bool) {
	t, err := d.In(time.UTC) // the wall clock as written: no conversion
	if err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
}

// setUTM copies the order's attribution into the UTM fields; tags the
// order lacks are not written, so they never wipe what the deal holds.
// The tags are whatever a visitor's link carried, so they are escaped like
// any other value (a real tag has no '[' or '<' and stays as it is).
func setUTM(f map[string]string, src *retailcrm.Source) {
	if src == nil {
		return
	}
	setIf(f, bitrix.FieldUTMSource, esc(clean(src.Source)))
	setIf(f, bitrix.FieldUTMMedium, esc(clean(src.Medium)))
	setIf(f, bitrix.FieldUTMCampaign, esc(clean(src.Campaign)))
	setIf(f, bitrix.FieldUTMTerm, esc(clean(src.Keyword)))
	setIf(f, bitrix.FieldUTMContent, esc(clean(src.Content)))
}
