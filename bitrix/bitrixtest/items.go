package bitrixtest

import (
	"strconv"
	"strings"
)

func init() {
	handlers["crm.item.update"] = (*Server).itemUpdate
}

// itemUpdate is crm.item.update as far as crmsync uses it: moving a deal
// (entityTypeId 2) to another funnel, which crm.deal.update cannot do (it
// ignores CATEGORY_ID; b24restdocs:api-reference/crm/deals/crm-deal-update.md
// sends there). fields takes categoryId and stageId: the stage must be one
// of the target funnel's; without one the deal goes to that funnel's first
// stage (UNCONFIRMED, docs/api-notes.md). A funnel or stage the portal does
// not have is refused with CRM_FIELD_ERROR_VALUE_NOT_VALID, as the method's
// error table says, and the deal stays where it was. The move leaves one
// stage-history row of TYPE_ID 5 (funnel changed,
// b24restdocs:api-reference/crm/crm-stage-history-list.md). Other fields
// are refused: crmsync does not send them, and a test that did would rely
// on behaviour the fake does not model.
func (s *Server) itemUpdate(p map[string]any) (*result, *apiErr) {
	et, _ := intParam(firstOf(p, "entityTypeId"))
	if et != 2 {
		return nil, codeErr(400, "NOT_FOUND", "Smart process not found")
	}
	rawID, _ := getCI(p, "id")
	id, valid := intParam(rawID)
	r, exists := s.data.entities["deal"].rows[id]
	if !valid || id <= 0 || !exists {
		return nil, codeErr(400, "NOT_FOUND", "Element not found")
	}
	f, _ := getCI(p, "fields")
	fields := asMap(f)
	if fields == nil {
		return nil, codeErr(400, "", "fields is required")
	}
	for k := range fields {
		if k != "categoryId" && k != "stageId" {
			return nil, codeErr(400, "", "bitrixtest: crm.item.update models categoryId and stageId only, not "+k)
		}
	}
	cat, _ := intParam(Str(r.Fields["CATEGORY_ID"]))
	target := cat
	if v, ok := fields["categoryId"]; ok {
		n, valid := intParam(v)
		if _, known := s.data.categories[n]; !valid || !known {
			return nil, codeErr(400, "CRM_FIELD_ERROR_VALUE_NOT_VALID", `Invalid value for field "Funnel"`)
		}
		target = n
	}
	var st *Status
	if v, ok := fields["stageId"]; ok && Str(v) != "" {
		if st = s.data.stage(target, Str(v)); st == nil {
			return nil, codeErr(400, "CRM_FIELD_ERROR_VALUE_NOT_VALID", `Invalid value for field "Stage"`)
		}
	}
	if target == cat {
		if st != nil {
			s.data.setStage(r, st.StatusID, s.opts.UserID, false)
		}
		return ok(s.itemView(r))
	}
	if st == nil {
		st = s.data.firstStage(stageEntity(target))
	}
	now := s.data.nowString()
	user := strconv.FormatInt(s.opts.UserID, 10)
	r.Fields["CATEGORY_ID"] = strconv.FormatInt(target, 10)
	r.Fields["STAGE_ID"], r.Fields["STAGE_SEMANTIC_ID"] = st.StatusID, semanticID(st)
	r.Fields["CLOSED"] = yn(st.Semantics != "")
	r.Fields["MOVED_BY_ID"], r.Fields["MOVED_TIME"] = user, now
	r.Fields["DATE_MODIFY"], r.Fields["MODIFY_BY_ID"] = now, user
	touchActivity(r, now, s.opts.UserID)
	s.data.history = append(s.data.history, &HistoryRow{ID: s.data.newID(), EntityTypeID: 2, TypeID: 5, OwnerID: r.ID,
		CategoryID: target, StageID: st.StatusID, SemanticID: semanticID(st), Created: s.clock.Now()})
	s.data.entities["deal"].reindex(r)
	return ok(s.itemView(r))
}

// itemView is the part of crm.item.update's answer crmsync may read:
// {"item": {...}} with camelCase fields and int ids.
func (s *Server) itemView(r *Row) map[string]any {
	cat, _ := intParam(Str(r.Fields["CATEGORY_ID"]))
	return map[string]any{"item": map[string]any{"id": r.ID, "entityTypeId": 2, "categoryId": cat,
		"stageId": Str(r.Fields["STAGE_ID"]), "stageSemanticId": Str(r.Fields["STAGE_SEMANTIC_ID"]),
		"title": Str(r.Fields["TITLE"]), "originId": strings.TrimSpace(Str(r.Fields["ORIGIN_ID"]))}}
}
