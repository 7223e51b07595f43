package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/texts"
)

// syncDeleted handles orders deleted in RetailCRM (a deleted history
// record, and the order gone from /orders): each one's deal moves to
// mapping.deleted_stage with a timeline comment. Deals are never deleted.
// The deals are found by ORIGIN_ID (one read for the page), so a lost
// database finds them too; a deal already in the stage is not written
// again, and the comment is keyed by the deletion's history record like
// every status comment, so a re-run or a crash sends nothing twice. It
// returns the event-log rows, committed with the page.
func (e *Engine) syncDeleted(ctx context.Context, ids []int64, events map[int64]*orderEvents) ([]store.Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ent := e.mapper.entity()
	links, err := e.store.OrderLinks(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading order links: %w", err)
	}
	rows, err := e.readByIDs(ctx, "ld", ids, func(ids []int64) bitrix.Cmd { return e.byOriginCmd(ent, ids, dealSelect()) })
	if err != nil {
		return nil, err
	}
	if ov := e.gate.overlay(); ov != nil {
		rows = mergeOverlay(ov, ent, rows, func(r bitrix.Record) bool {
			return r.String(bitrix.FieldOriginatorID) == e.mapper.originator() && containsID(ids, r.String(bitrix.FieldOriginID))
		})
	}
	deals := e.oldestByOrigin(ctx, store.EntityType(ent), ids, rows)
	gone := make([]*retailcrm.Order, len(ids))
	for i, id := range ids {
		gone[i] = &retailcrm.Order{ID: id}
	}
	if err := e.prepareManagers(ctx, gone, events); err != nil { // who deleted them, for the comments
		return nil, err
	}

	var notes []store.Event
	note := func(id int64, res store.Result, msg string) {
		notes = append(notes, store.Event{Source: store.SourceRetailCRM, SourceID: "order:" + strconv.FormatInt(id, 10),
			OrderID: id, Action: "order.deleted", Result: res, Message: msg})
	}
	var items []*item
	stages := bitrix.NewBatch(false)
	var ledger []store.LedgerEntry
	stageOf := map[int64]string{}
	for _, id := range ids {
		r, ok := deals[strconv.FormatInt(id, 10)]
		if !ok {
			note(id, store.ResultSkipped, "order deleted in RetailCRM; it has no deal in Bitrix24")
			continue
		}
		o := &retailcrm.Order{ID: id}
		var link *store.OrderLink
		if l, ok := links[id]; ok {
			o.Number, o.Site, link = l.Number, l.Site, &l
		} else {
			// No link (a lost database): the order's earlier records of the
			// page may still name it, so the comment reads as before and is
			// found on the timeline.
			o.Number = snapshotNumber(events[id])
		}
		it := &item{order: o, events: events[id], link: link, remote: r, dealID: int64(r.ID()), dealDone: true}
		stage := e.deletedStage(o.Site, r)
		stageOf[id] = stage
		rec := deletionRecord(events[id])
		if rec != nil {
			pcs, err := e.pendingComment(ctx, rec.ID, e.deletedText(o, rec, stage))
			if err != nil {
				return nil, err
			}
			it.comments = pcs
		}
		items = append(items, it)
		if stage != "" && r.String(e.mapper.stageField()) != stage {
			if err := stages.Add(dealKey(id), bitrix.UpdateCmd(ent, r.ID(), bitrix.Fields{e.mapper.stageField(): stage}, sonet())); err != nil {
				return nil, err
			}
			ledger = append(ledger, store.LedgerEntry{Side: store.SideBitrix, Entity: string(ent), EntityID: int64(r.ID()),
				Field: e.mapper.stageField(), Value: stage})
		}
	}
	results := map[string]*bitrix.CmdResult{}
	if stages.Len() > 0 {
		// The ledger learns the stage before it is sent: push must not
		// carry crmsync's own move back to an order that is gone.
		if err := e.store.Tx(ctx, func(tx *store.Tx) error { return addLedger(ctx, tx, ledger) }); err != nil {
			return nil, fmt.Errorf("recording the deleted orders' stages: %w", err)
		}
		if results, err = e.writeAll(ctx, stages, nil); err != nil {
			return nil, err
		}
	}
	if err := e.writeComments(ctx, items); err != nil {
		return nil, err
	}
	for _, it := range items {
		k := dealKey(it.order.ID)
		stage := stageOf[it.order.ID]
		if _, sent := stages.Cmd(k); sent {
			cr := results[k]
			if cr == nil || cr.Status != bitrix.Done {
				it.err = errors.Join(it.err, cmdError(cr))
			} else {
				e.sum.DealsUpdated++
				e.addChange(Change{Op: OpUpdate, Entity: string(ent), EntityID: it.dealID, OrderID: it.order.ID,
					OrderNumber: it.order.Number, Site: it.order.Site,
					Fields: []FieldChange{{Field: e.mapper.stageField(), Old: ptr(it.remote.String(e.mapper.stageField())), New: stage}}})
			}
		}
		if it.err != nil {
			e.log.Warn("moving the deal of a deleted order", "order", it.order.ID, "deal", it.dealID, "err", it.err)
			note(it.order.ID, store.ResultFailed, fmt.Sprintf("order deleted in RetailCRM; %s %d: %s", ent, it.dealID, reason(it.err)))
			continue
		}
		msg := fmt.Sprintf("order deleted in RetailCRM; %s %d left in stage %s", ent, it.dealID, stage)
		if stage == "" {
			msg = fmt.Sprintf("order deleted in RetailCRM; %s %d left as it is (no mapping.deleted_stage nor group:cancel stage)", ent, it.dealID)
		}
		note(it.order.ID, e.result(), msg)
	}
	return notes, nil
}

func ptr(s string) *string { return &s }

// deletedStage is the stage for the deal of a deleted order: that of the
// funnel the deal stands in (its deleted_stage, else its group:cancel
// stage), as the deal can only move within it.
func (e *Engine) deletedStage(site string, deal bitrix.Record) string {
	if e.mapper.entity() != bitrix.EntityDeal {
		return e.cfg.Mapping.DeletedStageOr()
	}
	return e.cfg.FunnelOfCategory(site, int(deal.IDField(bitrix.FieldCategoryID))).DeletedStageOr()
}

// snapshotNumber is the order number the snapshots of ev's records carry,
// "" when none does (a deletion's own snapshot may not).
func snapshotNumber(ev *orderEvents) string {
	if ev == nil {
		return ""
	}
	for _, r := range ev.records {
		if r.Order != nil && r.Order.Number != "" {
			return r.Order.Number
		}
	}
	return ""
}

// deletionRecord is the history record that deleted the order, or nil.
func deletionRecord(ev *orderEvents) *retailcrm.HistoryRecord {
	if ev == nil {
		return nil
	}
	for i := range ev.records {
		if ev.records[i].Deleted {
			return &ev.records[i]
		}
	}
	return nil
}

// pendingComment is the timeline comment of a history record unless it
// was written before (see comments).
func (e *Engine) pendingComment(ctx context.Context, recordID int64, text string) ([]pendingComment, error) {
	_, fired, err := e.store.RuleFired(ctx, commentRuleKey, historyEventKey(recordID), actionComment)
	if err != nil || fired {
		return nil, err
	}
	_, intended, err := e.store.RuleFired(ctx, commentRuleKey, historyEventKey(recordID), actionCommentIntent)
	if err != nil {
		return nil, err
	}
	return []pendingComment{{recordID: recordID, text: text, uncertain: intended}}, nil
}

// deletedText is the timeline comment on the deal of a deleted order.
func (e *Engine) deletedText(o *retailcrm.Order, r *retailcrm.HistoryRecord, stage string) string {
	txt := e.mapper.txt
	name := strconv.FormatInt(o.ID, 10)
	if o.Number != "" {
		name = esc(o.Number)
	}
	text := txt.F(texts.OrderDeleted, name, e.by(r))
	if stage != "" {
		text += txt.F(texts.OrderDeletedStage, esc(stage))
	}
	return capText(clean(text), maxTextBytes, txt)
}

// dealDeletedPayload marks the failure of an order whose deal was deleted
// in Bitrix24: only an operator's retry lets the next pull make a new one.
const dealDeletedPayload = "deal-deleted"

// errDealDeleted is the parking reason of an order whose linked deal is
// gone from Bitrix24.
func errDealDeleted(it *item, ent bitrix.Entity) error {
	id := it.dealID // the deal an update found gone
	if id == 0 {
		id = it.link.EntityID
	}
	return fmt.Errorf("%w: order %s: %s %d was deleted in Bitrix24; it is not made again on its own: crmsync retry re-creates it on the next pull",
		errBadOrder, orderName(it.order), ent, id)
}

// dealGone reports an item whose linked deal the portal no longer has:
// the lookup by ORIGIN_ID found none (and the link is for this entity
// type), or the update answered not found.
func (e *Engine) dealGone(it *item, cr *bitrix.CmdResult) bool {
	if it.link == nil || it.link.EntityID == 0 || it.recreate {
		return false
	}
	if et := it.link.EntityType; et != "" && et != store.EntityType(e.mapper.entity()) {
		return false
	}
	if cr != nil {
		return cr.Status == bitrix.Failed && errors.Is(cr.Err, bitrix.ErrNotFound)
	}
	return it.remote == nil
}

// recreateRequested lists the orders whose deal was deleted in Bitrix24
// and that an operator re-queued (crmsync retry): their next sync makes a
// new deal instead of parking them again.
func recreateRequested(due []store.Failure) map[int64]bool {
	out := map[int64]bool{}
	for _, f := range due {
		if !strings.HasPrefix(f.Payload, dealDeletedPayload) {
			continue
		}
		if id, err := strconv.ParseInt(f.Key, 10, 64); err == nil {
			out[id] = true
		}
	}
	return out
}
