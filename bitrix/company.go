package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Companies, requisites and the links of contacts to companies
// (docs/api-notes.md, "Users, companies, requisites").

// EntityCompany is the legacy crm.company.* family.
const EntityCompany Entity = "company"

// Entity type ids of companies and of requisite presets.
const (
	EntityTypeCompany = 4
	// EntityTypeRequisite is the ENTITY_TYPE_ID every requisite preset
	// carries; it says nothing about organisation or sole trader.
	EntityTypeRequisite = 8
)

// Company and requisite field names.
const (
	FieldCompanyID     = "COMPANY_ID"
	FieldCompanyType   = "COMPANY_TYPE"
	FieldEntityTypeID  = "ENTITY_TYPE_ID"
	FieldEntityID      = "ENTITY_ID"
	FieldPresetID      = "PRESET_ID"
	FieldXMLID         = "XML_ID"
	FieldRqINN         = "RQ_INN"
	FieldRqKPP         = "RQ_KPP"
	FieldRqOGRN        = "RQ_OGRN"
	FieldRqOGRNIP      = "RQ_OGRNIP"
	FieldRqCompanyName = "RQ_COMPANY_NAME"
	FieldRqCompanyFull = "RQ_COMPANY_FULL_NAME"
	FieldRqFirstName   = "RQ_FIRST_NAME"
	FieldRqLastName    = "RQ_LAST_NAME"
	FieldRqSecondName  = "RQ_SECOND_NAME"
	FieldCountryID     = "COUNTRY_ID"
)

// CountryRussia is the COUNTRY_ID of Russian presets
// (crm.requisite.preset.countries: ID 1, CODE RU).
const CountryRussia = 1

const (
	presetXMLRoot       = "#CRM_REQUISITE_PRESET_DEF_RU_"
	requisiteListMethod = "crm.requisite.list"
	presetListMethod    = "crm.requisite.preset.list"
	requisiteAddMethod  = "crm.requisite.add"
	requisiteUpdMethod  = "crm.requisite.update"
	contactCompanyAdd   = "crm.contact.company.add"
	companyContactAdd   = "crm.company.contact.add"
	contactCompanyItems = "crm.contact.company.items.get"
	companyContactItems = "crm.company.contact.items.get"
	dealDeleteMethod    = "crm.deal.delete"
)

// XML_IDs of the presets a Russian portal is created with (the CRM
// module's fixed preset list; docs/api-notes.md). Look presets up by these,
// never by id: an administrator may have deleted or re-created them.
const (
	PresetXMLCompany    = presetXMLRoot + "COMPANY#"    // organisation (ООО, АО)
	PresetXMLIndividual = presetXMLRoot + "INDIVIDUAL#" // sole trader (ИП)
	PresetXMLPerson     = presetXMLRoot + "PERSON#"     // private person
)

// OriginListCmd builds crm.<e>.list for the rows keyed by originator and
// any of originIDs: the lookup by remote key of a whole chunk in one
// command. Page it with PageCmd when the answer has a next.
func OriginListCmd(e Entity, originator string, originIDs []string, sel []string) Cmd {
	return ListCmd(e, ListRequest{
		Filter: map[string]any{FieldOriginatorID: originator, "@" + FieldOriginID: slices.Clone(originIDs)},
		Select: sel,
		Order:  map[string]string{FieldID: "ASC"},
	})
}

// Preset is a requisite template (crm.requisite.preset.list row).
type Preset struct {
	ID        ID
	Name      string
	XMLID     string
	CountryID int64
	Active    bool
	Sort      int64
}

// UnmarshalJSON reads the legacy string-typed row.
func (p *Preset) UnmarshalJSON(raw []byte) error {
	return fromRecord(raw, p, func(r Record) (Preset, error) {
		country, _ := parseLooseInt(r[FieldCountryID])
		sort, _ := parseLooseInt(r["SORT"])
		return Preset{ID: r.ID(), Name: r.String(FieldName), XMLID: r.String(FieldXMLID), CountryID: country,
			Active: !r.Has("ACTIVE") || r.Bool("ACTIVE"), Sort: sort}, nil
	})
}

// PresetListCmd builds crm.requisite.preset.list of every preset with the
// fields crmsync reads. A portal has a handful; one page holds them.
func PresetListCmd() Cmd {
	return Cmd{Method: presetListMethod, Params: map[string]any{
		"select": []string{FieldID, FieldName, FieldXMLID, FieldCountryID, "ACTIVE", "SORT"},
		"order":  map[string]string{FieldID: "ASC"},
		"start":  0,
	}}
}

// DecodePresets decodes a crm.requisite.preset.list result.
func DecodePresets(raw json.RawMessage) ([]Preset, error) { return listOf[Preset]("presets")(raw) }

// Presets reads every requisite preset, over as many pages as it takes.
func (c *Client) Presets(ctx context.Context) ([]Preset, error) {
	cmd := PresetListCmd()
	return readPages(ctx, c, func(start int) Cmd { return PageCmd(cmd, start) }, decodeIn(cmd.Method, DecodePresets))
}

// FindPreset picks the active preset with xmlID; ok is false when the
// portal has none (an administrator deleted it), and the caller must then
// say so rather than guess an id.
func FindPreset(presets []Preset, xmlID string) (Preset, bool) {
	for _, p := range presets {
		if p.XMLID == xmlID && p.Active {
			return p, true
		}
	}
	return Preset{}, false
}

// Requisite is what crmsync writes to and reads from a company's requisite.
type Requisite struct {
	ID           ID
	EntityTypeID int64
	EntityID     ID // the company
	PresetID     ID
	Name         string // the requisite's own name (required by the docs)
	XMLID        string
	INN          string
	KPP          string
	OGRN         string
	OGRNIP       string
	CompanyName  string // RQ_COMPANY_NAME, short legal name
	CompanyFull  string // RQ_COMPANY_FULL_NAME
}

// UnmarshalJSON reads the legacy string-typed row.
func (q *Requisite) UnmarshalJSON(raw []byte) error {
	return fromRecord(raw, q, func(r Record) (Requisite, error) {
		et, _ := parseLooseInt(r[FieldEntityTypeID])
		return Requisite{ID: r.ID(), EntityTypeID: et, EntityID: r.IDField(FieldEntityID), PresetID: r.IDField(FieldPresetID),
			Name: r.String(FieldName), XMLID: r.String(FieldXMLID), INN: r.String(FieldRqINN), KPP: r.String(FieldRqKPP),
			OGRN: r.String(FieldRqOGRN), OGRNIP: r.String(FieldRqOGRNIP), CompanyName: r.String(FieldRqCompanyName),
			CompanyFull: r.String(FieldRqCompanyFull)}, nil
	})
}

// requisiteSelect are the fields a requisite lookup reads.
func requisiteSelect() []string {
	return []string{FieldID, FieldEntityTypeID, FieldEntityID, FieldPresetID, FieldName, FieldXMLID, FieldRqINN,
		FieldRqKPP, FieldRqOGRN, FieldRqOGRNIP, FieldRqCompanyName, FieldRqCompanyFull}
}

// RequisiteFields renders the values to write. Empty values are left out,
// so an update never wipes what a person typed. ENTITY_TYPE_ID, ENTITY_ID
// and PRESET_ID are immutable (crm.requisite.fields): only the add sends
// them, and entityID may be a batch reference to the company's add.
func RequisiteFields(q Requisite, entityID any) Fields {
	f := Fields{}
	if entityID != nil {
		f[FieldEntityTypeID] = EntityTypeCompany
		f[FieldEntityID] = entityID
		f[FieldPresetID] = q.PresetID
	}
	for k, v := range map[string]string{FieldName: q.Name, FieldXMLID: q.XMLID, FieldRqINN: q.INN, FieldRqKPP: q.KPP,
		FieldRqOGRN: q.OGRN, FieldRqOGRNIP: q.OGRNIP, FieldRqCompanyName: q.CompanyName, FieldRqCompanyFull: q.CompanyFull} {
		if v != "" {
			f[k] = v
		}
	}
	return f
}

// RequisiteAddCmd builds crm.requisite.add of a company's requisite.
// company is the company's id or, in the batch that creates the company,
// ResultRef of its crm.company.add (the add answers the bare id).
func RequisiteAddCmd(company any, q Requisite) Cmd {
	return Cmd{Method: requisiteAddMethod, Params: map[string]any{"fields": map[string]any(RequisiteFields(q, company))}}
}

// RequisiteUpdateCmd builds crm.requisite.update with the given fields
// only; send just what is missing or changed.
func RequisiteUpdateCmd(id ID, fields Fields) Cmd {
	return Cmd{Method: requisiteUpdMethod, Params: map[string]any{"id": id, "fields": map[string]any(fields)}}
}

// RequisitesByINNCmd finds companies' requisites by INN, and KPP when given
// (a branch of an organisation shares its INN and differs in KPP). The
// portal compares the text as stored: pass the INN as digits only.
func RequisitesByINNCmd(inn, kpp string) Cmd {
	filter := map[string]any{FieldEntityTypeID: EntityTypeCompany, FieldRqINN: inn}
	if kpp != "" {
		filter[FieldRqKPP] = kpp
	}
	return requisiteList(filter)
}

// RequisitesOfCmd lists the requisites of the given companies.
func RequisitesOfCmd(companies []ID) Cmd {
	ids := make([]string, len(companies))
	for i, id := range companies {
		ids[i] = id.String()
	}
	return requisiteList(map[string]any{FieldEntityTypeID: EntityTypeCompany, "@" + FieldEntityID: ids})
}

func requisiteList(filter map[string]any) Cmd {
	return Cmd{Method: requisiteListMethod, Params: map[string]any{"filter": filter, "select": requisiteSelect(),
		"order": map[string]string{FieldID: "ASC"}, "start": 0}}
}

// DecodeRequisites decodes a crm.requisite.list result.
func DecodeRequisites(raw json.RawMessage) ([]Requisite, error) {
	return listOf[Requisite]("requisites")(raw)
}

// Requisites runs a requisite list command over all its pages.
func (c *Client) Requisites(ctx context.Context, cmd Cmd) ([]Requisite, error) {
	return readPages(ctx, c, func(start int) Cmd { return PageCmd(cmd, start) }, decodeIn(cmd.Method, DecodeRequisites))
}

// RequisiteAdd creates a requisite of an existing company.
func (c *Client) RequisiteAdd(ctx context.Context, company ID, q Requisite) (ID, error) {
	var id ID
	_, err := c.Run(ctx, RequisiteAddCmd(company, q), &id)
	return id, err
}

// RequisiteUpdate changes a requisite. The portal answers false when
// nothing changed; that is no error.
func (c *Client) RequisiteUpdate(ctx context.Context, id ID, fields Fields) error {
	cmd := RequisiteUpdateCmd(id, fields)
	resp, err := c.Run(ctx, cmd, nil)
	if err != nil {
		return err
	}
	_, err = DecodeAdded(resp.Result)
	return err
}

// CompanyBinding is one company of a contact (crm.contact.company.items.get)
// or one contact of a company (crm.company.contact.items.get): ID is the
// other side's id.
type CompanyBinding struct {
	ID      ID
	Sort    int
	Primary bool
}

// ContactCompanyAddCmd builds crm.contact.company.add: it links one company
// to the contact and leaves the contact's other companies; the answer is
// false when the company was linked already. IS_PRIMARY is never sent, so
// the link is primary only when the contact has no primary company and a
// person's choice stands. There is deliberately no helper for
// crm.contact.company.items.set (it unlinks what it is not given) nor for
// COMPANY_ID/COMPANY_IDS on crm.contact.update.
func ContactCompanyAddCmd(contact, company ID) Cmd {
	return Cmd{Method: contactCompanyAdd, Params: map[string]any{"id": contact, "fields": map[string]any{FieldCompanyID: company}}}
}

// CompanyContactAddCmd builds crm.company.contact.add, the same link seen
// from the company (contact is linked to company). company may be a batch
// reference to the company's add.
func CompanyContactAddCmd(company any, contact ID) Cmd {
	return Cmd{Method: companyContactAdd, Params: map[string]any{"id": company, "fields": map[string]any{FieldContactID: contact}}}
}

// ContactCompaniesCmd builds crm.contact.company.items.get.
func ContactCompaniesCmd(contact ID) Cmd {
	return Cmd{Method: contactCompanyItems, Params: map[string]any{"id": contact}}
}

// CompanyContactsCmd builds crm.company.contact.items.get.
func CompanyContactsCmd(company ID) Cmd {
	return Cmd{Method: companyContactItems, Params: map[string]any{"id": company}}
}

// DecodeCompanyBindings decodes either items.get answer; idField is
// COMPANY_ID for a contact's companies and CONTACT_ID for a company's
// contacts.
func DecodeCompanyBindings(raw json.RawMessage, idField string) ([]CompanyBinding, error) {
	return readRows(listOf[Record]("bindings"), func(r Record) (CompanyBinding, error) {
		sort, err := parseLooseInt(r["SORT"])
		if err != nil {
			return CompanyBinding{}, fmt.Errorf("%w: binding SORT: %w", ErrBadResponse, err)
		}
		return CompanyBinding{ID: r.IDField(idField), Sort: int(sort), Primary: r.Bool("IS_PRIMARY")}, nil
	})(raw)
}

// LinkContactCompany links company to contact; it reports whether the link
// is new.
func (c *Client) LinkContactCompany(ctx context.Context, contact, company ID) (bool, error) {
	return runAs(ctx, c, ContactCompanyAddCmd(contact, company), DecodeAdded)
}

// ContactCompanies reads the companies linked to a contact.
func (c *Client) ContactCompanies(ctx context.Context, contact ID) ([]CompanyBinding, error) {
	return runAs(ctx, c, ContactCompaniesCmd(contact), func(raw json.RawMessage) ([]CompanyBinding, error) {
		return DecodeCompanyBindings(raw, FieldCompanyID)
	})
}

// DealDeleteCmd builds crm.deal.delete. crmsync never deletes a deal; the
// command exists for tests that act as a person deleting one.
func DealDeleteCmd(id ID) Cmd {
	return Cmd{Method: dealDeleteMethod, Params: map[string]any{"id": id}}
}
