package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
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
}

// mapper builds the desired Bitrix24 state of an order.
type mapper struct {
	cfg    *config.Config
	norm   normalizer
	groups map[string]string // RetailCRM status code → group code
	ref    references        // status names, product statuses
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
	var doc map[string]any
	if len(m.cfg.Mapping.DealFields) > 0 || len(m.cfg.Mapping.ContactFields) > 0 {
		doc = orderDoc(o)
	}
	contact, err := m.desireContact(o, c, doc)
	if err != nil {
		return nil, nil, err
	}
	deal, err := m.desireDeal(o, c, doc)
	if err != nil {
		return nil, nil, err
	}
	return deal, contact, nil
}

func (m *mapper) desireContact(o *retailcrm.Order, c *retailcrm.Customer, doc map[string]any) (*contactState, error) {
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
		setIf(st.fields, field, esc(clean(lookupPath(doc, path))))
	}
	st.hash = hashState("contact", st.fields, "email", strings.Join(st.emails, ","), "phone", strings.Join(st.phones, ","))
	return st, nil
}

func (m *mapper) desireDeal(o *retailcrm.Order, c *retailcrm.Customer, doc map[string]any) (*dealState, error) {
	group := m.groups[o.Status]
	stage, ok := m.cfg.Mapping.StageFor(o.Status, group)
	if !ok || stage == "" {
		if group == "" {
			return nil, badOrder("order %s: status %q is not mapped (and unknown to /reference/statuses); add it to mapping.statuses", orderName(o), o.Status)
		}
		return nil, badOrder("order %s: status %q (group %q) is not mapped; add %q or %q to mapping.statuses", orderName(o), o.Status, group, o.Status, "group:"+group)
	}
	if fail := m.failureStage(); fail != "" && allReturned(o, m.ref) {
		stage = fail // every line returned: the deal failed like a cancelled order
	}
	st := &dealState{orderID: o.ID, number: o.Number, site: o.Site, customerID: c.ID, fields: map[string]string{}}
	number := o.Number
	if number == "" {
		number = strconv.FormatInt(o.ID, 10)
	}
	f := st.fields
	f[bitrix.FieldTitle] = clean("Order " + esc(number))
	f[m.stageField()] = stage
	f[bitrix.FieldOpportunity] = o.TotalSumm.StringFixed(2)
	setIf(f, bitrix.FieldCurrencyID, clean(o.Currency))
	f["IS_MANUAL_OPPORTUNITY"] = "Y"
	if src, ok := m.cfg.Mapping.OrderMethods[o.OrderMethod]; ok && o.OrderMethod != "" {
		setIf(f, bitrix.FieldSourceID, src)
	}
	desc := fmt.Sprintf("RetailCRM order %s (id %d", esc(number), o.ID)
	if o.Site != "" {
		desc += ", site " + esc(o.Site)
	}
	f["SOURCE_DESCRIPTION"] = clean(desc + ")")
	setIf(f, bitrix.FieldComments, dealComments(o))
	f[bitrix.FieldOriginatorID] = m.originator()
	f[bitrix.FieldOriginID] = strconv.FormatInt(o.ID, 10)
	if m.assignee != nil {
		if id := m.assignee(o.ManagerID); id > 0 {
			f[bitrix.FieldAssignedByID] = strconv.FormatInt(id, 10)
		}
	}
	for field, path := range m.cfg.Mapping.DealFields {
		setIf(f, field, esc(clean(lookupPath(doc, path))))
	}
	st.rehash()
	return st, nil
}

// rehash recomputes the hash after a field changed.
func (d *dealState) rehash() {
	d.hash = hashState("deal", d.fields, "customer", strconv.FormatInt(d.customerID, 10))
}

// dealComments is the deal's COMMENTS text (BBCode to the portal):
// delivery, payment and the order's comments, one per line, every value
// escaped; "" when there is nothing to say.
func dealComments(o *retailcrm.Order) string {
	var lines []string
	if o.Delivery != nil && o.Delivery.Code != "" {
		lines = append(lines, "Delivery: "+esc(clean(o.Delivery.Code)))
	}
	var pays []string
	for _, p := range o.Payments {
		if p.Type != "" && !slices.Contains(pays, esc(clean(p.Type))) {
			pays = append(pays, esc(clean(p.Type)))
		}
	}
	if len(pays) > 0 {
		lines = append(lines, "Payment: "+strings.Join(pays, ", "))
	}
	if s := clean(o.CustomerComment); s != "" {
		lines = append(lines, "Customer comment: "+esc(s))
	}
	if s := clean(o.ManagerComment); s != "" {
		lines = append(lines, "Manager comment: "+esc(s))
	}
	return strings.Join(lines, "\n")
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

// orderDoc is the order as a generic JSON document for mapped paths.
func orderDoc(o *retailcrm.Order) map[string]any {
	b, err := json.Marshal(o)
	if err != nil {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	return doc
}

// lookupPath reads a dotted path (delivery.code, customFields.nps,
// customer.email, items.0.offer.name) from an order document; "" when absent.
func lookupPath(doc map[string]any, path string) string {
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return ""
			}
			cur = v[i]
		default:
			return ""
		}
	}
	switch v := cur.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "Y"
		}
		return "N"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
