package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// Companies (docs/architecture.md, Identity): an order of a corporate
// customer, or with a legal entity or sole trader as its buyer, also has a
// Bitrix24 company. Its key (ORIGIN_ID, with crmsync's ORIGINATOR_ID) is the
// corporate customer's id, or "inn:<INN>[:<KPP>]" for an individual
// customer's order-level buyer, which has no id of its own. A company is
// found by the local link, then by ORIGIN_ID, then by a requisite with its
// INN (and KPP) — a company people made for the organisation is reused —
// and only then created, with its requisites and the contact link in the
// same batch. Everything is add-only: a changed name or a missing
// requisite value is written, nothing is cleared, and a contact is linked
// to the company without touching its other companies.

// companyState is one company of a chunk, shared by its orders.
type companyState struct {
	key       string // ORIGIN_ID
	corporate int64  // the corporate customer; 0 for an inn: key
	title     string
	hash      string // of the company's own fields
	reqs      []*requisiteState
	items     []*item
	link      *store.CompanyLink

	needWork bool  // the lookup must find the company and its requisites
	verified bool  // looked up in Bitrix24 in this run
	id       int64 // the Bitrix24 company
	remote   bitrix.Record
	owned    bool // carries crmsync's key: its name follows RetailCRM
	found    []bitrix.Requisite
	titleOK  bool           // the name is as desired
	linked   map[int64]bool // contacts known to be linked
	contacts []int64        // contacts the chunk's orders want linked
	waitFor  *companyState  // a new company of the chunk with the same INN
	relook   bool           // a write's outcome is unknown: look it up again
	stale    bool           // a write to the linked (not looked up) company failed
	created  bool
	err      error
}

// requisiteState is one legal entity of a company (a company of a
// corporate customer with its INN).
type requisiteState struct {
	inn, kpp string
	preset   string // preset XML_ID (organisation or sole trader)
	q        bitrix.Requisite
	hash     string
	done     bool
}

func (r *requisiteState) key() string { return r.inn + ":" + r.kpp }

// companyRun is what the engine keeps of companies for the length of a run.
type companyRun struct {
	presets     []bitrix.Preset
	presetsRead bool
	// done remembers the companies written by this run, before their links
	// are committed with the page (and, in a dry run, instead).
	done map[string]*store.CompanyLink
}

// companiesOn reports whether orders get companies (bitrix.companies, and
// deals only: a lead carries its buyer's company in its own fields).
func (e *Engine) companiesOn() bool {
	return e.cfg.Bitrix.Companies && e.mapper.entity() == bitrix.EntityDeal
}

// companyDesire is what one order says about its buyer's company.
type companyDesire struct {
	key       string
	corporate int64
	title     string
	req       *requisiteState // nil when the order carries no INN
}

// desireCompany returns the company an order's buyer should have, nil when
// the buyer is a private person, or a parking reason.
func (m *mapper) desireCompany(o *retailcrm.Order) (*companyDesire, error) {
	var ct *retailcrm.Contragent
	d := &companyDesire{}
	switch {
	case o.Corporate() && o.Customer.ID != 0:
		d.key, d.corporate = strconv.FormatInt(o.Customer.ID, 10), o.Customer.ID
		if o.Company != nil && o.Company.Contragent != nil && strings.TrimSpace(o.Company.Contragent.INN) != "" {
			ct = o.Company.Contragent
		} else if o.Contragent != nil && o.Contragent.Type != retailcrm.ContragentIndividual && strings.TrimSpace(o.Contragent.INN) != "" {
			ct = o.Contragent
		}
		d.title = clean(o.Customer.NickName)
		if d.title == "" && o.Company != nil {
			d.title = clean(o.Company.Name)
		}
	case o.Contragent != nil && (o.Contragent.Type == retailcrm.ContragentLegalEntity || o.Contragent.Type == retailcrm.ContragentEnterpreneur) &&
		strings.TrimSpace(o.Contragent.INN) != "":
		ct = o.Contragent
	default:
		return nil, nil
	}
	if ct != nil {
		req, err := requisiteOf("order "+orderName(o), ct)
		if err != nil {
			return nil, err
		}
		d.req = req
		if d.key == "" {
			d.key = "inn:" + req.inn
			if req.kpp != "" {
				d.key += ":" + req.kpp
			}
		}
		if d.title == "" {
			d.title = req.q.Name
		}
	}
	if d.title == "" {
		d.title = "Corporate customer " + d.key
	}
	d.title = esc(d.title)
	return d, nil
}

// requisiteOf reads the legal details of an order's buyer (or of a
// corporate customer's company), who naming them in errors. The INN (and
// KPP) identify the organisation, so one that cannot be an INN parks the
// order with the reason; other values are passed on as they are.
func requisiteOf(who string, ct *retailcrm.Contragent) (*requisiteState, error) {
	inn := compactCode(ct.INN)
	if !allDigits(inn) || len(inn) != 10 && len(inn) != 12 {
		return nil, badOrder("%s: the buyer's INN %q is not 10 or 12 digits; correct it in RetailCRM", who, clean(ct.INN))
	}
	kpp := strings.ToUpper(compactCode(ct.KPP))
	if kpp != "" && (len(kpp) != 9 || strings.IndexFunc(kpp, func(r rune) bool { return !unicode.IsDigit(r) && (r < 'A' || r > 'Z') }) >= 0) {
		return nil, badOrder("%s: the buyer's KPP %q is not 9 characters; correct it in RetailCRM", who, clean(ct.KPP))
	}
	ogrn, ogrnip := compactCode(ct.OGRN), compactCode(ct.OGRNIP)
	for _, v := range []struct{ name, value string }{{"OGRN", ogrn}, {"OGRNIP", ogrnip}} {
		if v.value != "" && (!allDigits(v.value) || len(v.value) > 15) {
			return nil, badOrder("%s: the buyer's %s %q is not a number of up to 15 digits; correct it in RetailCRM", who, v.name, clean(v.value))
		}
	}
	sole := ct.Type == retailcrm.ContragentEnterpreneur || ct.Type != retailcrm.ContragentLegalEntity && len(inn) == 12
	name := clean(ct.LegalName)
	if name == "" {
		name = "INN " + inn
	}
	r := &requisiteState{inn: inn, kpp: kpp, preset: bitrix.PresetXMLCompany}
	r.q = bitrix.Requisite{Name: esc(name), INN: inn, KPP: kpp}
	if sole {
		r.preset = bitrix.PresetXMLIndividual
		r.q.OGRNIP = cmp.Or(ogrnip, ogrn)
	} else {
		r.q.OGRN = ogrn
		r.q.CompanyName = esc(name)
	}
	r.hash = hashState("requisite", requisiteText(r.q), "preset", r.preset)
	return r, nil
}

// requisiteText is a requisite's writable values by field.
func requisiteText(q bitrix.Requisite) map[string]string {
	out := map[string]string{}
	for k, v := range bitrix.RequisiteFields(q, nil) {
		out[k] = toString(v)
	}
	return out
}

func compactCode(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		return r
	}, s)
}

func allDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// prepareCompanies gives the chunk's orders their companies, loads the
// companies' links and decides which need a lookup. An order's company key
// is part of its deal's hash, so a deal learns its company once.
func (e *Engine) prepareCompanies(ctx context.Context, items []*item) error {
	if !e.companiesOn() {
		return nil
	}
	byKey := map[string]*companyState{}
	for _, it := range items {
		if it.err != nil || it.deal == nil {
			continue
		}
		d, err := e.mapper.desireCompany(it.order)
		if err != nil {
			it.err = err
			continue
		}
		if d == nil {
			continue
		}
		c := byKey[d.key]
		if c == nil {
			c = &companyState{key: d.key, corporate: d.corporate, linked: map[int64]bool{}}
			byKey[d.key] = c
		}
		c.title = d.title // the later order's name wins
		if d.req != nil {
			if i := slices.IndexFunc(c.reqs, func(r *requisiteState) bool { return r.key() == d.req.key() }); i >= 0 {
				c.reqs[i] = d.req
			} else {
				c.reqs = append(c.reqs, d.req)
			}
		}
		c.items = append(c.items, it)
		it.company = c
		it.deal.hash = hashState("deal+company", nil, it.deal.hash, d.key)
	}
	return e.linkCompanies(ctx, byKey)
}

// linkCompanies loads the links of companies by key and decides which need
// a lookup: one without a link, or whose name or a requisite differs from
// what the link says was written.
func (e *Engine) linkCompanies(ctx context.Context, byKey map[string]*companyState) error {
	if len(byKey) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(byKey))
	links, err := e.store.CompanyLinks(ctx, keys)
	if err != nil {
		return fmt.Errorf("reading company links: %w", err)
	}
	for _, k := range keys {
		c := byKey[k]
		c.hash = hashState("company", map[string]string{bitrix.FieldTitle: c.title})
		l, ok := links[k]
		if m := e.companies.done[k]; m != nil {
			l, ok = mergeCompanyLinks(l, *m), true
		}
		if ok {
			c.link = &l
			c.id = l.CompanyID
			for _, id := range l.Contacts {
				c.linked[id] = true
			}
		}
		c.needWork = c.link == nil || c.link.CompanyID == 0 || c.link.ContentHash != c.hash
		for _, r := range c.reqs {
			if c.link != nil && c.link.Requisites[r.key()] == r.hash {
				r.done = true
			} else {
				c.needWork = true
			}
		}
		c.titleOK = !c.needWork || c.link != nil && c.link.ContentHash == c.hash
	}
	return nil
}

// mergeCompanyLinks unites what two records know of one company key; b is
// the newer.
func mergeCompanyLinks(a, b store.CompanyLink) store.CompanyLink {
	out := b
	if a.CompanyID != b.CompanyID {
		return out
	}
	out.Requisites = maps.Clone(b.Requisites)
	if out.Requisites == nil {
		out.Requisites = map[string]string{}
	}
	for k, v := range a.Requisites {
		if _, ok := out.Requisites[k]; !ok {
			out.Requisites[k] = v
		}
	}
	out.Contacts = slices.Compact(slices.Sorted(slices.Values(slices.Concat(a.Contacts, b.Contacts))))
	if out.ContentHash == "" {
		out.ContentHash = a.ContentHash
	}
	return out
}

// companiesOf lists the distinct companies of a chunk's orders by key.
func companiesOf(items []*item) []*companyState {
	var out []*companyState
	for _, it := range items {
		if it.company != nil && !slices.Contains(out, it.company) {
			out = append(out, it.company)
		}
	}
	slices.SortFunc(out, func(a, b *companyState) int { return strings.Compare(a.key, b.key) })
	return out
}

// companyLookup is the part of a lookup batch that finds companies.
type companyLookup struct {
	comps      []*companyState
	origins    []string
	originKeys []string
	idKeys     []string
	ids        []int64
	innKeys    []string
	presetKey  string
}

// addCompanyLookups adds to b the commands that find the companies needing
// work: by ORIGIN_ID and by linked id, the requisites carrying their INNs
// (which also shows the requisites of the companies found), and the
// presets once a run. All of them ride in the chunk's lookup batch.
func (e *Engine) addCompanyLookups(b *bitrix.Batch, comps []*companyState) (*companyLookup, error) {
	cl := &companyLookup{}
	var inns []string
	for _, c := range comps {
		if !c.needWork && !c.relook {
			continue
		}
		cl.comps = append(cl.comps, c)
		cl.origins = append(cl.origins, c.key)
		if c.link != nil && c.link.CompanyID != 0 && c.link.CompanyID < dryIDBase {
			cl.ids = append(cl.ids, c.link.CompanyID)
		}
		for _, r := range c.reqs {
			if !slices.Contains(inns, r.inn) {
				inns = append(inns, r.inn)
			}
		}
	}
	if len(cl.comps) == 0 {
		return cl, nil
	}
	sel := []string{bitrix.FieldID, bitrix.FieldTitle, bitrix.FieldOriginatorID, bitrix.FieldOriginID}
	for i := 0; i < len(cl.origins); i += bitrix.PageSize {
		k := "lco" + strconv.Itoa(i/bitrix.PageSize)
		part := cl.origins[i:min(i+bitrix.PageSize, len(cl.origins))]
		if err := b.Add(k, bitrix.OriginListCmd(bitrix.EntityCompany, e.mapper.originator(), part, sel)); err != nil {
			return nil, err
		}
		cl.originKeys = append(cl.originKeys, k)
	}
	var err error
	if cl.idKeys, err = addChunked(b, "lci", cl.ids, func(ids []int64) bitrix.Cmd { return byIDCmd(bitrix.EntityCompany, ids, sel) }); err != nil {
		return nil, err
	}
	for i := 0; i < len(inns); i += bitrix.PageSize {
		k := "lcr" + strconv.Itoa(i/bitrix.PageSize)
		cmd := bitrix.RequisitesByINNCmd("", "")
		filter := cmd.Params["filter"].(map[string]any)
		delete(filter, bitrix.FieldRqINN)
		filter["@"+bitrix.FieldRqINN] = slices.Clone(inns[i:min(i+bitrix.PageSize, len(inns))])
		if err := b.Add(k, cmd); err != nil {
			return nil, err
		}
		cl.innKeys = append(cl.innKeys, k)
	}
	if !e.companies.presetsRead {
		cl.presetKey = "lcp"
		if err := b.Add(cl.presetKey, bitrix.PresetListCmd()); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

// listKeys are the list commands of the lookup whose further pages must be
// read.
func (cl *companyLookup) listKeys() []string {
	return slices.Concat(cl.originKeys, cl.idKeys, cl.innKeys)
}

// applyCompanyLookup picks each company from what the lookup found: the
// linked company while it exists, else the oldest with the key, else the
// oldest company with a requisite of the INN (and KPP).
func (e *Engine) applyCompanyLookup(ctx context.Context, cl *companyLookup, res *bitrix.BatchResult, lists map[string][]bitrix.Record) error {
	if len(cl.comps) == 0 {
		return nil
	}
	if cl.presetKey != "" {
		presets, err := bitrix.DecodePresets(res.Get(cl.presetKey).Result)
		if err != nil {
			return fmt.Errorf("bitrix lookup %s: %w", cl.presetKey, err)
		}
		e.companies.presets, e.companies.presetsRead = presets, true
	}
	byID := map[int64]bitrix.Record{}
	for _, r := range rowsOf(lists, cl.idKeys) {
		byID[int64(r.ID())] = r
	}
	byOrigin := map[string]bitrix.Record{}
	shared := map[string][]int64{}
	for _, r := range rowsOf(lists, cl.originKeys) {
		if r.String(bitrix.FieldOriginatorID) != e.mapper.originator() {
			continue
		}
		o := r.String(bitrix.FieldOriginID)
		if id := int64(r.ID()); id < dryIDBase && !slices.Contains(shared[o], id) {
			shared[o] = append(shared[o], id)
		}
		if cur, ok := byOrigin[o]; !ok || r.ID() < cur.ID() {
			if ok {
				e.log.Warn("bitrix: several companies carry one ORIGIN_ID; using the oldest", "origin_id", o, "kept", r.ID(), "other", cur.ID())
			}
			byOrigin[o] = r
		}
	}
	e.recordCompanyDuplicates(ctx, cl.origins, shared)
	var reqs []bitrix.Requisite
	for _, r := range rowsOf(lists, cl.innKeys) {
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var q bitrix.Requisite
		if err := q.UnmarshalJSON(raw); err != nil {
			return fmt.Errorf("bitrix lookup: requisite: %w", err)
		}
		if q.EntityTypeID == bitrix.EntityTypeCompany {
			reqs = append(reqs, q)
		}
	}
	slices.SortFunc(reqs, func(a, b bitrix.Requisite) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range cl.comps {
		c.verified, c.relook = true, false
		c.id, c.remote, c.owned = 0, nil, false
		if c.link != nil {
			if r, ok := byID[c.link.CompanyID]; ok {
				c.id, c.remote = int64(r.ID()), r
			}
		}
		if c.id == 0 {
			if r, ok := byOrigin[c.key]; ok {
				c.id, c.remote = int64(r.ID()), r
			}
		}
		if c.id == 0 {
			// A company people (or another key) made for the organisation:
			// the oldest with a requisite of the INN and KPP.
			best := int64(0)
			for _, want := range c.reqs {
				for _, q := range reqs {
					if sameRequisite(want, q) && (best == 0 || int64(q.EntityID) < best) {
						best = int64(q.EntityID)
					}
				}
				if best != 0 {
					break
				}
			}
			c.id = best
		}
		if c.remote != nil {
			c.owned = c.remote.String(bitrix.FieldOriginatorID) == e.mapper.originator() && c.remote.String(bitrix.FieldOriginID) == c.key
		}
		c.found = c.found[:0]
		for _, q := range reqs {
			if c.id != 0 && int64(q.EntityID) == c.id {
				c.found = append(c.found, q)
			}
		}
		c.titleOK = !c.owned || c.remote == nil || c.remote.String(bitrix.FieldTitle) == c.title
	}
	return nil
}

// sameRequisite reports whether a company's requisite stands for the legal
// entity want: the INN, and the KPP when both have one (a branch shares its
// organisation's INN and has a KPP of its own).
func sameRequisite(want *requisiteState, q bitrix.Requisite) bool {
	if compactCode(q.INN) != want.inn {
		return false
	}
	kpp := strings.ToUpper(compactCode(q.KPP))
	return want.kpp == "" || kpp == "" || kpp == want.kpp
}

// lookupCompanies looks companies up again in a batch of their own (after
// a write whose outcome is unknown).
func (e *Engine) lookupCompanies(ctx context.Context, comps []*companyState) error {
	b := bitrix.NewBatch(false)
	cl, err := e.addCompanyLookups(b, comps)
	if err != nil {
		return err
	}
	if len(cl.comps) == 0 {
		return nil
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return err
	}
	lists, err := e.listRows(ctx, res, cl.listKeys())
	if err != nil {
		return err
	}
	return e.applyCompanyLookup(ctx, cl, res, lists)
}

// recordCompanyDuplicates records, for status and check, the looked-up
// company ORIGIN_IDs that several companies carry (ids: the companies
// found per ORIGIN_ID), and updates or clears the groups recorded for them
// before, so a group cleaned up in Bitrix24 leaves the report. Only the
// report is at stake: errors are warnings.
func (e *Engine) recordCompanyDuplicates(ctx context.Context, looked []string, ids map[string][]int64) {
	if e.opts.DryRun {
		return
	}
	recorded, err := e.store.CompanyDuplicates(ctx)
	if err != nil {
		e.log.Warn("bitrix: cannot read recorded duplicate companies", "err", err)
		return
	}
	had := map[string]bool{}
	for _, d := range recorded {
		had[d.OriginID] = true
	}
	type group struct {
		origin string
		kept   int64
		others []int64
	}
	var groups []group
	for _, o := range looked {
		found := slices.Sorted(slices.Values(ids[o]))
		g := group{origin: o}
		if len(found) > 0 {
			g.kept, g.others = found[0], found[1:]
		}
		if len(g.others) > 0 || had[o] {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return
	}
	err = e.store.Tx(ctx, func(tx *store.Tx) error {
		for _, g := range groups {
			if err := tx.SetCompanyDuplicates(ctx, g.origin, g.kept, g.others); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn("bitrix: cannot record duplicate companies", "err", err)
	}
}

// companyWrite is what one batch command does for its company.
type companyWrite struct {
	c       *companyState
	kind    string // add, update, requisite, requisite.update, link
	req     *requisiteState
	fields  []FieldChange
	contact int64
}

// writeCompanies creates the chunk's new companies after the contacts are
// written: one halting batch per round, each new company with its
// requisites and contact links referring to its add ($result), so a failed
// add stops before anything refers to it. A command not executed is planned
// again; a write whose outcome is unknown is looked up before it is planned
// again (the plan follows what Bitrix24 holds). What existing companies
// need (a name, a requisite, a contact link) rides in the deals' batch
// (addCompanyWrites): a chunk without a new company costs no request.
func (e *Engine) writeCompanies(ctx context.Context, items []*item) error {
	comps := companiesOf(items)
	if len(comps) == 0 {
		return nil
	}
	for _, c := range comps {
		for _, it := range c.items {
			// A corporate customer's contact person acts for it and is
			// linked; a private customer who once bought for an
			// organisation (an order-level buyer) is not its contact.
			if !it.order.Corporate() {
				continue
			}
			if it.err == nil && it.cust != nil && it.cust.err == nil && it.cust.contactID != 0 && !slices.Contains(c.contacts, it.cust.contactID) {
				c.contacts = append(c.contacts, it.cust.contactID)
			}
		}
		slices.Sort(c.contacts)
	}
	if err := e.companyRounds(ctx, comps, true, "c"); err != nil {
		return err
	}
	for _, c := range comps {
		e.settleCompany(c)
	}
	return nil
}

// settleCompany parks the orders of a company that failed and remembers
// what was written of it: that stays known, also when a later step failed.
func (e *Engine) settleCompany(c *companyState) {
	if c.err != nil {
		for _, it := range c.items {
			if it.err == nil {
				it.err = fmt.Errorf("%w: order %s: company %s: %w", errBadOrder, orderName(it.order), c.key, c.err)
			}
		}
	}
	e.rememberCompany(c)
}

// companyRounds writes what comps need, one halting batch per round (keys
// starting with prefix): with fresh, the new companies with their
// requisites and links, else what the companies found need. A command not
// executed is planned again; a company whose write's outcome is unknown is
// looked up before it is planned again. After maxWriteRounds the companies
// still owed a write fail.
func (e *Engine) companyRounds(ctx context.Context, comps []*companyState, fresh bool, prefix string) error {
	for round := 0; ; round++ {
		var relook []*companyState
		for _, c := range comps {
			if c.relook && c.err == nil {
				relook = append(relook, c)
			}
		}
		if round >= maxWriteRounds {
			for _, c := range comps {
				if c.err == nil && (c.relook || c.id == 0 || !fresh && pendingCompany(c)) {
					c.err = fmt.Errorf("bitrix: company %s: writes still not done after %d rounds", c.key, round)
				}
			}
			return nil
		}
		if len(relook) > 0 {
			if err := e.lookupCompanies(ctx, relook); err != nil {
				return err
			}
		}
		b := bitrix.NewBatch(true)
		plan, err := e.planCompanies(b, prefix, comps, fresh)
		if err != nil {
			return err
		}
		if b.Len() == 0 {
			if slices.ContainsFunc(comps, func(c *companyState) bool { return c.relook && c.err == nil }) {
				continue // look those up, then plan them
			}
			return nil
		}
		if round > 0 {
			if err := e.sleep(ctx, e.retryDelay*time.Duration(round)); err != nil {
				return err
			}
		}
		res, err := e.gate.write(ctx, b)
		if err != nil && (fatal(ctx, err) || res == nil) {
			return fmt.Errorf("bitrix writes: %w", err)
		}
		if err := e.applyCompanyResults(b.Keys(), res.Get, plan); err != nil {
			return err
		}
	}
}

// pendingCompany reports a company with something still to write.
func pendingCompany(c *companyState) bool {
	if c.id == 0 || !c.titleOK {
		return true
	}
	for _, r := range c.reqs {
		if !r.done {
			return true
		}
	}
	for _, id := range c.contacts {
		if !c.linked[id] {
			return true
		}
	}
	return false
}

// presetFor returns the id of the preset a requisite is made with.
func (e *Engine) presetFor(r *requisiteState) (bitrix.ID, error) {
	p, ok := bitrix.FindPreset(e.companies.presets, r.preset)
	if !ok {
		return 0, fmt.Errorf("bitrix: the requisite preset %s is missing or inactive on the portal (an administrator deleted or switched it off); restore it, or set bitrix.companies: false", r.preset)
	}
	return p.ID, nil
}

// planCompanies adds to b, under keys starting with prefix, what the
// companies need: with fresh, only the new companies (and those waiting for
// a new one), else what the companies found need.
func (e *Engine) planCompanies(b *bitrix.Batch, prefix string, comps []*companyState, fresh bool) (map[string]companyWrite, error) {
	plan := map[string]companyWrite{}
	add := func(k string, cmd bitrix.Cmd, w companyWrite) error {
		plan[k] = w
		return b.Add(k, cmd)
	}
	// New companies of the chunk sharing an INN become one: the first is
	// created, the others wait for it and then find it as people's
	// companies are found.
	firstByINN := map[string]*companyState{}
	for i, c := range comps {
		if c.err != nil || c.relook {
			continue
		}
		if c.waitFor != nil {
			w := c.waitFor
			if w.err != nil {
				c.err = fmt.Errorf("the company with the same INN (%s) was not written: %w", w.key, w.err)
				continue
			}
			if w.id == 0 {
				continue
			}
			// Its requisites are those w wrote: look them up before
			// adding any.
			c.id, c.waitFor, c.titleOK, c.verified, c.found = w.id, nil, true, false, nil
			c.relook = slices.ContainsFunc(c.reqs, func(r *requisiteState) bool { return !r.done })
			continue
		}
		if !pendingCompany(c) || fresh != (c.id == 0) {
			continue
		}
		p := prefix + strconv.Itoa(i)
		if c.id == 0 {
			if len(c.reqs) > 0 {
				inn := c.reqs[0].key()
				if w := firstByINN[inn]; w != nil {
					c.waitFor = w
					continue
				}
				firstByINN[inn] = c
			}
			presets := make([]bitrix.ID, len(c.reqs))
			for j, r := range c.reqs {
				id, err := e.presetFor(r)
				if err != nil {
					c.err = err
					break
				}
				presets[j] = id
			}
			if c.err != nil {
				continue
			}
			fields := bitrix.Fields{bitrix.FieldTitle: c.title, bitrix.FieldOriginatorID: e.mapper.originator(), bitrix.FieldOriginID: c.key}
			rep := []FieldChange{{Field: bitrix.FieldTitle, New: c.title}, {Field: bitrix.FieldOriginatorID, New: e.mapper.originator()},
				{Field: bitrix.FieldOriginID, New: c.key}}
			if e.cfg.Bitrix.AssignedByID > 0 {
				fields[bitrix.FieldAssignedByID] = e.cfg.Bitrix.AssignedByID
			}
			co := p + "a"
			if err := add(co, bitrix.AddCmd(bitrix.EntityCompany, fields, sonet()), companyWrite{c: c, kind: "add", fields: rep}); err != nil {
				return nil, err
			}
			for j, r := range c.reqs {
				q := r.q
				q.PresetID = presets[j]
				if err := add(p+"r"+strconv.Itoa(j), bitrix.RequisiteAddCmd(bitrix.ResultRef(co), q),
					companyWrite{c: c, kind: "requisite", req: r, fields: createFields(requisiteText(r.q))}); err != nil {
					return nil, err
				}
			}
			for _, id := range c.contacts {
				if err := add(p+"l"+strconv.FormatInt(id, 10), bitrix.CompanyContactAddCmd(bitrix.ResultRef(co), bitrix.ID(id)),
					companyWrite{c: c, kind: "link", contact: id}); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !c.titleOK && c.owned {
			fields := bitrix.Fields{bitrix.FieldTitle: c.title}
			old := c.remote.String(bitrix.FieldTitle)
			if err := add(p+"u", bitrix.UpdateCmd(bitrix.EntityCompany, bitrix.ID(c.id), fields, sonet()),
				companyWrite{c: c, kind: "update", fields: []FieldChange{{Field: bitrix.FieldTitle, Old: &old, New: c.title}}}); err != nil {
				return nil, err
			}
		} else {
			c.titleOK = true // a company people made keeps its name
		}
		for j, r := range c.reqs {
			if r.done {
				continue
			}
			if !c.verified {
				c.relook = true // the link does not say which requisites it has
				break
			}
			k := p + "r" + strconv.Itoa(j)
			i := slices.IndexFunc(c.found, func(q bitrix.Requisite) bool { return sameRequisite(r, q) })
			if i < 0 {
				preset, err := e.presetFor(r)
				if err != nil {
					c.err = err
					break
				}
				q := r.q
				q.PresetID = preset
				if err := add(k, bitrix.RequisiteAddCmd(bitrix.ID(c.id), q),
					companyWrite{c: c, kind: "requisite", req: r, fields: createFields(requisiteText(r.q))}); err != nil {
					return nil, err
				}
				continue
			}
			diff := e.requisiteDiff(c, r, c.found[i])
			if len(diff) == 0 {
				r.done = true
				continue
			}
			fields := bitrix.Fields{}
			for _, fc := range diff {
				fields[fc.Field] = fc.New
			}
			if err := add(k, bitrix.RequisiteUpdateCmd(c.found[i].ID, fields),
				companyWrite{c: c, kind: "requisite.update", req: r, fields: diff}); err != nil {
				return nil, err
			}
		}
		for _, id := range c.contacts {
			if c.linked[id] {
				continue
			}
			if err := add(p+"l"+strconv.FormatInt(id, 10), bitrix.ContactCompanyAddCmd(bitrix.ID(id), bitrix.ID(c.id)),
				companyWrite{c: c, kind: "link", contact: id}); err != nil {
				return nil, err
			}
		}
	}
	return plan, nil
}

// requisiteDiff lists the values a found requisite lacks or, on crmsync's
// own company, has otherwise; a company people made only gains what is
// missing. Nothing is cleared.
func (e *Engine) requisiteDiff(c *companyState, r *requisiteState, have bitrix.Requisite) []FieldChange {
	cur := requisiteText(have)
	diff := diffFields(requisiteText(r.q), func(k string) (string, bool) {
		v, ok := cur[k]
		return v, ok
	})
	if !c.owned {
		diff = slices.DeleteFunc(diff, func(fc FieldChange) bool { return fc.Old != nil && *fc.Old != "" })
	}
	return diff
}

// applyCompanyResults reads one round's outcomes into the companies.
func (e *Engine) applyCompanyResults(keys []string, get func(string) *bitrix.CmdResult, plan map[string]companyWrite) error {
	failed := map[*companyState]bool{}
	for _, k := range keys {
		w, ok := plan[k]
		if !ok {
			continue
		}
		c := w.c
		cr := get(k)
		switch {
		case cr == nil || cr.Status == bitrix.NotExecuted:
			continue // planned again next round
		case cr.Status == bitrix.Failed && errors.Is(cr.Err, bitrix.ErrAuth):
			return fmt.Errorf("bitrix %s: %w", cr.Cmd.Method, cr.Err)
		case cr.Status == bitrix.Failed && (errors.Is(cr.Err, bitrix.ErrOperationTimeLimit) || errors.Is(cr.Err, bitrix.ErrQueryLimit)):
			continue // refused before running: planned again
		case cr.Status == bitrix.Unknown:
			c.relook = true
			continue
		case cr.Status == bitrix.Failed:
			if !c.verified && c.id != 0 {
				// The linked company may be gone: the link is dropped, so the
				// next sync looks the company up.
				c.stale = true
			}
			if !failed[c] {
				failed[c] = true
				c.err = cmdError(cr)
			}
			continue
		}
		ch := Change{Op: OpUpdate, Entity: "company", EntityID: c.id, CustomerID: c.corporate, CompanyKey: c.key, Fields: w.fields}
		if c.created {
			ch.EntityID = 0 // the company of a create of this run
		}
		switch w.kind {
		case "add":
			id, err := bitrix.DecodeID(cr.Result)
			if err != nil || id == 0 {
				c.err = fmt.Errorf("bitrix crm.company.add: no id in answer: %v", err)
				continue
			}
			c.id, c.created, c.owned, c.titleOK, c.verified = int64(id), true, true, true, true
			ch.Op, ch.EntityID = OpCreate, 0 // as a new contact: its id is the run's own
		case "update":
			c.titleOK = true
		case "requisite", "requisite.update":
			w.req.done = true
			ch.Entity = "requisite"
			if w.kind == "requisite" {
				ch.Op = OpCreate
			}
		case "link":
			c.linked[w.contact] = true
			cid := strconv.FormatInt(w.contact, 10)
			ch.Fields = []FieldChange{{Field: bitrix.FieldContactID, New: cid, Added: []string{cid}}}
		}
		e.addChange(ch)
	}
	return nil
}

// rememberCompany keeps what a company's writes achieved for the rest of
// the run; commitCompanies stores it with the page.
func (e *Engine) rememberCompany(c *companyState) {
	if c.id == 0 || c.stale {
		return
	}
	if e.companies.done == nil {
		e.companies.done = map[string]*store.CompanyLink{}
	}
	l := store.CompanyLink{OriginID: c.key, CompanyID: c.id, Requisites: map[string]string{}}
	if c.titleOK {
		l.ContentHash = c.hash
	}
	if c.link != nil && c.link.CompanyID == c.id {
		l = mergeCompanyLinks(*c.link, l)
	}
	for _, r := range c.reqs {
		if r.done {
			l.Requisites[r.key()] = r.hash
		}
	}
	for id, ok := range c.linked {
		if ok && !slices.Contains(l.Contacts, id) {
			l.Contacts = append(l.Contacts, id)
		}
	}
	slices.Sort(l.Contacts)
	e.companies.done[c.key] = &l
}

// commitCompanies stores the links of a chunk's companies.
func (e *Engine) commitCompanies(ctx context.Context, tx *store.Tx, items []*item) error {
	for _, c := range companiesOf(items) {
		if c.stale {
			delete(e.companies.done, c.key)
			if err := tx.DeleteCompanyLink(ctx, c.key); err != nil {
				return err
			}
			continue
		}
		l := e.companies.done[c.key]
		if l == nil {
			continue
		}
		if err := tx.PutCompanyLink(ctx, *l); err != nil {
			return err
		}
		if c.created {
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM, SourceID: "company:" + c.key,
				Action: "company.add", Result: e.result(), Message: fmt.Sprintf("company %d for %s", c.id, c.key)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addHeldCompanyLinks adds to b a read of the contacts of each found
// company that no link records (a lost database, a company people made)
// when a contact person is to be linked; the returned function marks those
// already linked, so they are not linked again (re-adding would be a write
// for an unchanged order). The company's link records its contacts
// afterwards.
func (e *Engine) addHeldCompanyLinks(b *bitrix.Batch, items []*item) (func(*bitrix.BatchResult), error) {
	byKey := map[string]*companyState{}
	for _, c := range companiesOf(items) {
		if c.err != nil || c.link != nil || c.id == 0 || c.id >= dryIDBase ||
			!slices.ContainsFunc(c.contacts, func(id int64) bool { return !c.linked[id] }) {
			continue
		}
		k := "pc" + strconv.Itoa(len(byKey))
		if err := b.Add(k, bitrix.CompanyContactsCmd(bitrix.ID(c.id))); err != nil {
			return nil, err
		}
		byKey[k] = c
	}
	return func(res *bitrix.BatchResult) {
		for k, c := range byKey {
			held, err := bitrix.DecodeCompanyBindings(res.Get(k).Result, bitrix.FieldContactID)
			if err != nil {
				// Unreadable: the links are added, which the portal takes as a no-op.
				e.log.Warn("reading a company's contacts", "company", c.id, "err", err)
				continue
			}
			for _, h := range held {
				c.linked[int64(h.ID)] = true
			}
		}
	}, nil
}

// companyWrites are the company commands riding in the deals' batch.
type companyWrites struct {
	comps []*companyState
	plan  map[string]companyWrite
}

// addCompanyWrites adds to the deals' batch what the chunk's existing
// companies need: a changed name, a missing requisite or value, a contact
// link. None of it refers to another command.
func (e *Engine) addCompanyWrites(b *bitrix.Batch, items []*item) (*companyWrites, error) {
	cw := &companyWrites{comps: companiesOf(items)}
	if len(cw.comps) == 0 {
		return cw, nil
	}
	var err error
	cw.plan, err = e.planCompanies(b, "y", cw.comps, false)
	return cw, err
}

// applyCompanyWrites reads the outcomes of the companies' commands in the
// deals' batch. A company that failed parks its orders; their deals, written
// in the same batch, stay linked and are planned again next time.
func (e *Engine) applyCompanyWrites(cw *companyWrites, results map[string]*bitrix.CmdResult) error {
	if len(cw.plan) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(cw.plan))
	if err := e.applyCompanyResults(keys, func(k string) *bitrix.CmdResult { return results[k] }, cw.plan); err != nil {
		return err
	}
	for _, c := range cw.comps {
		if c.err == nil && pendingCompany(c) {
			c.err = errors.New("bitrix: company writes not done")
		}
		e.settleCompany(c)
	}
	return nil
}

// resolveRequisites extends a resolver with requisite adds whose outcome is
// unknown: one whose company has a requisite of that INN and KPP happened.
func (e *Engine) resolveRequisites(next resolver) resolver {
	return func(ctx context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
		rest := map[string]bitrix.Cmd{}
		b := bitrix.NewBatch(false)
		type want struct {
			company int64
			req     *requisiteState
		}
		wants := map[string]want{}
		for k, c := range cmds {
			fields, _ := c.Params["fields"].(map[string]any)
			if c.Method != "crm.requisite.add" {
				rest[k] = c
				continue
			}
			id, _ := fields[bitrix.FieldEntityID].(bitrix.ID)
			inn, kpp := toString(fields[bitrix.FieldRqINN]), toString(fields[bitrix.FieldRqKPP])
			wants["r"+k] = want{int64(id), &requisiteState{inn: inn, kpp: kpp}}
			if err := b.Add("r"+k, bitrix.RequisitesByINNCmd(inn, kpp)); err != nil {
				return nil, err
			}
		}
		out := map[string]json.RawMessage{}
		if len(rest) > 0 {
			found, err := next(ctx, rest)
			if err != nil {
				return nil, err
			}
			maps.Copy(out, found)
		}
		if b.Len() == 0 {
			return out, nil
		}
		res, err := e.read(ctx, b)
		if err != nil {
			return nil, err
		}
		for lk, w := range wants {
			list, err := bitrix.DecodeRequisites(res.Get(lk).Result)
			if err != nil {
				return nil, fmt.Errorf("bitrix lookup %s: %w", lk, err)
			}
			for _, q := range list {
				if int64(q.EntityID) == w.company && sameRequisite(w.req, q) {
					out[lk[1:]] = json.RawMessage(q.ID.String())
					break
				}
			}
		}
		return out, nil
	}
}

// dealCompany is the COMPANY_ID a deal should gain: the order's company,
// on a new deal or on one without a company; a company a person set stays.
func dealCompany(it *item, remote bitrix.Record) (FieldChange, bool) {
	if it.company == nil || it.company.id == 0 || it.company.err != nil {
		return FieldChange{}, false
	}
	id := strconv.FormatInt(it.company.id, 10)
	if remote == nil {
		return FieldChange{Field: bitrix.FieldCompanyID, New: id}, true
	}
	if remote.IDField(bitrix.FieldCompanyID) != 0 {
		return FieldChange{}, false
	}
	empty := ""
	return FieldChange{Field: bitrix.FieldCompanyID, Old: &empty, New: id}, true
}

// Corporate customers changed without an order (docs/architecture.md,
// Pull): their own history keeps their companies current.
// CorporateReader is implemented by a RetailCRM client that reads corporate
// customers (*retailcrm.Client does). Without it, companies change only
// with their orders.
type CorporateReader interface {
	CorporateCustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CorporateHistoryPage, error)
	CorporateCustomersByID(ctx context.Context, ids []int64) ([]retailcrm.CorporateCustomer, error)
	CorporateCompanies(ctx context.Context, id int64, site string) ([]retailcrm.Company, error)
}

// followsCorporate reports whether pull follows the corporate customers
// history: companies are on and the client can read it.
func (e *Engine) followsCorporate() bool {
	_, ok := e.rc.Unwrap().(CorporateReader)
	return ok && e.companiesOn()
}

// corporateWant is what a page of corporate history asks of one corporate
// customer's company: its name again, and the legal details of the
// companies named (all of them with all set).
type corporateWant struct {
	companies []int64
	all       bool
}

// pullCorporate carries changes of corporate customers made without an
// order (a new name, a company's corrected INN, KPP or legal name) to
// their Bitrix24 companies (docs/architecture.md, Pull):
// /customers-corporate/history from its own cursor, 100 records a page.
// A corporate customer without a company link is left alone: its first
// synced order creates the company from current data.
func (e *Engine) pullCorporate(ctx context.Context, start time.Time) error {
	if !e.followsCorporate() {
		return nil
	}
	_, err := followHistory(ctx, e, start, historyStream[retailcrm.CorporateHistoryRecord]{
		name:   "corporate customers history",
		cursor: store.CursorCorporateHistory,
		read:   e.rc.CorporateCustomersHistory,
		page: func(ctx context.Context, recs []retailcrm.CorporateHistoryRecord, next, _ int64) error {
			return e.syncCorporates(ctx, corporateWants(recs), &next)
		},
	})
	return err
}

// corporateWants reads a page of corporate history: which corporate
// customers changed, and which of their companies. Only the record names
// of the recorded history are certain (docs/api-notes.md), so any record
// makes the name be checked, and any record about a company (company,
// main_company, company.*) makes that company's legal details be checked.
// Created records need nothing (the first order brings the customer with
// current data), nor do deleted ones (nothing is deleted in Bitrix24) or
// the echoes of crmsync's own writes.
func corporateWants(recs []retailcrm.CorporateHistoryRecord) map[int64]*corporateWant {
	wants := map[int64]*corporateWant{}
	for i := range recs {
		r := &recs[i]
		id := r.CustomerID()
		if id == 0 || r.OwnChange() || r.Created || r.Deleted {
			continue
		}
		w := wants[id]
		if w == nil {
			w = &corporateWant{}
			wants[id] = w
		}
		if r.Field != "company" && r.Field != "main_company" && !strings.HasPrefix(r.Field, "company.") {
			continue
		}
		switch {
		case r.Company != nil && r.Company.ID != 0:
			w.companies = append(w.companies, r.Company.ID)
		case r.NewValue.ID() != 0:
			w.companies = append(w.companies, r.NewValue.ID())
		default:
			w.all = true
		}
	}
	return wants
}

// syncCorporates brings the companies of linked corporate customers up to
// date with their current data: the name (on a company crmsync made; one
// people made keeps its own) and the legal details of the companies wanted
// (add-only: a missing requisite or value is written, nothing is cleared).
// The links, failures (kind "corporate") and the cursor, when given, are
// committed in one transaction.
func (e *Engine) syncCorporates(ctx context.Context, wants map[int64]*corporateWant, cursor *int64) error {
	keys := make([]string, 0, len(wants))
	for id := range wants {
		keys = append(keys, strconv.FormatInt(id, 10))
	}
	links, err := e.store.CompanyLinks(ctx, keys)
	if err != nil {
		return fmt.Errorf("reading company links: %w", err)
	}
	var ids, settled []int64
	for _, id := range slices.Sorted(maps.Keys(wants)) {
		if l, ok := links[strconv.FormatInt(id, 10)]; ok && l.CompanyID != 0 {
			ids = append(ids, id)
		} else {
			settled = append(settled, id)
		}
	}
	var comps []*companyState
	if len(ids) > 0 {
		custs, err := e.rc.CorporateCustomersByID(ctx, ids)
		if err != nil {
			return fmt.Errorf("reading %d RetailCRM corporate customers: %w", len(ids), err)
		}
		e.sum.CustomersSeen += len(custs)
		found := map[int64]bool{}
		byKey := map[string]*companyState{}
		for i := range custs {
			c := &custs[i]
			found[c.ID] = true
			cs, err := e.desireCorporate(ctx, c, wants[c.ID])
			if err != nil {
				return err
			}
			byKey[cs.key] = cs
			comps = append(comps, cs)
		}
		for _, id := range ids {
			if !found[id] {
				settled = append(settled, id) // deleted or merged: nothing to follow
			}
		}
		if err := e.linkCompanies(ctx, byKey); err != nil {
			return err
		}
		slices.SortFunc(comps, func(a, b *companyState) int { return strings.Compare(a.key, b.key) })
		if err := e.writeCorporates(ctx, comps); err != nil {
			return err
		}
	}
	return e.commitCorporates(ctx, comps, settled, cursor)
}

// desireCorporate is the company a corporate customer should have, as its
// orders would make it (desireCompany): named by its nickName, else its
// main company; with the legal details of the wanted companies. A company
// whose INN or KPP cannot be one fails the customer with the reason.
func (e *Engine) desireCorporate(ctx context.Context, c *retailcrm.CorporateCustomer, w *corporateWant) (*companyState, error) {
	key := strconv.FormatInt(c.ID, 10)
	cs := &companyState{key: key, corporate: c.ID, linked: map[int64]bool{}}
	cs.title = clean(c.NickName)
	if cs.title == "" && c.MainCompany != nil {
		cs.title = clean(c.MainCompany.Name)
	}
	if w == nil || len(w.companies) == 0 && !w.all {
		if cs.title == "" {
			cs.title = "Corporate customer " + key
		}
		cs.title = esc(cs.title)
		return cs, nil
	}
	companies, err := e.rc.CorporateCompanies(ctx, c.ID, c.Site)
	if err != nil {
		return nil, fmt.Errorf("reading the companies of RetailCRM corporate customer %d: %w", c.ID, err)
	}
	for _, co := range companies {
		if !w.all && !slices.Contains(w.companies, co.ID) || co.Contragent == nil || strings.TrimSpace(co.Contragent.INN) == "" {
			continue
		}
		r, err := requisiteOf(fmt.Sprintf("corporate customer %d, company %d", c.ID, co.ID), co.Contragent)
		if err != nil {
			cs.err = err
			break
		}
		if !slices.ContainsFunc(cs.reqs, func(q *requisiteState) bool { return q.key() == r.key() }) {
			cs.reqs = append(cs.reqs, r)
		}
		if cs.title == "" {
			cs.title = r.q.Name
		}
	}
	if cs.title == "" {
		cs.title = "Corporate customer " + key
	}
	cs.title = esc(cs.title)
	return cs, nil
}

// writeCorporates looks up the companies whose name or legal details
// differ from their links and writes what they lack, in rounds as
// writeCompanies does. A company gone from Bitrix24 loses its link: the
// customer's next order creates it again.
func (e *Engine) writeCorporates(ctx context.Context, comps []*companyState) error {
	var work []*companyState
	for _, c := range comps {
		if c.err == nil && c.needWork {
			work = append(work, c)
		}
	}
	if len(work) == 0 {
		return nil
	}
	if err := e.lookupCompanies(ctx, work); err != nil {
		return err
	}
	var live []*companyState
	for _, c := range work {
		if c.id == 0 {
			c.stale = true
			continue
		}
		live = append(live, c)
	}
	if err := e.companyRounds(ctx, live, false, "k"); err != nil {
		return err
	}
	for _, c := range live {
		if c.err == nil && pendingCompany(c) {
			c.err = fmt.Errorf("bitrix: company %s: writes not done", c.key)
		}
		e.rememberCompany(c)
	}
	return nil
}

// commitCorporates stores the companies' links, clears the failures of the
// settled and the written corporate customers and records those of the
// rest, with the cursor when given.
func (e *Engine) commitCorporates(ctx context.Context, comps []*companyState, settled []int64, cursor *int64) error {
	var alerts []store.Failure
	parked := map[*companyState]bool{}
	err := e.store.Tx(ctx, func(tx *store.Tx) error {
		alerts = alerts[:0]
		for _, id := range settled {
			if err := tx.ClearFailure(ctx, "corporate", strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		for _, c := range comps {
			switch {
			case c.stale:
				delete(e.companies.done, c.key)
				if err := tx.DeleteCompanyLink(ctx, c.key); err != nil {
					return err
				}
			case e.companies.done[c.key] != nil:
				if err := tx.PutCompanyLink(ctx, *e.companies.done[c.key]); err != nil {
					return err
				}
			}
			if c.err == nil {
				if err := tx.ClearFailure(ctx, "corporate", c.key); err != nil {
					return err
				}
				continue
			}
			f, now, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "corporate", Key: c.key, Error: reason(c.err),
				MaxAttempts: e.opts.MaxAttempts})
			if err != nil {
				return err
			}
			parked[c] = f.Parked
			if now {
				alerts = append(alerts, f)
			}
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM,
				SourceID: "corporate:" + c.key, Action: "parked", Result: store.ResultFailed, Message: reason(c.err)}); err != nil {
				return err
			}
		}
		if cursor != nil {
			return tx.SetCursorInt(ctx, store.CursorCorporateHistory, *cursor)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	for _, c := range comps {
		if c.err != nil {
			e.report.Parked = append(e.report.Parked, ParkedItem{Kind: "corporate", Key: c.key,
				Reason: reason(c.err), WaitingForRetry: !parked[c]})
			e.sum.countFailure(parked[c])
		}
	}
	if len(alerts) > 0 {
		e.alert(ctx, alerts)
	}
	return nil
}

// retryCorporates retries the failed corporate customers that are due,
// with the legal details of all their companies.
func (e *Engine) retryCorporates(ctx context.Context) error {
	if !e.followsCorporate() {
		return nil
	}
	_, ids, err := e.dueIDs(ctx, "corporate")
	if err != nil {
		return err
	}
	wants := map[int64]*corporateWant{}
	for _, id := range ids {
		wants[id] = &corporateWant{all: true}
	}
	if len(wants) == 0 {
		return nil
	}
	return e.syncCorporates(ctx, wants, nil)
}
