package bitrixtest

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

type handler func(s *Server, p map[string]any) (*result, *apiErr)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"crm.duplicate.findbycomm":  (*Server).findByComm,
		"crm.status.list":           (*Server).statusList,
		"crm.category.list":         (*Server).categoryList,
		"crm.stagehistory.list":     (*Server).stageHistoryList,
		"crm.timeline.comment.add":  (*Server).commentAdd,
		"crm.timeline.comment.list": (*Server).commentList,
		"tasks.task.add":            (*Server).taskAdd,
		"im.notify.system.add":      (*Server).notifyAdd,
		"im.notify.personal.add":    (*Server).notifyAdd,
		"bizproc.workflow.start":    (*Server).workflowStart,
		"scope":                     (*Server).scope,
		"catalog.catalog.list":      (*Server).catalogList,
		"catalog.product.list":      (*Server).productList,
	}
	for _, kind := range []string{"deal", "lead"} {
		k := kind
		handlers["crm."+k+".productrows.set"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.productRowsSet(k, p) }
		handlers["crm."+k+".productrows.get"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.productRowsGet(k, p) }
	}
	for _, kind := range []string{"deal", "contact", "lead", "company"} {
		k := kind
		handlers["crm."+k+".add"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.entityAdd(k, p) }
		handlers["crm."+k+".update"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.entityUpdate(k, p) }
		handlers["crm."+k+".get"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.entityGet(k, p) }
		handlers["crm."+k+".list"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.entityList(k, p) }
		handlers["crm."+k+".fields"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.entityFields(k) }
		handlers["crm."+k+".userfield.list"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.userFieldList(k, p) }
		handlers["crm."+k+".userfield.add"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.userFieldAdd(k, p) }
	}
	registerContactHandlers()
	registerCompanyHandlers()
	registerUserHandlers()
	registerEventHandlers()
}

func ok(v any) (*result, *apiErr) { return &result{value: v}, nil }

func (s *Server) entityAdd(kind string, p map[string]any) (*result, *apiErr) {
	fields, e := fieldsParam(p, fieldsNotArray)
	if e != nil {
		return nil, e
	}
	if kind == "company" && strings.TrimSpace(Str(firstOf(fields, "TITLE"))) == "" {
		// crm.company.fields marks TITLE required; the portal's wording of
		// the refusal is not documented (docs/api-notes.md).
		return nil, legacyErr("bitrixtest: TITLE is required for crm.company.add")
	}
	id, e := s.data.add(kind, fields)
	if e != nil {
		return nil, e
	}
	s.emit("ONCRM"+strings.ToUpper(kind)+"ADD", fieldsID(id))
	return ok(id)
}

// rowParam finds the row named by the id parameter, answering as the legacy
// methods do: an invalid id, else notFound.
func (s *Server) rowParam(kind string, p map[string]any, notFound string) (*Row, *apiErr) {
	rawID, _ := getCI(p, "id")
	id, valid := intParam(rawID)
	if !valid || id <= 0 {
		return nil, legacyErr("ID is not defined or invalid.")
	}
	r, exists := s.data.entities[kind].rows[id]
	if !exists {
		return nil, legacyErr(notFound)
	}
	return r, nil
}

func (s *Server) entityUpdate(kind string, p map[string]any) (*result, *apiErr) {
	notFound := "Not found"
	switch kind {
	case "contact":
		notFound = "Contact is not found" // crm.contact.update's own wording
	case "company":
		notFound = "Company is not found" // crm-company-update.md
	}
	r, e := s.rowParam(kind, p, notFound)
	if e != nil {
		return nil, e
	}
	fields, e := fieldsParam(p, fieldsNotArray)
	if e != nil {
		return nil, e
	}
	s.data.apply(kind, r, fields, false)
	// The portal stamps who changed it: the webhook's user
	// (MODIFY_BY_ID, read-only, crm.deal.fields).
	r.Fields["DATE_MODIFY"], r.Fields["MODIFY_BY_ID"] = s.data.nowString(), strconv.FormatInt(s.opts.UserID, 10)
	s.emit("ONCRM"+strings.ToUpper(kind)+"UPDATE", fieldsID(r.ID))
	return ok(true)
}

func (s *Server) entityGet(kind string, p map[string]any) (*result, *apiErr) {
	r, e := s.rowParam(kind, p, "Not found")
	if e != nil {
		return nil, e
	}
	return ok(s.data.render(kind, r, nil, true))
}

func (s *Server) rowGetter(kind string, r *Row) getter {
	return func(f string) []string { return rowValues(kind, r, f) }
}

// rowValues returns the values a filter or an order sees of a row's field:
// a multifield's values (contacts and leads), a list field's elements, or
// the scalar as text.
func rowValues(kind string, r *Row, f string) []string {
	if isMultiField(f) && kind != "deal" {
		var out []string
		for _, m := range r.Multi[f] {
			out = append(out, m.Value)
		}
		return out
	}
	v := r.Fields[f]
	if l, isList := v.([]any); isList {
		out := make([]string, len(l))
		for i, e := range l {
			out[i] = Str(e)
		}
		return out
	}
	return []string{Str(v)}
}

func (s *Server) entityList(kind string, p map[string]any) (*result, *apiErr) {
	filter, e := filterParam(p)
	if e != nil {
		return nil, e
	}
	sel := listSelect(p)
	ov, _ := getCI(p, "order")
	t := s.data.entities[kind]
	cs := compileFilter(filter)
	start, _ := getCI(p, "start")
	if e := checkStart("crm."+kind+".list", start); e != nil {
		return nil, e
	}
	ids, res := listPage(t.candidates(cs),
		func(id int64) bool { return cs.match(s.rowGetter(kind, t.rows[id])) },
		asMap(ov), start,
		func(id int64) getter { return s.rowGetter(kind, t.rows[id]) })
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = s.data.render(kind, t.rows[id], sel, false)
	}
	res.value = out
	return res, nil
}

// listSelect is the select of a crm.*.list call: nil when none was sent.
func listSelect(p map[string]any) []string {
	var sel []string
	if sv, has := getCI(p, "select"); has {
		for _, e := range List(sv) {
			sel = append(sel, Str(e))
		}
	}
	return sel
}

func (s *Server) entityFields(kind string) (*result, *apiErr) {
	out := map[string]any{}
	for _, f := range knownFields[kind] {
		typ := fieldTypes[f]
		if typ == "" {
			typ = "string"
		}
		info := map[string]any{"type": typ, "isRequired": false, "isReadOnly": readOnly[f], "isImmutable": f == "CATEGORY_ID",
			"isMultiple": false, "isDynamic": false, "title": f}
		if f == "STAGE_ID" {
			info["type"], info["statusType"] = "crm_status", "DEAL_STAGE"
		}
		out[f] = info
	}
	if kind != "deal" {
		for _, m := range multiFields {
			out[m] = map[string]any{"type": "crm_multifield", "isRequired": false, "isReadOnly": false, "isImmutable": false,
				"isMultiple": true, "isDynamic": false, "title": m}
		}
	}
	for _, uf := range s.data.userFields {
		if uf.EntityID == ufEntity(kind) {
			info := map[string]any{"type": uf.UserTypeID, "isRequired": false, "isReadOnly": false,
				"isImmutable": false, "isMultiple": uf.Multiple, "isDynamic": true, "title": uf.FieldName}
			if uf.UserTypeID == "enumeration" {
				// [{ID, VALUE}], as the docs' field lists show (docs/api-notes.md).
				info["items"] = enumFieldItems(uf.Items)
			}
			out[uf.FieldName] = info
		}
	}
	return ok(out)
}

// maxFindByCommValues is how many values, and matches per value,
// crm.duplicate.findbycomm looks at.
const maxFindByCommValues = 20

func (s *Server) findByComm(p map[string]any) (*result, *apiErr) {
	typ := strings.ToUpper(Str(p["type"]))
	if typ == "" {
		return nil, &apiErr{status: 400, code: "Communication type is not defined", desc: "Parameter 'type' is required."}
	}
	if typ != "PHONE" && typ != "EMAIL" {
		return nil, &apiErr{status: 400, code: "Communication type is not supported", desc: "Parameter 'type' is invalid."}
	}
	values := List(p["values"])
	if len(values) == 0 {
		return nil, &apiErr{status: 400, code: "Values are not defined", desc: "Parameter 'values' is required."}
	}
	// As the portal does (CCrmDuplicateRestProxy): more than 20 values is
	// no error; it looks up the first 20 distinct non-empty strings, in the
	// order sent, and silently ignores the rest.
	var want []string
	seen := map[string]bool{}
	for _, v := range values {
		str, isStr := v.(string)
		if !isStr || str == "" {
			continue
		}
		k := commKey(typ, str)
		if k == "" {
			k = "\x00" + str // a criterion that matches nothing, counted all the same
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		want = append(want, k)
		if len(want) == maxFindByCommValues {
			break
		}
	}
	out := newOmap()
	for k, t := range s.findByCommTables(p) {
		var found []int64
		for _, key := range want {
			// At most 20 matches per value (find($entityTypeID, 20)); which
			// 20 the portal picks is not documented, the fake takes the
			// lowest ids.
			ids := slices.Clone(t.idx[key])
			slices.Sort(ids)
			ids = slices.Compact(ids)
			found = append(found, ids[:min(len(ids), maxFindByCommValues)]...)
		}
		if len(found) > 0 {
			slices.Sort(found)
			found = slices.Compact(found)
			ids := make([]any, len(found))
			for i, id := range found {
				ids[i] = id
			}
			out.set(k, ids)
		}
	}
	return ok(out)
}

// findByCommTables yields the types crm.duplicate.findbycomm searches
// (entity_type, or leads, contacts and companies), by the portal's name,
// with their tables; a type the fake does not hold is skipped.
func (s *Server) findByCommTables(p map[string]any) iter.Seq2[string, *table] {
	return func(yield func(string, *table) bool) {
		kinds := []string{"LEAD", "CONTACT", "COMPANY"}
		if et := strings.ToUpper(Str(p["entity_type"])); et != "" {
			kinds = []string{et}
		}
		for _, k := range kinds {
			if t := s.data.entities[strings.ToLower(k)]; t != nil && !yield(k, t) {
				return
			}
		}
	}
}

func (s *Server) statusList(p map[string]any) (*result, *apiErr) {
	fv, _ := getCI(p, "filter")
	filter := asMap(fv)
	var rows []*Status
	for _, st := range s.data.statuses {
		g := statusGetter(st)
		if matches(filter, g) {
			rows = append(rows, st)
		}
	}
	ov, _ := getCI(p, "order")
	sortRows(rows, asMap(ov), statusGetter)
	out := make([]any, len(rows))
	for i, st := range rows {
		var sem, cat any
		extra := "process"
		if st.Semantics != "" {
			sem = st.Semantics
			extra = map[string]string{"S": "success", "F": "failure"}[st.Semantics]
		}
		if st.CategoryID != 0 {
			cat = strconv.FormatInt(st.CategoryID, 10)
		}
		out[i] = map[string]any{"ID": strconv.FormatInt(st.ID, 10), "ENTITY_ID": st.EntityID, "STATUS_ID": st.StatusID,
			"NAME": st.Name, "NAME_INIT": "", "SORT": strconv.Itoa(st.Sort), "SYSTEM": "N", "CATEGORY_ID": cat,
			"COLOR": "#39A8EF", "SEMANTICS": sem, "EXTRA": map[string]any{"SEMANTICS": extra, "COLOR": "#39A8EF"}}
	}
	// Like the other lists, the portal counts the rows (crm_status_list.json).
	return &result{value: out, total: len(out), hasTot: true}, nil
}

func statusGetter(st *Status) getter {
	return func(f string) []string {
		switch f {
		case "ID":
			return []string{strconv.FormatInt(st.ID, 10)}
		case "ENTITY_ID":
			return []string{st.EntityID}
		case "STATUS_ID":
			return []string{st.StatusID}
		case "NAME":
			return []string{st.Name}
		case "SORT":
			return []string{strconv.Itoa(st.Sort)}
		case "CATEGORY_ID":
			return []string{strconv.FormatInt(st.CategoryID, 10)}
		case "SEMANTICS":
			return []string{st.Semantics}
		}
		return nil
	}
}

func (s *Server) categoryList(p map[string]any) (*result, *apiErr) {
	et, _ := intParam(p["entityTypeId"])
	if et == 0 {
		return nil, codeErr(400, "NOT_FOUND", "Smart process not found")
	}
	var out []any
	if et == 2 {
		ids := make([]int64, 0, len(s.data.categories))
		for id := range s.data.categories {
			ids = append(ids, id)
		}
		sortRows(ids, nil, func(id int64) getter {
			return func(string) []string { return []string{strconv.FormatInt(id, 10)} }
		})
		for _, id := range ids {
			c := s.data.categories[id]
			out = append(out, map[string]any{"id": c.ID, "name": c.Name, "sort": c.Sort, "entityTypeId": 2, "isDefault": yn(c.ID == 0)})
		}
	}
	if out == nil {
		out = []any{}
	}
	return &result{value: map[string]any{"categories": out}, total: len(out), hasTot: true}, nil
}

func (s *Server) stageHistoryList(p map[string]any) (*result, *apiErr) {
	et, _ := intParam(p["entityTypeId"])
	if et != 1 && et != 2 {
		// The portal names the type (crm_stagehistory_list_error.json).
		return nil, &apiErr{status: 400, code: 0, desc: ownerTypeName(et) + " entity is not supported"}
	}
	fv, _ := getCI(p, "filter")
	ov, _ := getCI(p, "order")
	if e := checkStageHistoryQuery(et, asMap(fv), asMap(ov)); e != nil {
		return nil, e
	}
	cs := compileFilter(asMap(fv))
	hist := s.data.history // ascending by ID
	lo, hi := idRange(cs, len(hist), func(i int) int64 { return hist[i].ID })
	start, _ := getCI(p, "start")
	if e := checkStart("crm.stagehistory.list", start); e != nil {
		return nil, e
	}
	rows, res := listPage(hist[lo:hi],
		func(h *HistoryRow) bool { return int64(h.EntityTypeID) == et && cs.match(historyGetter(h)) },
		asMap(ov), start, historyGetter)
	res.value = stageHistoryAnswer(et, rows)
	return res, nil
}

// stageHistoryAnswer renders a page of crm.stagehistory.list for the
// entity type et: deals carry stages, leads statuses.
func stageHistoryAnswer(et int64, rows []*HistoryRow) map[string]any {
	items := make([]any, len(rows))
	for i, h := range rows {
		row := map[string]any{"ID": h.ID, "TYPE_ID": h.TypeID, "OWNER_ID": h.OwnerID, "CREATED_TIME": h.Created.Format("2006-01-02T15:04:05-07:00")}
		if et == 2 {
			row["CATEGORY_ID"], row["STAGE_ID"], row["STAGE_SEMANTIC_ID"] = h.CategoryID, h.StageID, h.SemanticID
		} else {
			row["STATUS_ID"], row["STATUS_SEMANTIC_ID"] = h.StageID, h.SemanticID
		}
		items[i] = row
	}
	return map[string]any{"items": items}
}

// ownerTypeName is the portal's name of a CRM type id, as error texts show
// it. 33 is SHIPMENT_DOCUMENT in the recorded error; the others are the
// documented CRM type ids.
func ownerTypeName(id int64) string {
	switch id {
	case 1:
		return "LEAD"
	case 2:
		return "DEAL"
	case 3:
		return "CONTACT"
	case 4:
		return "COMPANY"
	case 5:
		return "INVOICE"
	case 7:
		return "QUOTE"
	case 31:
		return "SMART_INVOICE"
	case 33:
		return "SHIPMENT_DOCUMENT"
	}
	return "Entity type " + strconv.FormatInt(id, 10)
}

func historyGetter(h *HistoryRow) getter {
	return func(f string) []string {
		switch f {
		case "ID":
			return []string{strconv.FormatInt(h.ID, 10)}
		case "TYPE_ID":
			return []string{strconv.Itoa(h.TypeID)}
		case "OWNER_ID":
			return []string{strconv.FormatInt(h.OwnerID, 10)}
		case "CATEGORY_ID":
			return []string{strconv.FormatInt(h.CategoryID, 10)}
		case "STAGE_ID", "STATUS_ID":
			return []string{h.StageID}
		case "STAGE_SEMANTIC_ID", "STATUS_SEMANTIC_ID":
			return []string{h.SemanticID}
		case "CREATED_TIME":
			return []string{h.Created.Format("2006-01-02T15:04:05-07:00")}
		}
		return nil
	}
}

func (s *Server) commentAdd(p map[string]any) (*result, *apiErr) {
	fields := asMap(p["fields"])
	if fields == nil {
		// crm ≥ 23.100.0 reads only lowercase "fields".
		return nil, codeErr(400, "INVALID_ARG_VALUE", "Parameter 'fields' is required")
	}
	et := strings.ToLower(Str(fields["ENTITY_TYPE"]))
	eid, _ := intParam(fields["ENTITY_ID"])
	if et == "" || eid <= 0 {
		return nil, codeErr(400, "INVALID_ARG_VALUE", "Entity type or id is not specified")
	}
	t := s.data.entities[et]
	if t == nil || t.rows[eid] == nil {
		return nil, codeErr(400, "OWNER_NOT_FOUND", "Owner entity is not found")
	}
	text := Str(fields["COMMENT"])
	if strings.TrimSpace(text) == "" {
		return nil, codeErr(400, "INVALID_ARG_VALUE", "Empty comment message")
	}
	return ok(s.data.addComment(et, eid, s.opts.UserID, text))
}

func (s *Server) commentList(p map[string]any) (*result, *apiErr) {
	filter := asMap(p["filter"])
	if Str(filter["ENTITY_ID"]) == "" || Str(filter["ENTITY_TYPE"]) == "" {
		return nil, codeErr(400, "INVALID_ARG_VALUE", "ENTITY_ID and ENTITY_TYPE are required in filter")
	}
	lf := commentFilter(filter)
	if e := checkStart("crm.timeline.comment.list", p["start"]); e != nil {
		return nil, e
	}
	cs := compileFilter(lf)
	cands := s.data.commentCandidates(cs)
	lo, hi := idRange(cs, len(cands), func(i int) int64 { return cands[i].ID })
	rows, res := listPage(cands[lo:hi], func(c *CommentRow) bool { return cs.match(commentGetter(c)) }, asMap(p["order"]), p["start"], commentGetter)
	res.value = commentAnswers(rows)
	return res, nil
}

func commentGetter(c *CommentRow) getter {
	return func(f string) []string {
		switch f {
		case "ID":
			return []string{strconv.FormatInt(c.ID, 10)}
		case "ENTITY_ID":
			return []string{strconv.FormatInt(c.EntityID, 10)}
		case "ENTITY_TYPE":
			return []string{c.EntityType}
		case "AUTHOR_ID":
			return []string{strconv.FormatInt(c.AuthorID, 10)}
		case "CREATED":
			return []string{c.Created.Format("2006-01-02T15:04:05-07:00")}
		}
		return nil
	}
}

// commentFilter is the filter of crm.timeline.comment.list with
// ENTITY_TYPE lower-cased, as the comments store it.
func commentFilter(filter map[string]any) map[string]any {
	lf := map[string]any{}
	for k, v := range filter {
		if strings.EqualFold(k, "ENTITY_TYPE") {
			v = strings.ToLower(Str(v))
		}
		lf[k] = v
	}
	return lf
}

// commentAnswers renders a page of crm.timeline.comment.list.
func commentAnswers(rows []*CommentRow) []any {
	out := make([]any, len(rows))
	for i, c := range rows {
		out[i] = map[string]any{"ID": strconv.FormatInt(c.ID, 10), "ENTITY_ID": strconv.FormatInt(c.EntityID, 10),
			"ENTITY_TYPE": c.EntityType, "CREATED": c.Created.Format("2006-01-02T15:04:05-07:00"), "COMMENT": c.Comment,
			"AUTHOR_ID": strconv.FormatInt(c.AuthorID, 10), "FILES": map[string]any{}}
	}
	return out
}

func (s *Server) taskAdd(p map[string]any) (*result, *apiErr) {
	fv, _ := getCI(p, "fields")
	fields := asMap(fv)
	if strings.TrimSpace(Str(fields["TITLE"])) == "" {
		return nil, codeErr(400, "ERROR_CORE", "Task title is not specified<br>")
	}
	if resp, _ := intParam(fields["RESPONSIBLE_ID"]); resp <= 0 {
		return nil, codeErr(400, "ERROR_CORE", "Assignee is not specified<br>")
	}
	t := &TaskRow{ID: s.data.newID(), Fields: map[string]any{}}
	for k, v := range fields {
		t.Fields[k] = v
	}
	s.data.tasks = append(s.data.tasks, t)
	return ok(map[string]any{"task": s.taskAnswer(t.ID, fields)})
}

// taskAnswer is the whole task tasks.task.add answers with
// (tasks_task_add.json): every key, most of them empty on a new task.
func (s *Server) taskAnswer(id int64, fields map[string]any) map[string]any {
	now := s.clock.Now().Format(time.RFC3339)
	user := strconv.FormatInt(s.opts.UserID, 10)
	person := func(id string) map[string]any {
		return map[string]any{"id": id, "name": "User " + id, "link": "/company/personal/user/" + id + "/", "icon": "", "workPosition": ""}
	}
	responsible := Str(fields["RESPONSIBLE_ID"])
	task := map[string]any{
		"id": strconv.FormatInt(id, 10), "parentId": nil, "title": Str(fields["TITLE"]), "description": Str(fields["DESCRIPTION"]),
		"mark": nil, "priority": "1", "multitask": "N", "notViewed": "N", "replicate": "N", "stageId": "0",
		"createdBy": user, "createdDate": now, "responsibleId": responsible, "changedBy": user, "changedDate": now,
		"statusChangedBy": nil, "closedBy": nil, "closedDate": nil, "activityDate": now, "dateStart": nil,
		"deadline": nil, "startDatePlan": nil, "endDatePlan": nil, "guid": "{00000000-0000-4000-8000-" + fmt.Sprintf("%012d", id) + "}",
		"xmlId": nil, "commentsCount": nil, "serviceCommentsCount": nil, "allowChangeDeadline": "N",
		"allowTimeTracking": "N", "taskControl": "N", "addInReport": "N", "forkedByTemplateId": nil,
		"timeEstimate": "0", "timeSpentInLogs": nil, "matchWorkTime": "N", "forumTopicId": nil, "forumId": nil,
		"siteId": "s1", "subordinate": "Y", "exchangeModified": nil, "exchangeId": nil, "outlookVersion": "1",
		"viewedDate": nil, "sorting": nil, "durationFact": nil, "isMuted": "N", "isPinned": "N",
		"isPinnedInGroup": "N", "flowId": nil, "descriptionInBbcode": "Y", "status": "2", "statusChangedDate": now,
		"durationPlan": nil, "durationType": "days", "favorite": "N", "groupId": "0",
		"auditors": []any{}, "accomplices": []any{}, "checklist": []any{}, "group": []any{},
		"creator": person(user), "responsible": person(responsible), "accomplicesData": []any{}, "auditorsData": []any{},
		"newCommentsCount": 0, "checkListCanAdd": true,
		"action": map[string]any{"accept": false, "decline": false, "complete": true, "approve": false, "disapprove": false,
			"start": true, "pause": false, "delegate": true, "remove": true, "edit": true, "defer": true, "renew": false,
			"create": true, "changeDeadline": true, "checklistAddItems": true, "addFavorite": true, "deleteFavorite": false,
			"rate": true, "edit.originator": false, "checklist.reorder": true, "elapsedtime.add": true,
			"dayplan.timer.toggle": false, "edit.plan": true, "checklist.add": true, "favorite.add": true, "favorite.delete": false},
		"checkListTree": map[string]any{"nodeId": 0, "fields": map[string]any{"id": nil, "copiedId": nil, "entityId": nil,
			"userId": s.opts.UserID, "createdBy": nil, "parentId": nil, "title": "", "sortIndex": nil, "displaySortIndex": "",
			"isComplete": false, "isImportant": false, "completedCount": 0, "members": []any{}, "attachments": []any{}},
			"action": []any{}, "descendants": []any{}},
	}
	return task
}

func (s *Server) notifyAdd(p map[string]any) (*result, *apiErr) {
	uid, _ := intParam(firstOf(p, "USER_ID"))
	msg := Str(firstOf(p, "MESSAGE"))
	if uid <= 0 {
		return nil, codeErr(400, "USER_ID_EMPTY", "Recipient user_id not specified")
	}
	if strings.TrimSpace(msg) == "" {
		return nil, codeErr(400, "MESSAGE_EMPTY", "Message can't be empty")
	}
	n := &NotifyRow{ID: s.data.newID(), UserID: uid, Message: msg, Params: map[string]any{}}
	for k, v := range p {
		n.Params[k] = v
	}
	s.data.notes = append(s.data.notes, n)
	return ok(n.ID)
}

func firstOf(p map[string]any, key string) any {
	v, _ := getCI(p, key)
	return v
}

func (s *Server) workflowStart(p map[string]any) (*result, *apiErr) {
	tid, _ := intParam(firstOf(p, "TEMPLATE_ID"))
	if tid <= 0 {
		return nil, codeErr(400, "ERROR_WRONG_WORKFLOW_ID", "Empty TEMPLATE_ID")
	}
	var doc []string
	for _, e := range List(firstOf(p, "DOCUMENT_ID")) {
		doc = append(doc, Str(e))
	}
	if len(doc) != 3 || doc[0] == "" || doc[2] == "" {
		return nil, codeErr(400, "ERROR_WRONG_DOCUMENT_ID", "Empty DOCUMENT_ID")
	}
	wf := &WorkflowRow{ID: "66e81a64" + strconv.FormatInt(s.data.newID(), 16) + ".56521481", TemplateID: tid, DocumentID: doc,
		Parameters: asMap(firstOf(p, "PARAMETERS"))}
	s.data.workflows = append(s.data.workflows, wf)
	return ok(wf.ID)
}

func (s *Server) userFieldList(kind string, p map[string]any) (*result, *apiErr) {
	fv, _ := getCI(p, "filter")
	filter := asMap(fv)
	var out []any
	for _, uf := range s.data.userFields {
		if uf.EntityID != ufEntity(kind) {
			continue
		}
		g := func(f string) []string {
			switch f {
			case "ID":
				return []string{strconv.FormatInt(uf.ID, 10)}
			case "FIELD_NAME":
				return []string{uf.FieldName}
			case "USER_TYPE_ID":
				return []string{uf.UserTypeID}
			case "ENTITY_ID":
				return []string{uf.EntityID}
			}
			return nil
		}
		filterNoLang := map[string]any{}
		for k, v := range filter {
			if !strings.EqualFold(k, "LANG") {
				filterNoLang[k] = v
			}
		}
		if matches(filterNoLang, g) {
			row := map[string]any{"ID": strconv.FormatInt(uf.ID, 10), "ENTITY_ID": uf.EntityID,
				"FIELD_NAME": uf.FieldName, "USER_TYPE_ID": uf.UserTypeID, "XML_ID": nil, "SORT": "100",
				"MULTIPLE": yn(uf.Multiple), "MANDATORY": "N", "SHOW_FILTER": "N", "SHOW_IN_LIST": "Y", "EDIT_IN_LIST": "Y",
				"IS_SEARCHABLE": "N", "EDIT_FORM_LABEL": uf.FieldName, "LIST_COLUMN_LABEL": uf.FieldName,
				"LIST_FILTER_LABEL": uf.FieldName, "ERROR_MESSAGE": nil, "HELP_MESSAGE": nil}
			if uf.UserTypeID == "enumeration" {
				// A list field's items come with it (crm-deal-userfield-list.md).
				row["LIST"] = enumList(uf.Items)
			}
			out = append(out, row)
		}
	}
	if out == nil {
		out = []any{}
	}
	return &result{value: out, total: len(out), hasTot: true}, nil
}

func (s *Server) userFieldAdd(kind string, p map[string]any) (*result, *apiErr) {
	fv, _ := getCI(p, "fields")
	fields := asMap(fv)
	name := strings.ToUpper(Str(fields["FIELD_NAME"]))
	typ := Str(fields["USER_TYPE_ID"])
	if name == "" || typ == "" {
		return nil, codeErr(400, "ERROR_CORE", "FIELD_NAME and USER_TYPE_ID are required")
	}
	if !strings.HasPrefix(name, "UF_CRM_") {
		name = "UF_CRM_" + name
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') || len(name) > 50 {
			return nil, codeErr(400, "ERROR_CORE", "Invalid field name")
		}
	}
	if s.data.userField(kind, name) != nil {
		return nil, codeErr(400, "ERROR_CORE", "Field already exists")
	}
	id := s.data.addUserField(ufEntity(kind), name, typ, truthy(fields["MULTIPLE"]))
	if typ == "enumeration" {
		s.data.userFields[len(s.data.userFields)-1].Items = s.data.enumItems(fields["LIST"])
	}
	return ok(id)
}

func (s *Server) scope(map[string]any) (*result, *apiErr) {
	out := make([]any, len(s.opts.Scopes))
	for i, sc := range s.opts.Scopes {
		out[i] = sc
	}
	return ok(out)
}
