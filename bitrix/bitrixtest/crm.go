package bitrixtest

import (
	"slices"
	"strconv"
	"strings"
)

var knownFields = map[string][]string{
	"deal": {"ID", "TITLE", "TYPE_ID", "CATEGORY_ID", "STAGE_ID", "STAGE_SEMANTIC_ID", "IS_NEW", "IS_RECURRING",
		"IS_RETURN_CUSTOMER", "IS_REPEATED_APPROACH", "PROBABILITY", "CURRENCY_ID", "OPPORTUNITY", "IS_MANUAL_OPPORTUNITY",
		"TAX_VALUE", "COMPANY_ID", "CONTACT_ID", "QUOTE_ID", "BEGINDATE", "CLOSEDATE", "OPENED", "CLOSED", "COMMENTS",
		"ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE", "DATE_MODIFY", "MOVED_BY_ID", "MOVED_TIME",
		"SOURCE_ID", "SOURCE_DESCRIPTION", "LEAD_ID", "ADDITIONAL_INFO", "LOCATION_ID", "ORIGINATOR_ID", "ORIGIN_ID",
		"UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM", "LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY"},
	"contact": {"ID", "HONORIFIC", "NAME", "SECOND_NAME", "LAST_NAME", "BIRTHDATE", "TYPE_ID", "SOURCE_ID",
		"SOURCE_DESCRIPTION", "POST", "ADDRESS", "COMMENTS", "OPENED", "EXPORT", "HAS_PHONE", "HAS_EMAIL", "ASSIGNED_BY_ID",
		"CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE", "DATE_MODIFY", "COMPANY_ID", "LEAD_ID", "ORIGINATOR_ID",
		"ORIGIN_ID", "ORIGIN_VERSION", "UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM",
		"LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY"},
	"lead": {"ID", "TITLE", "HONORIFIC", "NAME", "SECOND_NAME", "LAST_NAME", "COMPANY_TITLE", "COMPANY_ID",
		"CONTACT_ID", "IS_RETURN_CUSTOMER", "BIRTHDATE", "SOURCE_ID", "SOURCE_DESCRIPTION", "STATUS_ID",
		"STATUS_DESCRIPTION", "STATUS_SEMANTIC_ID", "POST", "ADDRESS", "CURRENCY_ID", "OPPORTUNITY",
		"IS_MANUAL_OPPORTUNITY", "OPENED", "COMMENTS", "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID",
		"DATE_CREATE", "DATE_MODIFY", "ORIGINATOR_ID", "ORIGIN_ID", "UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN",
		"UTM_CONTENT", "UTM_TERM", "LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY"},
	// As crm.company.get answers (crm_company_get.json).
	"company": {"ID", "COMPANY_TYPE", "TITLE", "LOGO", "LEAD_ID", "HAS_PHONE", "HAS_EMAIL", "HAS_IMOL", "ASSIGNED_BY_ID",
		"CREATED_BY_ID", "MODIFY_BY_ID", "BANKING_DETAILS", "INDUSTRY", "REVENUE", "CURRENCY_ID", "EMPLOYEES", "COMMENTS",
		"DATE_CREATE", "DATE_MODIFY", "OPENED", "IS_MY_COMPANY", "ORIGINATOR_ID", "ORIGIN_ID", "ORIGIN_VERSION",
		"ADDRESS", "ADDRESS_2", "ADDRESS_CITY", "ADDRESS_POSTAL_CODE", "ADDRESS_REGION", "ADDRESS_PROVINCE",
		"ADDRESS_COUNTRY", "ADDRESS_COUNTRY_CODE", "ADDRESS_LOC_ADDR_ID", "ADDRESS_LEGAL", "REG_ADDRESS", "REG_ADDRESS_2",
		"REG_ADDRESS_CITY", "REG_ADDRESS_POSTAL_CODE", "REG_ADDRESS_REGION", "REG_ADDRESS_PROVINCE", "REG_ADDRESS_COUNTRY",
		"REG_ADDRESS_COUNTRY_CODE", "REG_ADDRESS_LOC_ADDR_ID", "UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT",
		"UTM_TERM", "LAST_ACTIVITY_BY", "LAST_ACTIVITY_TIME", "LAST_COMMUNICATION_TIME"},
}

// fieldTypes are the types crm.<e>.fields gives, where not string
// (crm_deal_fields.json).
var fieldTypes = map[string]string{"BEGINDATE": "date", "CLOSEDATE": "date", "OPPORTUNITY": "double", "TAX_VALUE": "double",
	"IS_MANUAL_OPPORTUNITY": "char", "DATE_CREATE": "datetime", "DATE_MODIFY": "datetime", "MOVED_TIME": "datetime",
	"LAST_ACTIVITY_TIME": "datetime"}

// Fields the API never lets a caller write.
var readOnly = map[string]bool{"ID": true, "STAGE_SEMANTIC_ID": true, "STATUS_SEMANTIC_ID": true, "DATE_CREATE": true,
	"DATE_MODIFY": true, "CREATED_BY_ID": true, "MODIFY_BY_ID": true, "MOVED_BY_ID": true, "MOVED_TIME": true,
	"IS_NEW": true, "HAS_PHONE": true, "HAS_EMAIL": true, "HAS_IMOL": true, "LAST_COMMUNICATION_TIME": true, "CLOSED": true, "LAST_ACTIVITY_TIME": true, "LAST_ACTIVITY_BY": true}

var multiFields = []string{"PHONE", "EMAIL", "WEB", "IM", "LINK"}

func isMultiField(name string) bool {
	for _, m := range multiFields {
		if m == name {
			return true
		}
	}
	return false
}

func isKnown(kind, name string) bool {
	for _, f := range knownFields[kind] {
		if f == name {
			return true
		}
	}
	return false
}

func ufEntity(kind string) string { return "CRM_" + strings.ToUpper(kind) }

func (d *store) userField(kind, name string) *UserField {
	for _, uf := range d.userFields {
		if uf.EntityID == ufEntity(kind) && uf.FieldName == name {
			return uf
		}
	}
	return nil
}

// legacy renders an input scalar as the legacy API stores it.
func legacy(name string, v any) any {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case bool:
		if x {
			return "Y"
		}
		return "N"
	case map[string]any, []any:
		out := []any{}
		for _, e := range List(x) {
			out = append(out, Str(e))
		}
		return out
	}
	s := Str(v)
	if name == "OPPORTUNITY" || name == "TAX_VALUE" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return strconv.FormatFloat(f, 'f', 2, 64)
		}
	}
	return s
}

// add creates a row from "fields" values, applying defaults.
func (d *store) add(kind string, fields map[string]any) (int64, *apiErr) {
	t := d.entities[kind]
	t.next++
	id := t.next
	now := d.nowString()
	r := &Row{ID: id, Fields: map[string]any{"ID": strconv.FormatInt(id, 10)}, Multi: map[string][]MultiRow{}}
	user := strconv.FormatInt(d.s.opts.UserID, 10)
	r.Fields["ASSIGNED_BY_ID"], r.Fields["CREATED_BY_ID"], r.Fields["MODIFY_BY_ID"] = user, user, user
	r.Fields["DATE_CREATE"], r.Fields["DATE_MODIFY"] = now, now
	r.Fields["LAST_ACTIVITY_TIME"], r.Fields["LAST_ACTIVITY_BY"] = now, user
	r.Fields["OPENED"] = "Y"
	d.apply(kind, r, fields, true)
	switch kind {
	case "deal":
		if Str(r.Fields["TITLE"]) == "" {
			r.Fields["TITLE"] = "Deal #" + r.Fields["ID"].(string)
		}
		cat, _ := intParam(r.Fields["CATEGORY_ID"])
		if _, ok := d.categories[cat]; !ok {
			cat = 0
		}
		r.Fields["CATEGORY_ID"] = strconv.FormatInt(cat, 10)
		st := d.stage(cat, Str(r.Fields["STAGE_ID"]))
		if st == nil {
			st = d.firstStage(stageEntity(cat))
		}
		r.Fields["STAGE_ID"] = st.StatusID
		r.Fields["STAGE_SEMANTIC_ID"] = semanticID(st)
		r.Fields["CLOSED"] = yn(st.Semantics != "")
		setDefault(r.Fields, "OPPORTUNITY", "0.00")
		setDefault(r.Fields, "CURRENCY_ID", "RUB")
		setDefault(r.Fields, "IS_RETURN_CUSTOMER", "N")
		setDefault(r.Fields, "IS_MANUAL_OPPORTUNITY", "N")
		// "By default — the date the deal is created", and "the date the
		// deal is created plus 7 days" (crm-deal-add.md), not BEGINDATE + 7.
		setDefault(r.Fields, "BEGINDATE", d.renderDate(d.today()))
		setDefault(r.Fields, "CLOSEDATE", d.renderDate(d.today().AddDate(0, 0, 7)))
		d.history = append(d.history, &HistoryRow{ID: d.newID(), EntityTypeID: 2, TypeID: 1, OwnerID: id, CategoryID: cat,
			StageID: st.StatusID, SemanticID: semanticID(st), Created: d.s.clock.Now()})
	case "company":
		// "Default — the first available company type" (crm-company-add.md).
		if d.status("COMPANY_TYPE", Str(r.Fields["COMPANY_TYPE"])) == nil {
			r.Fields["COMPANY_TYPE"] = d.firstStage("COMPANY_TYPE").StatusID
		}
		setDefault(r.Fields, "IS_MY_COMPANY", "N")
		r.Fields["HAS_IMOL"] = "N"
	case "lead":
		if Str(r.Fields["TITLE"]) == "" {
			r.Fields["TITLE"] = "Lead #" + r.Fields["ID"].(string)
		}
		st := d.status("STATUS", Str(r.Fields["STATUS_ID"]))
		if st == nil {
			st = d.firstStage("STATUS")
		}
		r.Fields["STATUS_ID"], r.Fields["STATUS_SEMANTIC_ID"] = st.StatusID, semanticID(st)
		r.Fields["IS_RETURN_CUSTOMER"] = yn(Str(r.Fields["CONTACT_ID"]) != "" || Str(r.Fields["COMPANY_ID"]) != "")
		d.history = append(d.history, &HistoryRow{ID: d.newID(), EntityTypeID: 1, TypeID: 1, OwnerID: id,
			StageID: st.StatusID, SemanticID: semanticID(st), Created: d.s.clock.Now()})
	}
	t.insert(r)
	return id, nil
}

func setDefault(m map[string]any, k string, v any) {
	if Str(m[k]) == "" {
		m[k] = v
	}
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func stageEntity(cat int64) string {
	if cat == 0 {
		return "DEAL_STAGE"
	}
	return "DEAL_STAGE_" + strconv.FormatInt(cat, 10)
}

// apply writes fields into r: unknown and read-only fields are ignored
// silently (as the portal does), CATEGORY_ID only on add, multifields with
// the portal's add/update/delete rules.
func (d *store) apply(kind string, r *Row, fields map[string]any, isAdd bool) {
	var contacts, companies map[string]any
	for k, v := range fields {
		name := strings.ToUpper(k)
		switch {
		case isMultiField(name) && kind != "deal":
			d.applyMulti(r, name, v)
		case (name == "CONTACT_IDS" || name == "CONTACT_ID") && (kind == "deal" || kind == "lead"):
			if contacts == nil {
				contacts = map[string]any{}
			}
			contacts[name] = v // applied below: CONTACT_IDS wins over CONTACT_ID
		case (name == "COMPANY_IDS" || name == "COMPANY_ID") && kind == "contact":
			if companies == nil {
				companies = map[string]any{}
			}
			companies[name] = v // applied below, as the contacts of a deal
		case strings.HasPrefix(name, "UF_"):
			if uf := d.userField(kind, name); uf != nil {
				if uf.UserTypeID == "enumeration" {
					d.checkEnum(uf, v)
				}
				r.Fields[name] = legacy(name, v)
			}
		case kind == "deal" && slices.Contains(dateFields, name):
			d.setDate(r, name, v)
		case readOnly[name]:
		case name == "CATEGORY_ID" && !isAdd:
		case name == "STAGE_ID" && !isAdd:
			d.setStage(r, Str(v), d.s.opts.UserID, false)
		case name == "STATUS_ID" && !isAdd && kind == "lead":
			d.setStage(r, Str(v), d.s.opts.UserID, true)
		case isKnown(kind, name):
			r.Fields[name] = legacy(name, v)
		}
	}
	if contacts != nil {
		d.applyContactFields(r, contacts)
	}
	if companies != nil {
		d.applyCompanyFields(r, companies)
	}
	if kind == "lead" && !isAdd && (contacts != nil || hasKey(fields, "COMPANY_ID")) {
		// A lead saved with CONTACT_ID or COMPANY_ID becomes a repeat lead
		// (b24restdocs:api-reference/crm/leads/crm-lead-update.md).
		r.Fields["IS_RETURN_CUSTOMER"] = yn(Str(r.Fields["CONTACT_ID"]) != "" || Str(r.Fields["COMPANY_ID"]) != "")
	}
	if len(r.Products) > 0 && (hasKey(fields, "OPPORTUNITY") || hasKey(fields, "IS_MANUAL_OPPORTUNITY")) {
		// An entity with product rows and an automatic amount keeps the
		// rows' total whatever OPPORTUNITY says (recalcOpportunity).
		recalcOpportunity(r)
	}
	if kind != "deal" {
		r.Fields["HAS_PHONE"] = yn(len(r.Multi["PHONE"]) > 0)
		r.Fields["HAS_EMAIL"] = yn(len(r.Multi["EMAIL"]) > 0)
	}
	if t := d.entities[kind]; t.rows[r.ID] == r {
		t.reindex(r) // an update; add indexes the row once it is complete
	}
}

// applyMulti: a row without ID is added (so an existing value resent without
// its ID becomes a duplicate row); {ID, VALUE} updates; {ID, DELETE: Y},
// {ID, VALUE: ""} and a bare {ID} delete; unmentioned rows stay.
func (d *store) applyMulti(r *Row, typ string, v any) {
	for _, item := range List(v) {
		m := asMap(item)
		if m == nil {
			if s := Str(item); s != "" {
				m = map[string]any{"VALUE": s}
			} else {
				continue
			}
		}
		rowID, hasID := intParam(m["ID"])
		val, hasVal := m["VALUE"]
		vt := Str(m["VALUE_TYPE"])
		if !hasID || rowID == 0 {
			if Str(val) == "" {
				continue
			}
			if vt == "" {
				vt = "WORK"
			}
			d.nextMulti++
			r.Multi[typ] = append(r.Multi[typ], MultiRow{ID: d.nextMulti, TypeID: typ, ValueType: vt, Value: Str(val)})
			continue
		}
		rows := r.Multi[typ]
		for i := range rows {
			if rows[i].ID != rowID {
				continue
			}
			if truthy(m["DELETE"]) || !hasVal || Str(val) == "" {
				r.Multi[typ] = append(rows[:i:i], rows[i+1:]...)
			} else {
				rows[i].Value = Str(val)
				if vt != "" {
					rows[i].ValueType = vt
				}
			}
			break
		}
	}
}

// touchActivity stamps the entity's last activity: the portal moves
// LAST_ACTIVITY_TIME on timeline events such as a stage move or a comment,
// which is how push finds deals with new comments.
func touchActivity(r *Row, now string, userID int64) {
	r.Fields["LAST_ACTIVITY_TIME"], r.Fields["LAST_ACTIVITY_BY"] = now, strconv.FormatInt(userID, 10)
}

// setStage moves a deal (or lead) and writes a stage-history row.
func (d *store) setStage(r *Row, stageID string, userID int64, lead bool) {
	if lead {
		st := d.status("STATUS", stageID)
		if st == nil || Str(r.Fields["STATUS_ID"]) == stageID {
			return
		}
		r.Fields["STATUS_ID"], r.Fields["STATUS_SEMANTIC_ID"] = st.StatusID, semanticID(st)
		touchActivity(r, d.nowString(), userID)
		d.history = append(d.history, &HistoryRow{ID: d.newID(), EntityTypeID: 1, TypeID: moveType(st), OwnerID: r.ID,
			StageID: st.StatusID, SemanticID: semanticID(st), Created: d.s.clock.Now()})
		return
	}
	cat, _ := intParam(r.Fields["CATEGORY_ID"])
	st := d.stage(cat, stageID)
	if st == nil || Str(r.Fields["STAGE_ID"]) == stageID {
		return
	}
	now := d.nowString()
	r.Fields["STAGE_ID"], r.Fields["STAGE_SEMANTIC_ID"] = st.StatusID, semanticID(st)
	r.Fields["CLOSED"] = yn(st.Semantics != "")
	r.Fields["MOVED_BY_ID"], r.Fields["MOVED_TIME"] = strconv.FormatInt(userID, 10), now
	r.Fields["DATE_MODIFY"], r.Fields["MODIFY_BY_ID"] = now, strconv.FormatInt(userID, 10)
	touchActivity(r, now, userID)
	d.history = append(d.history, &HistoryRow{ID: d.newID(), EntityTypeID: 2, TypeID: moveType(st), OwnerID: r.ID,
		CategoryID: cat, StageID: st.StatusID, SemanticID: semanticID(st), Created: d.s.clock.Now()})
}

func moveType(st *Status) int {
	if st.Semantics != "" {
		return 3
	}
	return 2
}

// render produces the API view of a row: legacy strings, multifields as
// [{ID, VALUE_TYPE, VALUE, TYPE_ID}] only when named in select (or for get).
func (d *store) render(kind string, r *Row, sel []string, get bool) map[string]any {
	out := map[string]any{}
	all := get || len(sel) == 0
	uf := get || len(sel) == 0
	named := map[string]bool{}
	for _, s := range sel {
		switch s {
		case "*":
			all = true
		case "UF_*":
			uf = true
		default:
			named[strings.ToUpper(s)] = true
		}
	}
	for _, f := range knownFields[kind] {
		if all || named[f] {
			out[f] = r.Fields[f]
		}
	}
	for _, ufd := range d.userFields {
		if ufd.EntityID == ufEntity(kind) && (uf || named[ufd.FieldName]) {
			out[ufd.FieldName] = r.Fields[ufd.FieldName]
		}
	}
	if kind != "deal" {
		for _, m := range multiFields {
			if !(get || named[m]) || len(r.Multi[m]) == 0 {
				continue
			}
			rows := make([]any, 0, len(r.Multi[m]))
			for _, mr := range r.Multi[m] {
				rows = append(rows, map[string]any{"ID": strconv.FormatInt(mr.ID, 10), "VALUE_TYPE": mr.ValueType, "VALUE": mr.Value, "TYPE_ID": mr.TypeID})
			}
			out[m] = rows
		}
	}
	if len(named) > 0 && !all {
		out["ID"] = r.Fields["ID"]
	}
	return out
}

func hasKey(m map[string]any, key string) bool {
	_, ok := getCI(m, key)
	return ok
}
