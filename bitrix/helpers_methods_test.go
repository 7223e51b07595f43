package bitrix_test

import (
	"errors"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
)

func TestDirectoryHelpers(t *testing.T) {
	ctx, p := parallelPair(t)
	p.srv.SeedCategory(1, "Wholesale")
	cats, err := p.c.CategoryList(ctx, bitrix.EntityTypeDeal)
	if err != nil || len(cats) != 2 || !cats[0].IsDefault || cats[1].ID != 1 {
		t.Fatalf("%+v %v", cats, err)
	}
	st, err := p.c.StatusList(ctx, map[string]any{"ENTITY_ID": bitrix.DealStageEntityID(1)})
	if err != nil || len(st) != 4 || st[0].StatusID != "C1:NEW" || st[2].Semantics != "S" || st[0].CategoryID != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	st, err = p.c.StatusList(ctx, map[string]any{"ENTITY_ID": "DEAL_STAGE"})
	if err != nil || len(st) != 8 || st[6].StatusID != "LOSE" || st[6].Semantics != "F" {
		t.Fatalf("%+v %v", st, err)
	}
	scopes, err := p.c.Scope(ctx)
	if err != nil || len(scopes) < 4 {
		t.Fatalf("%v %v", scopes, err)
	}
	id, err := p.c.DealUserFieldAdd(ctx, bitrix.Fields{"FIELD_NAME": "RCRM_ORDER", "USER_TYPE_ID": "string", "LABEL": "Order"})
	if err != nil || id == 0 {
		t.Fatal(err)
	}
	uf, err := p.c.DealUserFieldList(ctx, map[string]any{"FIELD_NAME": "UF_CRM_RCRM_ORDER"})
	if err != nil || len(uf) != 1 || uf[0].ID != id {
		t.Fatalf("%+v %v", uf, err)
	}
	if _, err := p.c.DealUserFieldAdd(ctx, bitrix.Fields{"FIELD_NAME": "RCRM_ORDER", "USER_TYPE_ID": "string"}); !errors.Is(err, bitrix.ErrBadRequest) {
		t.Fatalf("duplicate field: %v", err)
	}
	fields, err := p.c.DealFields(ctx)
	if err != nil || fields["UF_CRM_RCRM_ORDER"].Type != "string" || !fields["CATEGORY_ID"].IsImmutable {
		t.Fatalf("%v", err)
	}
	// A funnel-1 deal keeps its category on update; stage ids are per funnel.
	did, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"CATEGORY_ID": 1, "STAGE_ID": "C1:PREPARATION"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := p.c.Get(ctx, bitrix.EntityDeal, did)
	if d.String("STAGE_ID") != "C1:PREPARATION" || d.String("CATEGORY_ID") != "1" || d.String("TITLE") == "" {
		t.Fatalf("%v", d)
	}
}

func TestManagerActionsAndPushReads(t *testing.T) {
	ctx, p := parallelPair(t)
	did := p.srv.SeedDeal(map[string]any{"TITLE": "Order 1", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "1"})
	other := p.srv.SeedDeal(map[string]any{"TITLE": "Order 2"})
	hist, err := p.c.StageHistorySince(ctx, bitrix.EntityTypeDeal, 0, nil, 0)
	if err != nil || len(hist) != 2 {
		t.Fatalf("%+v %v", hist, err)
	}
	cursor := hist[len(hist)-1].ID
	if err := p.srv.MoveDeal(did, "EXECUTING", 7); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.MoveDeal(other, "LOSE", 7); err != nil {
		t.Fatal(err)
	}
	hist, err = p.c.StageHistorySince(ctx, bitrix.EntityTypeDeal, cursor, map[string]any{"@OWNER_ID": []bitrix.ID{bitrix.ID(did)}}, 0)
	if err != nil || len(hist) != 1 || hist[0].StageID != "EXECUTING" || hist[0].TypeID != 2 || hist[0].OwnerID != bitrix.ID(did) {
		t.Fatalf("%+v %v", hist, err)
	}
	d, _ := p.c.Get(ctx, bitrix.EntityDeal, bitrix.ID(did))
	if d.IDField("MOVED_BY_ID") != 7 {
		t.Fatalf("moved by %v", d.String("MOVED_BY_ID"))
	}
	mine, err := p.c.TimelineCommentAdd(ctx, bitrix.TimelineDeal, bitrix.ID(did), "Status changed: new → paid")
	if err != nil {
		t.Fatal(err)
	}
	theirs := p.srv.AddComment("deal", did, 7, "Customer asked to call back")
	cs, _, err := p.c.TimelineCommentList(ctx, bitrix.TimelineDeal, bitrix.ID(did), bitrix.ListRequest{})
	if err != nil || len(cs) != 2 || cs[0].ID != bitrix.ID(theirs) || cs[0].AuthorID != 7 || cs[1].ID != mine || cs[1].AuthorID != 1 {
		t.Fatalf("%+v %v", cs, err)
	}
	if _, err := p.c.TimelineCommentAdd(ctx, bitrix.TimelineDeal, 9999, "x"); !errors.Is(err, bitrix.ErrNotFound) {
		t.Fatalf("owner missing: %v", err)
	}
}

func TestSideEffectHelpers(t *testing.T) {
	ctx, p := parallelPair(t)
	did := p.srv.SeedDeal(map[string]any{"TITLE": "Order 1"})
	tid, err := p.c.TaskAdd(ctx, bitrix.Fields{"TITLE": "Call back", "RESPONSIBLE_ID": 7, "UF_CRM_TASK": []string{bitrix.TaskCRMBinding(bitrix.ID(did))}})
	if err != nil || tid == 0 {
		t.Fatal(err)
	}
	if _, err := p.c.TaskAdd(ctx, bitrix.Fields{"TITLE": "no one"}); !errors.Is(err, bitrix.ErrBadRequest) {
		t.Fatalf("no responsible: %v", err)
	}
	nid, err := p.c.NotifySystemAdd(ctx, 7, "Order 1 was cancelled", nil)
	if err != nil || nid == 0 {
		t.Fatal(err)
	}
	if _, err := p.c.NotifySystemAdd(ctx, 0, "x", nil); !errors.Is(err, bitrix.ErrBadRequest) {
		t.Fatalf("no user: %v", err)
	}
	wf, err := p.c.WorkflowStart(ctx, 12, bitrix.DealDocumentID(bitrix.ID(did)), map[string]any{"Reason": "return"})
	if err != nil || wf == "" {
		t.Fatal(err)
	}
	if _, err := p.c.WorkflowStart(ctx, 0, bitrix.DealDocumentID(1), nil); !errors.Is(err, bitrix.ErrBadRequest) {
		t.Fatalf("no template: %v", err)
	}
	tasks, notes, wfs := p.srv.Tasks(), p.srv.Notifications(), p.srv.Workflows()
	if len(tasks) != 1 || len(notes) != 1 || notes[0].UserID != 7 || len(wfs) != 1 || wfs[0].DocumentID[2] != "DEAL_1" || wfs[0].TemplateID != 12 {
		t.Fatalf("%+v %+v %+v", tasks, notes, wfs)
	}
	// The same helpers as batch commands.
	b := bitrix.NewBatch(true)
	mustAdd(t, b, "t", bitrix.TaskAddCmd(bitrix.Fields{"TITLE": "B", "RESPONSIBLE_ID": 1}))
	mustAdd(t, b, "n", bitrix.NotifySystemAddCmd(1, "hello & bye", nil))
	mustAdd(t, b, "w", bitrix.WorkflowStartCmd(3, bitrix.DealDocumentID(bitrix.ID(did)), nil))
	mustAdd(t, b, "f", bitrix.FindByCommCmds(bitrix.CommEmail, []string{"a@b.c"}, "CONTACT")[0])
	res, err := p.c.Batch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := bitrix.DecodeTaskID(res.Get("t").Result); err != nil || id == 0 {
		t.Fatal(err)
	}
	if id, err := bitrix.DecodeNotifyID(res.Get("n").Result); err != nil || id == 0 {
		t.Fatal(err)
	}
	if m, err := bitrix.DecodeDuplicates(res.Get("f").Result); err != nil || len(m) != 0 {
		t.Fatal(m, err)
	}
	if n := p.srv.Notifications(); n[1].Message != "hello & bye" {
		t.Fatalf("%+v", n)
	}
}

func TestLeads(t *testing.T) {
	ctx, p := parallelPair(t)
	id, err := p.c.Add(ctx, bitrix.EntityLead, bitrix.Fields{"TITLE": "Lead 1", "NAME": "Ivan", "PHONE": []any{bitrix.NewMultifield("+7 900 1", "")}, "ORIGIN_ID": "5"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.c.Update(ctx, bitrix.EntityLead, id, bitrix.Fields{"STATUS_ID": "IN_PROCESS"}, nil); err != nil {
		t.Fatal(err)
	}
	page, err := p.c.List(ctx, bitrix.EntityLead, bitrix.ListRequest{Filter: map[string]any{"ORIGIN_ID": "5"}, Select: []string{"ID", "STATUS_ID", "PHONE"}})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].String("STATUS_ID") != "IN_PROCESS" || len(page.Rows[0].Multi("PHONE")) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
	h, err := p.c.StageHistorySince(ctx, bitrix.EntityTypeLead, 0, nil, 0)
	if err != nil || len(h) != 2 || h[1].StatusID != "IN_PROCESS" {
		t.Fatalf("%+v %v", h, err)
	}
	if err := p.c.Update(ctx, bitrix.EntityLead, 999, bitrix.Fields{"TITLE": "x"}, nil); !errors.Is(err, bitrix.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}
