package sync

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// stageHeadKey names the command that reads the stage history's head when it
// rides along in a lookup batch.
const stageHeadKey = "stagehead"

// markStageHead arranges for push's stage-history cursor to start at the
// portal's current head the first time this database writes to Bitrix24.
// Without it the first push would read the portal's whole stage history,
// years of other deals included, to find the few moves made since crmsync
// began. The stages crmsync writes itself come after the head and are told
// apart by the ledger, as on every later run.
//
// The head is read by one more command in the run's first lookup batch,
// which always comes before the first write, so it costs no request of its
// own.
func (e *Engine) markStageHead(ctx context.Context) {
	if e.opts.DryRun {
		return
	}
	_, ok, err := e.store.CursorInt(ctx, store.CursorStageHistory)
	e.headPending = err == nil && !ok
}

// addStageHead adds the head command to a lookup batch when the head is
// still to be read and the batch has room without another request.
func (e *Engine) addStageHead(b *bitrix.Batch) bool {
	if !e.headPending || b.Len()%bitrix.MaxBatchCommands == 0 {
		return false
	}
	typeID := bitrix.EntityTypeDeal
	if e.mapper.entity() == bitrix.EntityLead {
		typeID = bitrix.EntityTypeLead
	}
	cmd := bitrix.StageHistoryListCmd(typeID, bitrix.ListRequest{
		Order: map[string]string{"ID": "DESC"}, Select: []string{"ID"}, Start: -1})
	return b.Add(stageHeadKey, cmd) == nil
}

// storeStageHead stores the head the batch read. A failure only costs the
// first push a long read, so it is logged, not fatal.
func (e *Engine) storeStageHead(ctx context.Context, cr *bitrix.CmdResult) {
	head, err := stageHead(cr)
	if err == nil {
		err = e.store.Tx(ctx, func(tx *store.Tx) error {
			return tx.SetCursorInt(ctx, store.CursorStageHistory, head)
		})
	}
	if err != nil {
		e.log.Warn("bitrix: cannot mark the stage history's head; the first push will read it from the start", "err", err)
	}
	e.headPending = false
}

// stageHead returns the id of the newest stage-history row (0 for none).
func stageHead(cr *bitrix.CmdResult) (int64, error) {
	if cr == nil || cr.Status != bitrix.Done {
		if cr != nil && cr.Err != nil {
			return 0, cr.Err
		}
		return 0, fmt.Errorf("stage history head not read")
	}
	rows, err := bitrix.DecodeStageHistory(cr.Result)
	if err != nil {
		return 0, err
	}
	var head int64
	for _, r := range rows {
		head = max(head, int64(r.ID))
	}
	return head, nil
}
