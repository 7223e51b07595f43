package bitrix_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// NoCount becomes start=-1 only on the methods documented for it; the
// others get start=0 (docs/api-notes.md, "Lists and paging").
func TestNoCountOnlyWhereDocumented(t *testing.T) {
	t.Parallel()
	req := bitrix.ListRequest{Order: map[string]string{"ID": "ASC"}, Start: bitrix.NoCount}
	for _, tc := range []struct {
		cmd  bitrix.Cmd
		want int
	}{
		{bitrix.ListCmd(bitrix.EntityLead, req), -1},
		{bitrix.ListCmd(bitrix.EntityDeal, req), 0},
		{bitrix.ListCmd(bitrix.EntityContact, req), 0},
		{bitrix.StageHistoryListCmd(bitrix.EntityTypeDeal, req), 0},
		{bitrix.TimelineCommentListCmd("deal", 1, req), 0},
		{bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{Start: 100}), 100},
	} {
		if got := tc.cmd.Params["start"]; got != tc.want {
			t.Errorf("%s: start %v, want %d", tc.cmd.Method, got, tc.want)
		}
	}
	paged := bitrix.PageCmd(bitrix.ListCmd(bitrix.EntityDeal, req), 50)
	if paged.Params["start"] != 50 || paged.Params["order"] == nil {
		t.Errorf("PageCmd: %v", paged.Params)
	}
}

// ListPages follows next to the last row.
func TestListPagesFollowsNext(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	for i := range 120 {
		p.srv.SeedContact(map[string]any{"NAME": "c" + strconv.Itoa(i), "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "7"})
	}
	p.srv.SeedContact(map[string]any{"NAME": "other", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "8"})
	rows, err := p.c.ListPages(context.Background(), bitrix.EntityContact, bitrix.ListRequest{
		Filter: map[string]any{"ORIGINATOR_ID": "retailcrm", "@ORIGIN_ID": []string{"7"}}, Select: []string{"ID"},
		Order: map[string]string{"ID": "ASC"}, Start: bitrix.NoCount})
	if err != nil || len(rows) != 120 || rows[0].ID() != 1 || rows[119].ID() != 120 {
		t.Fatalf("%d rows, err %v", len(rows), err)
	}
	if n := p.srv.Stats().PerMethod["crm.contact.list"]; n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}
