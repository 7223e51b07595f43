package sync

import (
	"context"
	"fmt"
	"time"

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
// which comes before the run's first write; it costs no request of its own
// unless that batch is full. The run's start is also stored
// (store.CursorStageHistorySince), before any write: should the head not be
// read, push's first run starts its walk at that time instead
// (docs/architecture.md, Push).
//
// A database that already links orders but has no stage cursor (made
// before crmsync marked the head, or whose head read failed) is left alone:
// a head taken now would skip the moves people made on those links since.
func (e *Engine) markStageHead(ctx context.Context, start time.Time) {
	if e.opts.DryRun {
		return
	}
	err := e.startStageHistory(ctx, start)
	if err != nil {
		e.log.Warn("bitrix: cannot mark where push's stage history starts; the first push reads it from the start", "err", err)
	}
}

// startStageHistory stores the run's start and sets the head pending when
// the database has neither a stage cursor nor a link of the entity type.
func (e *Engine) startStageHistory(ctx context.Context, start time.Time) error {
	_, ok, err := e.store.CursorInt(ctx, store.CursorStageHistory)
	if err != nil || ok {
		return err
	}
	links, err := e.store.CountLinks(ctx)
	if err != nil {
		return err
	}
	n := links.Deals
	if e.mapper.entity() == bitrix.EntityLead {
		n = links.Leads
	}
	if n > 0 {
		return nil
	}
	// An earlier start (a run that linked nothing) is kept: it is as safe.
	if _, ok, err = e.store.Cursor(ctx, store.CursorStageHistorySince); err != nil {
		return err
	}
	if !ok {
		if err := e.store.Tx(ctx, func(tx *store.Tx) error {
			return tx.SetCursor(ctx, store.CursorStageHistorySince, start.UTC().Format(time.RFC3339))
		}); err != nil {
			return err
		}
	}
	e.headPending = true
	return nil
}

// addStageHead adds the head command to a lookup batch when the head is
// still to be read. It rides along even in a full batch (one more request,
// once per database): this read is the last one known to come before a
// write, and a head read after crmsync's first links would skip the moves
// made on them in between.
func (e *Engine) addStageHead(b *bitrix.Batch) bool {
	if !e.headPending {
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

// stageHeadTooLate gives up the head before the run's first write when no
// lookup read it yet: a head read after a write could skip the moves people
// make on the links the write makes. Push then starts at the stored run
// start (store.CursorStageHistorySince).
func (e *Engine) stageHeadTooLate() { e.headPending = false }

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
