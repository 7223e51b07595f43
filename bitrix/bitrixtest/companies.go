package bitrixtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CompanyBinding is one company linked to a contact. The link is one
// record seen from both sides (crm.contact.company.* and
// crm.company.contact.*); each side keeps its own order and its own
// primary entry, and a contact's COMPANY_ID shows its primary company.
type CompanyBinding struct {
	CompanyID int64
	Sort      int
	Primary   bool
}

// RequisiteRow is a stored requisite; Fields hold legacy strings.
type RequisiteRow struct {
	ID     int64
	Fields map[string]any
}

// Str returns a field as text.
func (r RequisiteRow) Str(name string) string { return Str(r.Fields[name]) }

// PresetRow is a requisite template.
type PresetRow struct {
	ID        int64
	Name      string
	XMLID     string
	CountryID int64
	Active    bool
	Sort      int
}

// requisiteFields are the fields a requisite stores and lists
// (crm_requisite_get.json), in the portal's order.
var requisiteFields = []string{"ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "DATE_CREATE", "DATE_MODIFY",
	"CREATED_BY_ID", "MODIFY_BY_ID", "NAME", "CODE", "XML_ID", "ORIGINATOR_ID", "ACTIVE", "ADDRESS_ONLY", "SORT",
	"RQ_NAME", "RQ_FIRST_NAME", "RQ_LAST_NAME", "RQ_SECOND_NAME", "RQ_COMPANY_ID", "RQ_COMPANY_NAME",
	"RQ_COMPANY_FULL_NAME", "RQ_COMPANY_REG_DATE", "RQ_DIRECTOR", "RQ_ACCOUNTANT", "RQ_CEO_NAME", "RQ_CEO_WORK_POS",
	"RQ_CONTACT", "RQ_EMAIL", "RQ_PHONE", "RQ_FAX", "RQ_IDENT_TYPE", "RQ_IDENT_DOC", "RQ_IDENT_DOC_SER",
	"RQ_IDENT_DOC_NUM", "RQ_IDENT_DOC_PERS_NUM", "RQ_IDENT_DOC_DATE", "RQ_IDENT_DOC_ISSUED_BY", "RQ_IDENT_DOC_DEP_CODE",
	"RQ_INN", "RQ_KPP", "RQ_USRLE", "RQ_IFNS", "RQ_OGRN", "RQ_OGRNIP", "RQ_OKPO", "RQ_OKTMO", "RQ_OKVED", "RQ_EDRPOU",
	"RQ_DRFO", "RQ_KBE", "RQ_IIN", "RQ_BIN", "RQ_ST_CERT_SER", "RQ_ST_CERT_NUM", "RQ_ST_CERT_DATE", "RQ_VAT_PAYER",
	"RQ_VAT_ID", "RQ_VAT_CERT_SER", "RQ_VAT_CERT_NUM", "RQ_VAT_CERT_DATE", "RQ_RESIDENCE_COUNTRY", "RQ_BASE_DOC",
	"RQ_REGON", "RQ_KRS", "RQ_PESEL", "RQ_LEGAL_FORM", "RQ_SIRET", "RQ_SIREN", "RQ_CAPITAL", "RQ_RCS", "RQ_CNPJ",
	"RQ_STATE_REG", "RQ_MNPL_REG", "RQ_CPF"}

// requisiteMaxLen are the CRM module's length limits of the fields crmsync
// writes (docs/api-notes.md); a longer value is refused.
var requisiteMaxLen = map[string]int{"RQ_INN": 15, "RQ_KPP": 9, "RQ_OGRN": 13, "RQ_OGRNIP": 15,
	"RQ_COMPANY_NAME": 255, "RQ_COMPANY_FULL_NAME": 300, "RQ_NAME": 150, "RQ_FIRST_NAME": 50, "RQ_LAST_NAME": 50,
	"RQ_SECOND_NAME": 50}

// requisiteImmutable are set on add only (crm.requisite.fields: isImmutable).
var requisiteImmutable = []string{"ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID"}

// Preset XML_IDs of a Russian portal (the CRM module's fixed presets).
const (
	PresetXMLCompany    = "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#"
	PresetXMLIndividual = "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#"
	PresetXMLPerson     = "#CRM_REQUISITE_PRESET_DEF_RU_PERSON#"
)

// seedPresets stores the presets a fresh Russian portal has: ids 1, 2, 3
// as crm-requisite-preset-list.md shows them.
func (d *store) seedPresets() {
	d.presets = []*PresetRow{
		{ID: 1, Name: "Organization", XMLID: PresetXMLCompany, CountryID: 1, Active: true, Sort: 500},
		{ID: 2, Name: "Sole Proprietorship", XMLID: PresetXMLIndividual, CountryID: 1, Active: true, Sort: 500},
		{ID: 3, Name: "Individual", XMLID: PresetXMLPerson, CountryID: 1, Active: true, Sort: 500},
	}
}

func registerCompanyHandlers() {
	handlers["crm.deal.delete"] = (*Server).dealDelete
	handlers["crm.requisite.add"] = (*Server).requisiteAdd
	handlers["crm.requisite.update"] = (*Server).requisiteUpdate
	handlers["crm.requisite.get"] = (*Server).requisiteGet
	handlers["crm.requisite.list"] = (*Server).requisiteList
	handlers["crm.requisite.delete"] = (*Server).requisiteDelete
	handlers["crm.requisite.preset.list"] = (*Server).presetList
	handlers["crm.contact.company.add"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.companyLinkAdd(true, p) }
	handlers["crm.company.contact.add"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.companyLinkAdd(false, p) }
	handlers["crm.contact.company.delete"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.companyLinkDelete(true, p) }
	handlers["crm.company.contact.delete"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.companyLinkDelete(false, p) }
	handlers["crm.contact.company.items.get"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.companyLinkItems(true, p) }
	handlers["crm.company.contact.items.get"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.companyLinkItems(false, p) }
}

// Deal deletion.

// dealDelete removes a deal with its product rows, contact links and
// timeline comments (crm-deal-delete.md: "removes a deal and all associated
// objects"); afterwards every method answers for its id as for an id that
// never existed.
func (s *Server) dealDelete(p map[string]any) (*result, *apiErr) {
	rawID, _ := getCI(p, "id")
	id, valid := intParam(rawID)
	if !valid || id <= 0 {
		return nil, legacyErr("ID is not defined or invalid.")
	}
	if !s.data.deleteDeal(id) {
		return nil, legacyErr("Not found")
	}
	return ok(true)
}

func (d *store) deleteDeal(id int64) bool {
	t := d.entities["deal"]
	r := t.rows[id]
	if r == nil {
		return false
	}
	for _, k := range t.keys[id] {
		t.unindex(k, id)
	}
	delete(t.keys, id)
	delete(t.rows, id)
	if i, found := slices.BinarySearch(t.ids, id); found {
		t.ids = slices.Delete(t.ids, i, i+1)
	}
	d.comments = slices.DeleteFunc(d.comments, func(c *CommentRow) bool { return c.EntityType == "deal" && c.EntityID == id })
	for k, list := range d.byEntity {
		d.byEntity[k] = slices.DeleteFunc(list, func(c *CommentRow) bool { return c.EntityType == "deal" && c.EntityID == id })
	}
	d.s.emit("ONCRMDEALDELETE", fieldsID(id))
	return true
}

// DeleteDeal acts as a person deleting a deal in the portal.
func (s *Server) DeleteDeal(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.data.deleteDeal(id) {
		return fmt.Errorf("bitrixtest: deal %d not found", id)
	}
	return nil
}

// Contact–company links.

// linkParams reads id and fields of crm.contact.company.add/delete
// (fromContact) or crm.company.contact.add/delete, answering as the docs
// list the errors.
func (s *Server) linkParams(fromContact bool, p map[string]any) (contact, company *Row, fields map[string]any, e *apiErr) {
	ownerKind, otherKind, otherField := "contact", "company", "COMPANY_ID"
	if !fromContact {
		ownerKind, otherKind, otherField = "company", "contact", "CONTACT_ID"
	}
	raw, _ := getCI(p, "id")
	id, valid := intParam(raw)
	if !valid || id <= 0 {
		return nil, nil, nil, legacyErr("The parameter 'ownerEntityID' is invalid or not defined.")
	}
	owner := s.data.entities[ownerKind].rows[id]
	if owner == nil {
		return nil, nil, nil, legacyErr("Not found")
	}
	fields, oid, e := bindingFields(p, otherField)
	if e != nil {
		return nil, nil, nil, e
	}
	other := s.data.entities[otherKind].rows[oid]
	if other == nil {
		// Not documented for a missing company or contact (UNCONFIRMED).
		return nil, nil, nil, legacyErr("Not found")
	}
	if fromContact {
		return owner, other, fields, nil
	}
	return other, owner, fields, nil
}

// companyLinkAdd links a contact and a company: false and no change when
// they are linked already. On the side the call comes from, SORT and
// IS_PRIMARY apply as given (default SORT max + 10; primary when the side
// has no primary entry, or IS_PRIMARY=Y takes the flag); the other side
// appends the link with its defaults.
func (s *Server) companyLinkAdd(fromContact bool, p map[string]any) (*result, *apiErr) {
	contact, company, fields, e := s.linkParams(fromContact, p)
	if e != nil {
		return nil, e
	}
	if slices.ContainsFunc(contact.Companies, func(b CompanyBinding) bool { return b.CompanyID == company.ID }) {
		return ok(false)
	}
	sort, primary := 0, false
	if v, has := fields["SORT"]; has {
		if n, valid := intParam(v); valid {
			sort = int(n)
		}
	}
	primary = Str(fields["IS_PRIMARY"]) == "Y"
	cs, cp, ks, kp := 0, false, 0, false
	if fromContact {
		cs, cp = sort, primary
	} else {
		ks, kp = sort, primary
	}
	s.data.addCompanyToContact(contact, company.ID, cs, cp)
	s.data.addContactToCompany(company, contact.ID, ks, kp)
	s.touch(contact, company)
	return ok(true)
}

func (s *Server) touch(rows ...*Row) {
	now := s.data.nowString()
	for _, r := range rows {
		r.Fields["DATE_MODIFY"] = now
	}
}

func (d *store) addCompanyToContact(contact *Row, company int64, sort int, primary bool) {
	d.setCompanies(contact, withBinding(contact.Companies, CompanyBinding{CompanyID: company, Sort: sort, Primary: primary}))
}

func (d *store) addContactToCompany(company *Row, contact int64, sort int, primary bool) {
	d.setBindings(company, withBinding(company.Contacts, Binding{ContactID: contact, Sort: sort, Primary: primary}))
	delete(company.Fields, "CONTACT_ID") // a company has no such field
}

// setCompanies stores a contact's list of companies by the binding rules
// (normalBindings) and shows the primary company in COMPANY_ID (null when
// none).
func (d *store) setCompanies(contact *Row, list []CompanyBinding) {
	out, primary := normalBindings(list)
	contact.Companies = out
	contact.Fields["COMPANY_ID"] = nil
	if primary != 0 {
		contact.Fields["COMPANY_ID"] = strconv.FormatInt(primary, 10)
	}
}

// applyCompanyFields handles COMPANY_IDS and COMPANY_ID of crm.contact.add
// and update as applyContactFields does a deal's contacts: the harsh
// reading, the list is replaced (companies no longer named lose the
// contact too).
func (d *store) applyCompanyFields(contact *Row, values map[string]any) {
	ids := idsField(values, "COMPANY_IDS", "COMPANY_ID")
	companies := d.entities["company"]
	for _, b := range contact.Companies {
		if c := companies.rows[b.CompanyID]; c != nil {
			d.setBindings(c, slices.DeleteFunc(slices.Clone(c.Contacts), func(x Binding) bool { return x.ContactID == contact.ID }))
		}
	}
	list := make([]CompanyBinding, 0, len(ids))
	for _, v := range ids {
		id, ok := intParam(v)
		if !ok || id <= 0 || companies.rows[id] == nil {
			continue
		}
		list = append(list, CompanyBinding{CompanyID: id, Sort: (len(list) + 1) * 10})
		d.addContactToCompany(companies.rows[id], contact.ID, 0, false)
	}
	d.setCompanies(contact, list)
}

// companyLinkDelete unlinks a contact and a company on both sides.
func (s *Server) companyLinkDelete(fromContact bool, p map[string]any) (*result, *apiErr) {
	contact, company, _, e := s.linkParams(fromContact, p)
	if e != nil {
		return nil, e
	}
	s.data.setCompanies(contact, slices.DeleteFunc(slices.Clone(contact.Companies), func(b CompanyBinding) bool { return b.CompanyID == company.ID }))
	s.data.setBindings(company, slices.DeleteFunc(slices.Clone(company.Contacts), func(b Binding) bool { return b.ContactID == contact.ID }))
	delete(company.Fields, "CONTACT_ID")
	s.touch(contact, company)
	return ok(true)
}

func (s *Server) companyLinkItems(fromContact bool, p map[string]any) (*result, *apiErr) {
	kind := "contact"
	if !fromContact {
		kind = "company"
	}
	r, e := s.ownerRow(kind, p, "The parameter 'ownerEntityID' is invalid or not defined.", "Not found")
	if e != nil {
		return nil, e
	}
	var out []any
	if fromContact {
		for _, b := range r.Companies {
			out = append(out, map[string]any{"COMPANY_ID": b.CompanyID, "SORT": b.Sort, "ROLE_ID": 0, "IS_PRIMARY": yn(b.Primary)})
		}
	} else {
		for _, b := range r.Contacts {
			out = append(out, map[string]any{"CONTACT_ID": b.ContactID, "SORT": b.Sort, "ROLE_ID": 0, "IS_PRIMARY": yn(b.Primary)})
		}
	}
	if out == nil {
		out = []any{}
	}
	return ok(out)
}

// Requisites.

func (d *store) requisite(id int64) *RequisiteRow {
	i, found := slices.BinarySearchFunc(d.requisites, id, func(r *RequisiteRow, id int64) int {
		return int(r.ID - id)
	})
	if !found {
		return nil
	}
	return d.requisites[i]
}

func (d *store) preset(id int64) *PresetRow {
	for _, p := range d.presets {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// checkRequisiteValues refuses a value longer than the CRM module allows.
// The portal's wording is a translated message the docs do not give.
func checkRequisiteValues(fields map[string]any) *apiErr {
	for k, v := range fields {
		name := strings.ToUpper(k)
		if limit, has := requisiteMaxLen[name]; has && utf8.RuneCountInString(Str(v)) > limit {
			return legacyErr(fmt.Sprintf("bitrixtest: %s is longer than %d characters", name, limit))
		}
	}
	return nil
}

func (s *Server) requisiteAdd(p map[string]any) (*result, *apiErr) {
	fields, e := fieldsParam(p, fieldsNotArray)
	if e != nil {
		return nil, e
	}
	et, valid := intParam(firstOf(fields, "ENTITY_TYPE_ID"))
	if !valid || et != 3 && et != 4 {
		return nil, legacyErr("ENTITY_TYPE_ID is not defined or invalid.")
	}
	eid, valid := intParam(firstOf(fields, "ENTITY_ID"))
	if !valid || eid <= 0 {
		return nil, legacyErr("ENTITY_ID is not defined or invalid.")
	}
	pid, valid := intParam(firstOf(fields, "PRESET_ID"))
	if !valid || pid <= 0 || s.data.preset(pid) == nil {
		return nil, legacyErr("PRESET_ID is not defined or invalid.")
	}
	kind := map[int64]string{3: "contact", 4: "company"}[et]
	if s.data.entities[kind].rows[eid] == nil {
		return nil, legacyErr("Entity not found.")
	}
	if strings.TrimSpace(Str(firstOf(fields, "NAME"))) == "" {
		// The add page marks NAME required, crm.requisite.fields does not,
		// and no refusal is documented (docs/api-notes.md).
		return nil, legacyErr("bitrixtest: NAME is required for crm.requisite.add")
	}
	if e := checkRequisiteValues(fields); e != nil {
		return nil, e
	}
	return ok(s.data.addRequisite(fields))
}

func (d *store) addRequisite(fields map[string]any) int64 {
	d.nextReq++
	user := strconv.FormatInt(d.s.opts.UserID, 10)
	r := &RequisiteRow{ID: d.nextReq, Fields: map[string]any{"ID": strconv.FormatInt(d.nextReq, 10),
		"DATE_CREATE": d.nowString(), "DATE_MODIFY": "", "CREATED_BY_ID": user, "MODIFY_BY_ID": nil,
		"ACTIVE": "Y", "ADDRESS_ONLY": "N", "SORT": "500", "RQ_VAT_PAYER": "N"}}
	d.applyRequisite(r, fields, true)
	d.requisites = append(d.requisites, r)
	return r.ID
}

// applyRequisite stores known fields; immutable ones only on add, unknown
// ones are ignored silently as elsewhere.
func (d *store) applyRequisite(r *RequisiteRow, fields map[string]any, isAdd bool) bool {
	changed := false
	for k, v := range fields {
		name := strings.ToUpper(k)
		if !slices.Contains(requisiteFields, name) || readOnly[name] || name == "ID" {
			continue
		}
		if slices.Contains(requisiteImmutable, name) && !isAdd {
			continue
		}
		nv := legacy(name, v)
		if Str(r.Fields[name]) != Str(nv) || r.Fields[name] == nil && nv != nil {
			changed = true
		}
		r.Fields[name] = nv
	}
	return changed
}

func (s *Server) requisiteParam(p map[string]any) (*RequisiteRow, *apiErr) {
	raw, _ := getCI(p, "id")
	id, valid := intParam(raw)
	if !valid || id <= 0 {
		return nil, legacyErr("ID is not defined or invalid.")
	}
	r := s.data.requisite(id)
	if r == nil {
		return nil, legacyErr(fmt.Sprintf("The Requisite with ID '%d' is not found", id))
	}
	return r, nil
}

// requisiteUpdate answers true when a value changed, false when none did
// (crm-requisite-update.md).
func (s *Server) requisiteUpdate(p map[string]any) (*result, *apiErr) {
	r, e := s.requisiteParam(p)
	if e != nil {
		return nil, e
	}
	fields, e := fieldsParam(p, fieldsNotArray)
	if e != nil {
		return nil, e
	}
	if e := checkRequisiteValues(fields); e != nil {
		return nil, e
	}
	if !s.data.applyRequisite(r, fields, false) {
		return ok(false)
	}
	r.Fields["DATE_MODIFY"] = s.data.nowString()
	r.Fields["MODIFY_BY_ID"] = strconv.FormatInt(s.opts.UserID, 10)
	return ok(true)
}

func (s *Server) requisiteGet(p map[string]any) (*result, *apiErr) {
	r, e := s.requisiteParam(p)
	if e != nil {
		return nil, e
	}
	return ok(renderRequisite(r, nil))
}

func (s *Server) requisiteDelete(p map[string]any) (*result, *apiErr) {
	r, e := s.requisiteParam(p)
	if e != nil {
		return nil, e
	}
	s.data.requisites = slices.DeleteFunc(s.data.requisites, func(x *RequisiteRow) bool { return x == r })
	return ok(true)
}

func renderRequisite(r *RequisiteRow, sel []string) map[string]any {
	out := map[string]any{}
	for _, f := range requisiteFields {
		if len(sel) == 0 || slices.Contains(sel, f) || slices.Contains(sel, "*") {
			out[f] = r.Fields[f]
		}
	}
	return out
}

func requisiteGetter(r *RequisiteRow) getter {
	return func(f string) []string { return []string{Str(r.Fields[f])} }
}

func selectParam(p map[string]any) []string {
	var sel []string
	if sv, has := getCI(p, "select"); has {
		for _, e := range List(sv) {
			sel = append(sel, strings.ToUpper(Str(e)))
		}
	}
	return sel
}

func (s *Server) requisiteList(p map[string]any) (*result, *apiErr) {
	filter, e := filterParam(p)
	if e != nil {
		return nil, e
	}
	sel := selectParam(p)
	ov, _ := getCI(p, "order")
	start, _ := getCI(p, "start")
	if e := checkStart("crm.requisite.list", start); e != nil {
		return nil, e
	}
	cs := compileFilter(filter)
	rows, res := listPage(s.data.requisites, func(r *RequisiteRow) bool { return cs.match(requisiteGetter(r)) },
		asMap(ov), start, requisiteGetter)
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = renderRequisite(r, sel)
	}
	res.value = out
	return res, nil
}

// Presets.

func presetFields(pr *PresetRow) map[string]any {
	return map[string]any{"ID": strconv.FormatInt(pr.ID, 10), "ENTITY_TYPE_ID": "8",
		"COUNTRY_ID": strconv.FormatInt(pr.CountryID, 10), "DATE_CREATE": "2024-01-01T00:00:00+00:00", "DATE_MODIFY": "",
		"CREATED_BY_ID": "1", "MODIFY_BY_ID": nil, "NAME": pr.Name, "XML_ID": pr.XMLID, "ACTIVE": yn(pr.Active),
		"SORT": strconv.Itoa(pr.Sort)}
}

func (s *Server) presetList(p map[string]any) (*result, *apiErr) {
	fv, _ := getCI(p, "filter")
	cs := compileFilter(asMap(fv))
	sel := selectParam(p)
	ov, _ := getCI(p, "order")
	start, _ := getCI(p, "start")
	if e := checkStart("crm.requisite.preset.list", start); e != nil {
		return nil, e
	}
	get := func(pr *PresetRow) getter {
		f := presetFields(pr)
		return func(name string) []string { return []string{Str(f[name])} }
	}
	rows, res := listPage(s.data.presets, func(pr *PresetRow) bool { return cs.match(get(pr)) }, asMap(ov), start, get)
	out := make([]any, len(rows))
	for i, pr := range rows {
		f := presetFields(pr)
		if len(sel) > 0 {
			for k := range f {
				if !slices.Contains(sel, k) {
					delete(f, k)
				}
			}
		}
		out[i] = f
	}
	res.value = out
	return res, nil
}

// Seeds and readers.

// SeedCompany stores a company as if created in the portal; PHONE and
// EMAIL may be []string.
func (s *Server) SeedCompany(fields map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := toParamMap(fields)
	if Str(f["TITLE"]) == "" {
		f["TITLE"] = "Company"
	}
	id, _ := s.data.add("company", f)
	return id
}

// SeedRequisite stores a requisite of a company (the Organization preset
// unless PRESET_ID is given; NAME defaults to the preset's name).
func (s *Server) SeedRequisite(companyID int64, fields map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := map[string]any{"ENTITY_TYPE_ID": "4", "ENTITY_ID": companyID, "PRESET_ID": "1"}
	for k, v := range fields {
		f[k] = v
	}
	if Str(f["NAME"]) == "" {
		pid, _ := intParam(f["PRESET_ID"])
		if pr := s.data.preset(pid); pr != nil {
			f["NAME"] = pr.Name
		}
	}
	return s.data.addRequisite(f)
}

// SeedPreset adds a requisite preset (an administrator's own template) and
// returns its id.
func (s *Server) SeedPreset(name, xmlID string, countryID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.nextPreset++
	s.data.presets = append(s.data.presets, &PresetRow{ID: s.data.nextPreset, Name: name, XMLID: xmlID,
		CountryID: countryID, Active: true, Sort: 500})
	return s.data.nextPreset
}

// DeletePreset removes a preset, as an administrator may.
func (s *Server) DeletePreset(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.presets = slices.DeleteFunc(s.data.presets, func(p *PresetRow) bool { return p.ID == id })
}

// LinkContactCompany acts as a person linking a contact and a company.
func (s *Server) LinkContactCompany(contactID, companyID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	contact, company := s.data.entities["contact"].rows[contactID], s.data.entities["company"].rows[companyID]
	if contact == nil || company == nil {
		return fmt.Errorf("bitrixtest: contact %d or company %d not found", contactID, companyID)
	}
	if !slices.ContainsFunc(contact.Companies, func(b CompanyBinding) bool { return b.CompanyID == companyID }) {
		s.data.addCompanyToContact(contact, companyID, 0, false)
		s.data.addContactToCompany(company, contactID, 0, false)
	}
	return nil
}

// Company returns a copy of a stored company.
func (s *Server) Company(id int64) (Row, bool) { return s.row("company", id) }

// Companies returns copies of all companies by id.
func (s *Server) Companies() []Row { return s.rows("company") }

// ContactCompanies returns a contact's linked companies in SORT order.
func (s *Server) ContactCompanies(contactID int64) []CompanyBinding {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.data.entities["contact"].rows[contactID]
	if r == nil {
		return nil
	}
	return slices.Clone(r.Companies)
}

// CompanyContacts returns a company's linked contacts in SORT order.
func (s *Server) CompanyContacts(companyID int64) []Binding { return s.bindings("company", companyID) }

// Requisites returns copies of every requisite by id.
func (s *Server) Requisites() []RequisiteRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequisiteRow, len(s.data.requisites))
	for i, r := range s.data.requisites {
		out[i] = RequisiteRow{ID: r.ID, Fields: map[string]any{}}
		for k, v := range r.Fields {
			out[i].Fields[k] = v
		}
	}
	return out
}
