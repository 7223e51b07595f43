package bitrix

import (
	"context"
	"encoding/json"
)

// StageHistoryRow is a crm.stagehistory.list row. Deals fill StageID and
// StageSemanticID, leads StatusID and StatusSemanticID.
type StageHistoryRow struct {
	ID               ID
	TypeID           int // 1 created, 2 moved, 3 moved to a final stage, 5 funnel changed
	OwnerID          ID
	CreatedTime      string
	CategoryID       ID
	StageID          string
	StageSemanticID  string
	StatusID         string
	StatusSemanticID string
}

// UnmarshalJSON reads ids as numbers or strings.
func (s *StageHistoryRow) UnmarshalJSON(b []byte) error {
	return fromRecord(b, s, func(r Record) (StageHistoryRow, error) {
		return StageHistoryRow{ID: r.ID(), TypeID: int(r.IDField("TYPE_ID")), OwnerID: r.IDField("OWNER_ID"),
			CreatedTime: r.String("CREATED_TIME"), CategoryID: r.IDField("CATEGORY_ID"), StageID: r.String("STAGE_ID"),
			StageSemanticID: r.String("STAGE_SEMANTIC_ID"), StatusID: r.String("STATUS_ID"), StatusSemanticID: r.String("STATUS_SEMANTIC_ID")}, nil
	})
}

// StageHistoryListCmd builds crm.stagehistory.list. Use Filter {">ID": cursor}
// and Order {"ID": "ASC"} to read new moves.
func StageHistoryListCmd(entityTypeID int, req ListRequest) Cmd {
	const m = "crm.stagehistory.list"
	p := req.params(m)
	p["entityTypeId"] = entityTypeID
	return Cmd{Method: m, Params: p}
}

// StageHistoryPage is one page of stage history.
type StageHistoryPage struct {
	Rows    []StageHistoryRow
	Total   int
	Next    int
	HasNext bool
}

// StageHistoryList reads one page.
func (c *Client) StageHistoryList(ctx context.Context, entityTypeID int, req ListRequest) (*StageHistoryPage, error) {
	rows, resp, err := runResult(ctx, c, StageHistoryListCmd(entityTypeID, req), DecodeStageHistory)
	if err != nil {
		return nil, err
	}
	return &StageHistoryPage{Rows: rows, Total: resp.Total, Next: resp.Next, HasNext: resp.HasNext}, nil
}

// StageHistorySince returns the moves with ID > after, ascending, in pages of
// 50 until a short page, at most limit rows (0 = no limit).
func (c *Client) StageHistorySince(ctx context.Context, entityTypeID int, after ID, filter map[string]any, limit int) ([]StageHistoryRow, error) {
	var out []StageHistoryRow
	for {
		f := map[string]any{}
		for k, v := range filter {
			f[k] = v
		}
		f[">ID"] = after
		page, err := c.StageHistoryList(ctx, entityTypeID, ListRequest{Filter: f, Order: map[string]string{"ID": "ASC"}, Start: NoCount})
		if err != nil {
			return out, err
		}
		for _, r := range page.Rows {
			if r.ID > after {
				after = r.ID
			}
			out = append(out, r)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
		if len(page.Rows) < PageSize {
			return out, nil
		}
	}
}

// DecodeStageHistory decodes {"items": [...]} (rows sit under result.items).
func DecodeStageHistory(raw json.RawMessage) ([]StageHistoryRow, error) {
	return listUnder[StageHistoryRow]("crm.stagehistory.list", "items")(raw)
}
