package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// errOrderGone is the reason an item is parked when its order is missing.
var errOrderGone = fmt.Errorf("order not found in RetailCRM (deleted, or its store is not visible to the key): %w", retailcrm.ErrNotFound)

// readOrders fetches the current orders, 100 per request.
func (r *run) readOrders(ctx context.Context, ids []int64) (map[int64]*retailcrm.Order, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	list, err := r.rc.OrdersByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading %d RetailCRM orders: %w", len(ids), err)
	}
	out := make(map[int64]*retailcrm.Order, len(list))
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, nil
}

// pushStatus writes the mapped status of one move to its order, unless the
// order already agrees or a newer change of the order's status wins.
func (r *run) pushStatus(ctx context.Context, c candidate, o *retailcrm.Order) error {
	payload := stagePayload{DealID: c.DealID, Stage: c.Stage, At: c.AtRaw}
	if o != nil && (o.Status == c.status || r.agrees(ctx, o.Site, o.Status, c.Stage)) {
		r.rep.Summary.StatusesUnchanged++
		return r.resolved(ctx, KindStage, o.ID)
	}
	if c.status == "" {
		// Reported once per run (reportUnmapped); nothing to park.
		r.unmapped[c.Stage]++
		return r.resolved(ctx, KindStage, c.link.OrderID)
	}
	if o == nil {
		return r.failItem(ctx, KindStage, c.link.OrderID, c.DealID, payload, errOrderGone, nil)
	}
	conflict, err := r.conflict(ctx, c, o)
	if err != nil {
		return err
	}
	if conflict != nil {
		r.rep.Conflicts = append(r.rep.Conflicts, *conflict)
		r.rep.Summary.Conflicts++
		if conflict.Winner == winnerRetailCRM {
			r.rep.Summary.ConflictsLost++
			r.log.Info("conflict: order status kept", "order", o.ID, "deal", c.DealID, "decision", conflict.describe())
			return r.st.Tx(ctx, func(tx *store.Tx) error {
				if err := r.conflictEvent(ctx, tx, o.ID, c.DealID, *conflict); err != nil {
					return err
				}
				return tx.ClearFailure(ctx, KindStage, strconv.FormatInt(o.ID, 10))
			})
		}
	}
	if err := r.gate.edit(ctx, o, retailcrm.OrderPatch{Status: c.status}); err != nil {
		return r.failItem(ctx, KindStage, o.ID, c.DealID, payload, err, nil)
	}
	r.rep.Summary.StatusesPushed++
	r.rep.Changes = append(r.rep.Changes, Change{Op: OpStatus, OrderID: o.ID, OrderNumber: o.Number, Site: o.Site,
		DealID: c.DealID, Stage: c.Stage, OldStatus: o.Status, NewStatus: c.status})
	r.log.Info("status pushed", "order", o.ID, "deal", c.DealID, "stage", c.Stage, "from", o.Status, "to", c.status, "dry_run", r.opts.DryRun)
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		if err := r.recordEdit(ctx, tx, KindStage, "status", c.status, store.Event{SourceID: r.rowSource(c.move),
			OrderID: o.ID, Action: "status.push",
			Message: fmt.Sprintf("deal %d stage %s → order status %s (was %s)", c.DealID, c.Stage, c.status, o.Status)}); err != nil {
			return err
		}
		if conflict != nil {
			return r.conflictEvent(ctx, tx, o.ID, c.DealID, *conflict)
		}
		return nil
	})
}

// recordEdit records an edit of the order ev is about, within tx: the value
// written to its field in the ledger (pull drops the edit's echo by it),
// the event, and the item of this kind no longer failing.
func (r *run) recordEdit(ctx context.Context, tx *store.Tx, kind, field, value string, ev store.Event) error {
	if err := tx.AddLedger(ctx, store.LedgerEntry{Side: store.SideRetailCRM, Entity: "order", EntityID: ev.OrderID,
		Field: field, Value: value}); err != nil {
		return err
	}
	ev.RunID, ev.Source, ev.Result = r.runID, store.SourceBitrix, store.ResultOK
	if r.opts.DryRun {
		ev.Result = store.ResultDryRun
	}
	if _, err := tx.AddEvent(ctx, ev); err != nil {
		return err
	}
	return tx.ClearFailure(ctx, kind, strconv.FormatInt(ev.OrderID, 10))
}

func (r *run) rowSource(m move) string {
	if m.RowID == 0 {
		return "deal " + strconv.FormatInt(m.DealID, 10) + " (retry)"
	}
	return "stagehistory " + strconv.FormatInt(m.RowID, 10)
}

func (r *run) conflictEvent(ctx context.Context, tx *store.Tx, orderID, dealID int64, c Conflict) error {
	_, err := tx.AddEvent(ctx, store.Event{RunID: r.runID, Source: store.SourceCrmsync, SourceID: "deal " + strconv.FormatInt(dealID, 10),
		OrderID: orderID, Action: "status.conflict", Result: store.ResultConflict, Message: c.describe()})
	return err
}

// conflict decides between the order's status and the deal's stage when
// both changed since the last sync: the later change wins. It returns nil
// when the order's status did not change since (then the stage is pushed).
//
// The order changed since the last sync when its statusUpdatedAt is after
// the link's last sync and its status is not the one push last wrote.
// RetailCRM times are wall-clock times in the account's zone; Bitrix24
// stage-history times carry their offset.
func (r *run) conflict(ctx context.Context, c candidate, o *retailcrm.Order) (*Conflict, error) {
	if o.StatusUpdatedAt.IsZero() {
		return nil, nil
	}
	// A wall-clock time is at most 14 hours ahead of its instant: a status
	// older than that before the last sync needs no time zone to judge.
	if raw, err := o.StatusUpdatedAt.In(time.UTC); err == nil && !c.link.SyncedAt.IsZero() &&
		raw.Add(14*time.Hour).Before(c.link.SyncedAt) {
		return nil, nil
	}
	if last, ok, err := r.st.LedgerLatest(ctx, store.SideRetailCRM, "order", o.ID, "status"); err != nil {
		return nil, err
	} else if ok && last.Value == o.Status {
		return nil, nil // the status is push's own write
	}
	out := &Conflict{OrderID: o.ID, DealID: c.DealID, Status: o.Status, StatusTime: o.StatusUpdatedAt.String(),
		Stage: c.Stage, StageTime: c.AtRaw, Winner: winnerRetailCRM}
	loc, err := r.location(ctx)
	if err != nil {
		// Without the zone the order's time cannot be compared: keep it.
		out.StatusTime += " (account zone unknown)"
		return out, nil
	}
	statusAt, err := o.StatusUpdatedAt.In(loc)
	if err != nil {
		if errors.Is(err, retailcrm.ErrNoLocation) {
			return out, nil
		}
		r.log.Warn("unreadable statusUpdatedAt; treating the order as unchanged", "order", o.ID, "err", err)
		return nil, nil
	}
	if !c.link.SyncedAt.IsZero() && !statusAt.After(c.link.SyncedAt) {
		return nil, nil // the status was synced to the deal after it changed
	}
	out.StatusTime = statusAt.Format("2006-01-02 15:04:05 MST")
	if c.At.After(statusAt) {
		out.Winner, out.PushedValue = winnerBitrix, c.status
	}
	return out, nil
}
