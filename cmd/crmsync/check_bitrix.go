package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/rules"
)

func (a *app) checkBitrix(ctx context.Context, cfg *config.Config, rep *checkReport, fix bool) {
	bx, err := a.newBitrix(cfg, interactive)
	if err != nil {
		rep.add("bitrix", checkFail, err.Error(), "fix bitrix.webhook_url")
		return
	}
	var scopes []string
	resp, err := bx.Run(ctx, bitrix.ScopeCmd(), &scopes)
	if err != nil {
		rep.add("bitrix.webhook", checkFail, err.Error(), "check bitrix.webhook_url; an administrator who edits a webhook regenerates its secret")
		return
	}
	if off := portalOffset(resp.Time); off != "" {
		rep.add("bitrix.timezone", checkOK, "portal time zone UTC"+off+" (stage history times are read with it)", "")
	}
	// Reported last, from every answer check got.
	defer checkLimits(bx, cfg, resp.Time, rep)
	need := neededScopes(cfg)
	var missing []string
	for _, s := range need {
		if !slices.Contains(scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		rep.add("bitrix.scopes", checkFail, "the webhook lacks the scope(s) "+strings.Join(missing, ", "),
			"in Bitrix24: Developer resources → Inbound webhook, tick "+strings.Join(missing, ", "))
	} else {
		rep.add("bitrix.scopes", checkOK, "the webhook has "+strings.Join(need, ", "), "")
	}
	if !slices.Contains(scopes, "crm") {
		return
	}
	checkStages(ctx, bx, cfg, rep)
	checkSources(ctx, bx, cfg, rep)
	checkFields(ctx, bx, cfg, rep, fix)
	checkContent(ctx, bx, cfg, rep)
	checkPresets(ctx, bx, cfg, rep)
	a.checkDuplicates(ctx, bx, cfg, rep)
}

// checkLimits reports how crmsync paces its requests and what the
// portal's answers to check said about its limits. An on-premise portal's
// limits are its administrator's (the operating-time limit is off by
// default), so the operator compares them with bitrix.rate and
// bitrix.burst (docs/configuration.md, "Request rate").
func checkLimits(bx *bitrix.Client, cfg *config.Config, first *bitrix.Time, rep *checkReport) {
	pacing := fmt.Sprintf("requests paced at %g a second with a burst of %d (bitrix.rate, bitrix.burst)", cfg.Bitrix.Rate, cfg.Bitrix.Burst)
	ops := "the portal's answers carry no operating-time counters (an on-premise portal with that limit off)"
	if first != nil && first.HasOperating {
		ops = fmt.Sprintf("the portal counts operating time per method (%.2f s so far for scope); a method it blocks is paused until its reset", first.Operating)
	}
	st := bx.Stats()
	switch {
	case st.QueryLimitHits > 0:
		rep.add("bitrix.limits", checkWarn, fmt.Sprintf("the portal refused %d of check's %d requests with QUERY_LIMIT_EXCEEDED: its limit is below the pacing, or another application on this host spends it; %s; %s",
			st.QueryLimitHits, st.Requests, pacing, ops),
			"lower bitrix.rate and bitrix.burst to the portal's limit (cloud: 2 and 50, Enterprise: 5 and 250; on-premise: as its administrator set it)")
	case st.OperationLimitHits > 0:
		rep.add("bitrix.limits", checkWarn, fmt.Sprintf("the portal refused %d call(s) with OPERATION_TIME_LIMIT: a method's operating-time budget is spent; %s; %s",
			st.OperationLimitHits, pacing, ops), "wait for the budget to reset; crmsync pauses a blocked method on its own")
	default:
		rep.add("bitrix.limits", checkOK, fmt.Sprintf("%s; the portal answered %d request(s), none refused for rate; %s", pacing, st.Requests, ops), "")
	}
}

// checkPresets reports whether the requisite presets companies are made
// with exist (bitrix.companies): they are found by XML_ID, and without one
// every order whose buyer needs it is parked.
func checkPresets(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport) {
	if !cfg.Bitrix.Companies || cfg.Bitrix.Entity == config.EntityLead {
		return
	}
	presets, err := bx.Presets(ctx)
	if err != nil {
		rep.add("bitrix.companies", checkFail, "reading the requisite presets: "+err.Error(), "")
		return
	}
	var missing []string
	for _, x := range []struct{ xml, what string }{{bitrix.PresetXMLCompany, "organisation"}, {bitrix.PresetXMLIndividual, "sole trader"}} {
		if _, ok := bitrix.FindPreset(presets, x.xml); !ok {
			missing = append(missing, x.xml+" ("+x.what+")")
		}
	}
	if len(missing) > 0 {
		rep.add("bitrix.companies", checkFail, "the portal has no active requisite preset "+strings.Join(missing, ", ")+
			"; orders whose buyer needs it are parked",
			"restore it in CRM settings → requisite templates, or set bitrix.companies: false")
		return
	}
	rep.add("bitrix.companies", checkOK, "requisite presets for organisations and sole traders are in place", "")
}

// checkDuplicates looks again, on the portal, at the ORIGIN_IDs that pull
// found carried by several entities (copies made by people or other tools)
// and reports those still shared. crmsync keeps using the oldest, so this is
// a warning. Without a database there is nothing recorded to look at.
func (a *app) checkDuplicates(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport) {
	st, ok, err := a.openStoreReadOnly(ctx)
	if err != nil || !ok {
		if err != nil {
			rep.add("bitrix.duplicates", checkWarn, "cannot read the database: "+err.Error(), "")
		}
		return
	}
	recorded, err := st.Duplicates(ctx)
	var companies []store.CompanyDuplicate
	if err == nil {
		companies, err = st.CompanyDuplicates(ctx)
	}
	st.Close()
	if err != nil {
		rep.add("bitrix.duplicates", checkWarn, "cannot read the database: "+err.Error(), "")
		return
	}
	if len(recorded)+len(companies) == 0 {
		rep.add("bitrix.duplicates", checkOK, "pull has found no ORIGIN_ID carried by several deals, leads, contacts or companies", "")
		return
	}
	origins := map[store.EntityType][]string{}
	for _, d := range recorded {
		origins[d.EntityType] = append(origins[d.EntityType], strconv.FormatInt(d.OriginID, 10))
	}
	for _, d := range companies {
		origins[store.EntityType(bitrix.EntityCompany)] = append(origins[store.EntityType(bitrix.EntityCompany)], d.OriginID)
	}
	var lines []string
	groups := 0
	for _, et := range slices.Sorted(maps.Keys(origins)) {
		ids := map[string][]int64{}
		for chunk := range slices.Chunk(origins[et], bitrix.PageSize) {
			rows, err := bx.ListPages(ctx, bitrix.Entity(et), bitrix.ListRequest{
				Filter: map[string]any{bitrix.FieldOriginatorID: cfg.Bitrix.OriginatorID, "@" + bitrix.FieldOriginID: chunk},
				Select: []string{"ID", bitrix.FieldOriginID}, Order: map[string]string{"ID": "ASC"}})
			if err != nil {
				rep.add("bitrix.duplicates", checkWarn, fmt.Sprintf("cannot list the %ss: %v", et, err), "")
				return
			}
			for _, r := range rows {
				o := r.String(bitrix.FieldOriginID)
				ids[o] = append(ids[o], int64(r.ID()))
			}
		}
		for _, o := range origins[et] {
			found := ids[o]
			if len(found) < 2 {
				continue
			}
			slices.Sort(found)
			groups++
			if et == store.EntityType(bitrix.EntityCompany) {
				lines = append(lines, companyDuplicateLine(o, found[0], found[1:]))
				continue
			}
			origin, _ := strconv.ParseInt(o, 10, 64)
			lines = append(lines, duplicateLine(string(et), origin, found[0], found[1:]))
		}
	}
	if groups == 0 {
		rep.add("bitrix.duplicates", checkOK, fmt.Sprintf("the %d ORIGIN_ID(s) pull found shared are no longer shared", len(recorded)+len(companies)), "")
		return
	}
	if len(lines) > 5 {
		lines = append(lines[:5], fmt.Sprintf("… %d more (crmsync status --json | jq .duplicates)", len(lines)-5))
	}
	rep.add("bitrix.duplicates", checkWarn, fmt.Sprintf("%d ORIGIN_ID(s) are carried by several entities: %s", groups, strings.Join(lines, "; ")),
		"crmsync updates the oldest of each and creates no more; merge or delete the others in Bitrix24")
}

// neededScopes are the webhook scopes the configuration uses.
func neededScopes(cfg *config.Config) []string {
	need := []string{"crm"}
	for _, r := range cfg.Rules {
		for _, a := range r.Actions {
			switch a.Kind {
			case rules.Task:
				need = append(need, "task")
			case rules.Notify:
				need = append(need, "im")
			case rules.Workflow:
				need = append(need, "bizproc")
			}
		}
	}
	if len(cfg.Alerts.NotifyUserIDs) > 0 {
		need = append(need, "im")
	}
	if cfg.Mapping.Products.Match == config.ProductsMatchExternalID {
		need = append(need, "catalog")
	}
	slices.Sort(need)
	return slices.Compact(need)
}

// stageDirectory is the crm.status ENTITY_ID of the configured entity's
// stages.
func stageDirectory(cfg *config.Config) string {
	if cfg.Bitrix.Entity == config.EntityLead {
		return "STATUS"
	}
	return bitrix.DealStageEntityID(bitrix.ID(cfg.Bitrix.CategoryID))
}

// checkStages checks that the portal has the funnel of bitrix.category_id
// and of each funnels entry, and every stage each one maps, reading each
// funnel's stages once. The top level reports as bitrix.funnel and
// bitrix.stages, an entry as bitrix.funnels[i].
func checkStages(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport) {
	var cats []bitrix.Category
	needCats := false
	for _, f := range cfg.AllFunnels() {
		needCats = needCats || f.CategoryID > 0
	}
	if cfg.Bitrix.Entity == config.EntityDeal && needCats {
		var err error
		if cats, err = bx.CategoryList(ctx, 2); err != nil {
			rep.add("bitrix.funnel", checkFail, err.Error(), "")
			return
		}
	}
	read := map[string][]bitrix.Status{}
	// The top level first, under its established names.
	all := cfg.AllFunnels()
	all = append(all[len(all)-1:], all[:len(all)-1]...)
	for _, f := range all {
		funnelCheck, stagesCheck, key := "bitrix.funnel", "bitrix.stages", "bitrix.category_id"
		if f.Index >= 0 {
			funnelCheck, stagesCheck, key = "bitrix."+f.Path(), "bitrix."+f.Path(), f.Path()+".category_id"
		}
		if cfg.Bitrix.Entity == config.EntityDeal && f.CategoryID > 0 &&
			!slices.ContainsFunc(cats, func(c bitrix.Category) bool { return int(c.ID) == f.CategoryID }) {
			rep.add(funnelCheck, checkFail, fmt.Sprintf("%s %d: the portal has no such deal funnel", key, f.CategoryID),
				"use a funnel id from CRM → Deals → funnels ("+funnelNames(cats)+"), or 0 for the default funnel")
			continue
		}
		dir := "STATUS"
		if cfg.Bitrix.Entity == config.EntityDeal {
			dir = bitrix.DealStageEntityID(bitrix.ID(f.CategoryID))
		}
		rows, ok := read[dir]
		if !ok {
			var err error
			if rows, err = bx.StatusList(ctx, map[string]any{"ENTITY_ID": dir}); err != nil {
				rep.add(stagesCheck, checkFail, err.Error(), "")
				return
			}
			read[dir] = rows
		}
		checkFunnelStages(f, dir, rows, stagesCheck, rep)
	}
	checkRuleStages(cfg, read, rep)
}

// checkRuleStages reports rules whose stage action names a stage its
// funnel lacks, from the directories checkStages read.
func checkRuleStages(cfg *config.Config, read map[string][]bitrix.Status, rep *checkReport) {
	var missing []string
	n := 0
	for _, r := range cfg.Rules {
		for _, a := range r.Actions {
			if a.Kind != rules.Stage {
				continue
			}
			dir := "STATUS"
			if cfg.Bitrix.Entity == config.EntityDeal {
				dir = bitrix.DealStageEntityID(bitrix.ID(config.StageCategory(a.Stage)))
			}
			rows, ok := read[dir]
			if !ok {
				continue // its funnel is missing, reported above
			}
			n++
			if !slices.ContainsFunc(rows, func(s bitrix.Status) bool { return s.StatusID == a.Stage }) {
				missing = append(missing, fmt.Sprintf("rules[%d].do.stage %s (not in %s)", r.Index, a.Stage, dir))
			}
		}
	}
	switch {
	case len(missing) > 0:
		rep.add("rules.stages", checkFail, "rules move deals to stages their funnel lacks: "+strings.Join(missing, ", "),
			"use a stage id of the funnel, as bitrix.stages lists them")
	case n > 0:
		rep.add("rules.stages", checkOK, fmt.Sprintf("the %d stage(s) rules move deals to exist", n), "")
	}
}

// checkFunnelStages reports the stages a funnel maps that its directory
// dir (rows) lacks.
func checkFunnelStages(f config.Funnel, dir string, rows []bitrix.Status, check string, rep *checkReport) {
	have := map[string]bool{}
	for _, r := range rows {
		have[r.StatusID] = true
	}
	var missing []string
	for _, key := range slices.Sorted(maps.Keys(f.Statuses)) {
		if st := f.Statuses[key]; !have[st] {
			missing = append(missing, key+" → "+st)
		}
	}
	for _, st := range slices.Sorted(maps.Keys(f.Stages)) {
		if !have[st] {
			missing = append(missing, "stages."+st)
		}
	}
	if f.Index >= 0 && f.DeletedStage != "" && !have[f.DeletedStage] {
		missing = append(missing, "deleted_stage "+f.DeletedStage)
	}
	if len(missing) > 0 {
		ids := make([]string, 0, len(rows))
		for _, r := range rows {
			ids = append(ids, r.StatusID)
		}
		what := "mapped stages"
		if f.Index >= 0 {
			what = f.Path() + ": stages"
		}
		rep.add(check, checkFail, what+" missing from "+dir+": "+strings.Join(missing, ", "),
			"use stage ids of this funnel: "+strings.Join(ids, ", "))
		return
	}
	what := "every mapped stage"
	if f.Index >= 0 {
		what = fmt.Sprintf("%s (stores %s): every stage", f.Path(), strings.Join(f.Sites, ", "))
	}
	rep.add(check, checkOK, fmt.Sprintf("%s exists in %s (%d stages)", what, dir, len(rows)), "")
}

// funnelNames lists the portal's deal funnels as "id name".
func funnelNames(cats []bitrix.Category) string {
	out := make([]string, 0, len(cats))
	for _, c := range cats {
		out = append(out, fmt.Sprintf("%d %s", c.ID, c.Name))
	}
	return strings.Join(out, ", ")
}

func checkSources(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport) {
	if len(cfg.Mapping.OrderMethods) == 0 {
		return
	}
	rows, err := bx.StatusList(ctx, map[string]any{"ENTITY_ID": "SOURCE"})
	if err != nil {
		rep.add("bitrix.sources", checkWarn, err.Error(), "")
		return
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r.StatusID] = true
	}
	var missing []string
	for _, m := range slices.Sorted(maps.Keys(cfg.Mapping.OrderMethods)) {
		if src := cfg.Mapping.OrderMethods[m]; !have[src] {
			missing = append(missing, m+" → "+src)
		}
	}
	if len(missing) > 0 {
		rep.add("bitrix.sources", checkWarn, "mapping.order_methods names sources the portal does not list: "+strings.Join(missing, ", "),
			"use SOURCE ids from CRM settings → Sources")
	} else {
		rep.add("bitrix.sources", checkOK, "every mapped source exists", "")
	}
}

// missingFields returns the fields (named by name) that the portal's entity
// lacks. When it cannot read the entity's fields, or none is missing, it
// reports so under key and says there is nothing more to check (false).
func missingFields[T any](ctx context.Context, bx *bitrix.Client, entity bitrix.Entity, key string, fields []T,
	name func(T) string, rep *checkReport) ([]T, bool) {
	existing, err := bx.Fields(ctx, entity)
	if err != nil {
		rep.add(key, checkFail, err.Error(), "")
		return nil, false
	}
	var missing []T
	for _, f := range fields {
		if _, ok := existing[name(f)]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		rep.add(key, checkOK, fmt.Sprintf("every mapped %s field exists", entity), "")
		return nil, false
	}
	return missing, true
}

// checkFields reports mapped fields the portal lacks; with fix it creates
// the missing UF_CRM_* ones as string fields.
func checkFields(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport, fix bool) {
	owner := bitrix.EntityDeal
	if cfg.Bitrix.Entity == config.EntityLead {
		owner = bitrix.EntityLead
	}
	for _, part := range []struct {
		entity bitrix.Entity
		key    string
		fields map[string]string
	}{
		{owner, "mapping.deal_fields", cfg.Mapping.DealFields},
		{bitrix.EntityContact, "mapping.contact_fields", cfg.Mapping.ContactFields},
	} {
		if len(part.fields) == 0 {
			continue
		}
		missing, ok := missingFields(ctx, bx, part.entity, part.key, slices.Sorted(maps.Keys(part.fields)),
			func(f string) string { return f }, rep)
		if !ok {
			continue
		}
		var creatable, impossible []string
		for _, f := range missing {
			if strings.HasPrefix(f, "UF_CRM_") {
				creatable = append(creatable, f)
			} else {
				impossible = append(impossible, f)
			}
		}
		if len(impossible) > 0 {
			rep.add(part.key, checkFail, fmt.Sprintf("the %s has no field(s) %s", part.entity, strings.Join(impossible, ", ")),
				"fix the names (Bitrix24 ignores unknown fields silently)")
		}
		if len(creatable) == 0 {
			continue
		}
		if !fix {
			rep.add(part.key, checkFail, fmt.Sprintf("the %s user field(s) %s do not exist", part.entity, strings.Join(creatable, ", ")),
				"run crmsync check --fix to create them (needs a CRM administrator's webhook)")
			continue
		}
		for _, f := range creatable {
			_, err := bx.UserFieldAdd(ctx, part.entity, bitrix.Fields{
				"FIELD_NAME": strings.TrimPrefix(f, "UF_CRM_"), "USER_TYPE_ID": "string",
				"LABEL": "RetailCRM: " + part.fields[f], "XML_ID": "crmsync_" + strings.ToLower(f),
			})
			if err != nil {
				rep.add(part.key, checkFail, fmt.Sprintf("creating %s %s: %v", part.entity, f, err), "create it by hand in CRM settings → fields")
			} else {
				rep.add(part.key, checkFixed, fmt.Sprintf("created the %s user field %s", part.entity, f), "")
			}
		}
	}
}

// portalOffset reads the portal's UTC offset from a response's time object.
func portalOffset(t *bitrix.Time) string {
	if t == nil || t.DateStart == "" {
		return ""
	}
	ts, err := time.Parse(time.RFC3339, t.DateStart)
	if err != nil {
		return ""
	}
	return ts.Format("-07:00")
}

// checkContent checks what a deal carries besides its mapped fields:
// mapping.paid_field exists, every target of mapping.values is an item of
// its list field, a list field written without a mapping.values table (its
// values would name no item) is reported, and the catalogue
// mapping.products searches can be read.
func checkContent(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport) {
	m := cfg.Mapping
	owner := bitrix.EntityDeal
	if cfg.Bitrix.Entity == config.EntityLead {
		owner = bitrix.EntityLead
	}
	// written: every field crmsync writes values of the order to, and
	// whose entity it belongs to.
	written := map[string]bitrix.Entity{}
	for f := range m.DealFields {
		written[f] = owner
	}
	for f := range m.ContactFields {
		written[f] = bitrix.EntityContact
	}
	if m.PaidField != "" {
		written[m.PaidField] = owner
	}
	for f := range m.Values {
		if _, ok := written[f]; !ok {
			written[f] = owner
		}
	}
	if len(written) > 0 {
		fields := map[bitrix.Entity]map[string]bitrix.FieldInfo{}
		info := func(e bitrix.Entity) (map[string]bitrix.FieldInfo, error) {
			if f, ok := fields[e]; ok {
				return f, nil
			}
			f, err := bx.Fields(ctx, e)
			fields[e] = f
			return f, err
		}
		if f := m.PaidField; f != "" {
			all, err := info(owner)
			switch _, ok := all[f]; {
			case err != nil:
				rep.add("mapping.paid_field", checkFail, err.Error(), "")
			case !ok:
				rep.add("mapping.paid_field", checkFail, fmt.Sprintf("the %s has no field %s", owner, f),
					"create a string or list field for it in CRM settings → fields, or fix the name")
			default:
				rep.add("mapping.paid_field", checkOK, fmt.Sprintf("the %s field %s exists", owner, f), "")
			}
		}
		for _, f := range slices.Sorted(maps.Keys(written)) {
			e := written[f]
			all, err := info(e)
			table, hasTable := m.Values[f]
			switch {
			case err != nil && hasTable:
				rep.add("mapping.values."+f, checkFail, err.Error(), "")
			case err != nil:
				// Reaching the fields is reported by the checks of the
				// mapped fields.
			case hasTable:
				var need []string
				if f == m.PaidField {
					need = []string{"Y", "N"}
				}
				checkValues(ctx, bx, e, f, all, table, need, rep)
			default:
				checkUntranslated(ctx, bx, e, f, all, rep)
			}
		}
	}
	if m.Products.Match == config.ProductsMatchExternalID {
		checkCatalog(ctx, bx, m.Products.IBlockID, rep)
	}
}

// listItems are the items of a list field: crm.<entity>.fields may not
// list them for a deal's user field, crm.deal.userfield.list does.
func listItems(ctx context.Context, bx *bitrix.Client, e bitrix.Entity, field string, fi bitrix.FieldInfo) []bitrix.EnumItem {
	items := fi.Items
	if len(items) == 0 && fi.Type == "enumeration" && e == bitrix.EntityDeal {
		if ufs, err := bx.DealUserFieldList(ctx, map[string]any{"FIELD_NAME": field}); err == nil && len(ufs) == 1 {
			items, _ = ufs[0].Items()
		}
	}
	return items
}

// itemIDs lists a list field's items for a fix: `45 = "Courier"`.
func itemIDs(items []bitrix.EnumItem) string {
	avail := make([]string, 0, len(items))
	for _, it := range items {
		avail = append(avail, it.ID.String()+" = "+strconv.Quote(it.Value))
	}
	return strings.Join(avail, ", ")
}

// checkUntranslated reports a list field crmsync writes without a
// mapping.values table: it stores its items' ids, so the order's codes (or
// a paid field's Y/N) would name no item. Other fields take values as they
// are and need no finding.
func checkUntranslated(ctx context.Context, bx *bitrix.Client, e bitrix.Entity, field string, all map[string]bitrix.FieldInfo,
	rep *checkReport) {
	fi, ok := all[field]
	if !ok || fi.Type != "enumeration" {
		return // a missing field is reported by the checks of the mapped fields
	}
	fix := "add mapping.values." + field + " translating each value to an item id"
	if items := listItems(ctx, bx, e, field, fi); len(items) > 0 {
		fix += ": " + itemIDs(items)
	}
	rep.add("mapping.values."+field, checkFail,
		fmt.Sprintf("%s is a list field, which stores its items' ids, and mapping.values has no table for it", field), fix)
}

// checkValues reports targets of mapping.values.<field> that are not the id
// of one of the list field's items (a deal stores the item's id, not its
// text), and source values in need that the table does not translate.
func checkValues(ctx context.Context, bx *bitrix.Client, e bitrix.Entity, field string, all map[string]bitrix.FieldInfo,
	table map[string]string, need []string, rep *checkReport) {
	key := "mapping.values." + field
	fi, ok := all[field]
	if !ok {
		rep.add(key, checkFail, fmt.Sprintf("the %s has no field %s", e, field), "fix the name, or create the field")
		return
	}
	var lacking []string
	for _, v := range need {
		if _, ok := table[v]; !ok {
			lacking = append(lacking, v)
		}
	}
	if len(lacking) > 0 {
		rep.add(key, checkFail, fmt.Sprintf("mapping.values.%s does not translate %s: the field would be left unwritten for it",
			field, strings.Join(lacking, ", ")), "add "+strings.Join(lacking, " and ")+" to the table")
		return
	}
	items := listItems(ctx, bx, e, field, fi)
	if len(items) == 0 {
		if fi.Type == "enumeration" {
			rep.add(key, checkFail, fmt.Sprintf("the list field %s has no items", field), "add the values in CRM settings → fields")
		} else {
			rep.add(key, checkOK, fmt.Sprintf("%s is a %s field: values are written as translated", field, fi.Type), "")
		}
		return
	}
	have := map[string]bool{}
	for _, it := range items {
		have[it.ID.String()] = true
	}
	var bad []string
	for _, from := range slices.Sorted(maps.Keys(table)) {
		if to := table[from]; !have[to] {
			bad = append(bad, from+" → "+to)
		}
	}
	if len(bad) > 0 {
		rep.add(key, checkFail, fmt.Sprintf("%s has no item(s) with these ids: %s", field, strings.Join(bad, ", ")),
			"use the ids of its items: "+itemIDs(items))
		return
	}
	rep.add(key, checkOK, fmt.Sprintf("every value maps to an item of the list field %s", field), "")
}

// checkCatalog reads the catalogue rows are matched in: the configured
// iblock, or the list of catalogues (administrators only).
func checkCatalog(ctx context.Context, bx *bitrix.Client, iblock int, rep *checkReport) {
	const key = "mapping.products"
	if iblock > 0 {
		if _, err := bx.CatalogProductsByXMLID(ctx, bitrix.ID(iblock), []string{"crmsync-check"}); err != nil {
			rep.add(key, checkFail, fmt.Sprintf("catalogue %d cannot be read: %v", iblock, err),
				"give the webhook the catalog scope and its user read access to the catalogue; check mapping.products.iblock_id")
			return
		}
		rep.add(key, checkOK, fmt.Sprintf("rows are matched to products of catalogue %d by XML_ID", iblock), "")
		return
	}
	cats, err := bx.Catalogs(ctx)
	if err != nil {
		rep.add(key, checkFail, "mapping.products.iblock_id is 0 and the catalogues cannot be listed (catalog.catalog.list is for administrators): "+err.Error(),
			"set mapping.products.iblock_id to the catalogue's id (CRM → Products), or use an administrator's webhook")
		return
	}
	if len(cats) == 0 {
		rep.add(key, checkFail, "the portal has no product catalogue", "set mapping.products.match: none")
		return
	}
	var ids []string
	for _, c := range cats {
		ids = append(ids, fmt.Sprintf("%d (%s)", c.IBlockID, c.Name))
	}
	rep.add(key, checkOK, "rows are matched by XML_ID in the catalogues "+strings.Join(ids, ", "),
		"to search one catalogue only (and not need an administrator's webhook), set mapping.products.iblock_id")
}

// checkManagers reports what matching order managers to Bitrix24 users
// needs (docs/configuration.md, "Responsible manager"): the API key's
// user_read, the webhook's user or user_basic (user_brief shows no
// e-mails), and the active RetailCRM managers that neither mapping.managers
// nor an e-mail gives a Bitrix24 user (their deals get
// bitrix.assigned_by_id). Matching is a refinement, so these are warnings.
// Problems reaching either API are reported by the checks before.
func (a *app) checkManagers(ctx context.Context, cfg *config.Config, rep *checkReport) {
	rc, err := a.newRetailCRM(cfg, interactive)
	if err != nil {
		return
	}
	creds, err := rc.Credentials(ctx)
	if err != nil {
		return
	}
	bx, err := a.newBitrix(cfg, interactive)
	if err != nil {
		return
	}
	var scopes []string
	if _, err := bx.Run(ctx, bitrix.ScopeCmd(), &scopes); err != nil {
		return
	}
	fallback := "bitrix.assigned_by_id (" + strconv.Itoa(cfg.Bitrix.AssignedByID) + ")"
	if cfg.Bitrix.AssignedByID == 0 {
		fallback = "the webhook's user (bitrix.assigned_by_id is 0)"
	}
	rcOK, bxOK := creds.HasScope(retailcrm.ScopeUserRead), bitrix.CanReadUserEmails(scopes)
	var lacks, fixes []string
	if !rcOK {
		lacks = append(lacks, "the API key lacks user_read (RetailCRM's users and their e-mails)")
		fixes = append(fixes, "in RetailCRM: Settings → Integration → API keys, allow user_read")
	}
	if !bxOK {
		if slices.Contains(scopes, "user_brief") {
			lacks = append(lacks, "the webhook has only user_brief, which shows no e-mails")
		} else {
			lacks = append(lacks, "the webhook lacks the scope user (or user_basic)")
		}
		fixes = append(fixes, "in Bitrix24: Developer resources → Inbound webhook, tick user")
	}
	if len(lacks) > 0 {
		rep.add("managers.scopes", checkWarn, strings.Join(lacks, "; ")+"; order managers are matched only through mapping.managers, the others' deals get "+fallback,
			strings.Join(fixes, "; "))
		return
	}
	rep.add("managers.scopes", checkOK, "the API key has user_read and the webhook can read users' e-mails: order managers are matched to Bitrix24 users by e-mail", "")

	yes := true
	managers, err := rc.AllUsers(ctx, retailcrm.UsersFilter{Active: &yes, IsManager: &yes})
	if err != nil {
		rep.add("managers", checkWarn, "cannot list RetailCRM managers: "+err.Error(), "")
		return
	}
	users, err := bx.Users(ctx, map[string]any{"ACTIVE": true})
	if err != nil {
		rep.add("managers", checkWarn, "cannot list Bitrix24 users: "+err.Error(), "")
		return
	}
	byEmail := bitrix.UsersByEmail(users)
	active := map[int64]bool{}
	for _, u := range users {
		if u.Active {
			active[int64(u.ID)] = true
		}
	}
	var unmatched []string
	for _, m := range managers {
		if _, ok := cfg.Mapping.ManagerFor(m.ID); ok {
			continue
		}
		if _, ok := byEmail[bitrix.NormalizeEmail(m.Email)]; ok && m.Email != "" {
			continue
		}
		who := strconv.FormatInt(m.ID, 10)
		if n := m.Name(); n != "" {
			who += " " + n
		}
		if m.Email != "" {
			who += " <" + m.Email + ">"
		}
		unmatched = append(unmatched, who)
	}
	var gone []string
	for _, k := range slices.Sorted(maps.Keys(cfg.Mapping.Managers)) {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			if bid, ok := cfg.Mapping.ManagerFor(id); ok && !active[bid] {
				gone = append(gone, fmt.Sprintf("%s → %d", k, bid))
			}
		}
	}
	if len(gone) > 0 {
		rep.add("mapping.managers", checkWarn, "mapping.managers names Bitrix24 users that are not active users: "+strings.Join(gone, ", "),
			"use ids of active users (Bitrix24: Employees)")
	}
	if len(unmatched) > 0 {
		rep.add("managers", checkWarn, fmt.Sprintf("%d of %d active RetailCRM manager(s) have no Bitrix24 user: %s; their deals get %s",
			len(unmatched), len(managers), strings.Join(unmatched, ", "), fallback),
			"give their Bitrix24 users the same e-mail, or add them to mapping.managers (RetailCRM user id: Bitrix24 user id)")
		return
	}
	rep.add("managers", checkOK, fmt.Sprintf("all %d active RetailCRM manager(s) have a Bitrix24 user", len(managers)), "")
}
