package sync

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// markStageHead starts push's stage-history cursor at the portal's current
// head the first time this database writes to Bitrix24. Without it the first
// push would read the portal's whole stage history, years of other deals
// included, to find the few moves made since crmsync began. The stages
// crmsync writes itself come after the head and are told apart by the
// ledger, as on every later run.
//
// One request, once per database. A failure only costs that first push the
// long read, so it is logged, not fatal.
func (e *Engine) markStageHead(ctx context.Context) {
	if e.opts.DryRun {
		return
	}
	if _, ok, err := e.store.CursorInt(ctx, store.CursorStageHistory); err != nil || ok {
		return
	}
	typeID := bitrix.EntityTypeDeal
	if e.mapper.entity() == bitrix.EntityLead {
		typeID = bitrix.EntityTypeLead
	}
	head, err := e.stageHead(ctx, typeID)
	if err != nil {
		e.log.Warn("bitrix: cannot read the stage history's head; the first push will read it from the start", "err", err)
		return
	}
	if err := e.store.Tx(ctx, func(tx *store.Tx) error {
		return tx.SetCursorInt(ctx, store.CursorStageHistory, head)
	}); err != nil {
		e.log.Warn("cannot store the stage history's head", "err", err)
	}
}

// stageHead returns the id of the newest stage-history row (0 for none).
func (e *Engine) stageHead(ctx context.Context, typeID int) (int64, error) {
	b := bitrix.NewBatch(false)
	cmd := bitrix.StageHistoryListCmd(typeID, bitrix.ListRequest{
		Order: map[string]string{"ID": "DESC"}, Select: []string{"ID"}, Start: -1})
	if err := b.Add("head", cmd); err != nil {
		return 0, err
	}
	res, err := e.bx.Batch(ctx, b)
	if res != nil {
		e.sum.BitrixRequests += res.Requests
	}
	if err != nil {
		return 0, err
	}
	cr := res.Get("head")
	if cr == nil || cr.Status != bitrix.Done {
		if cr != nil && cr.Err != nil {
			return 0, cr.Err
		}
		return 0, fmt.Errorf("stage history head not read")
	}
	rows, err := bitrix.DecodeStageHistory(json.RawMessage(cr.Result))
	if err != nil {
		return 0, err
	}
	var head int64
	for _, r := range rows {
		head = max(head, int64(r.ID))
	}
	return head, nil
}
