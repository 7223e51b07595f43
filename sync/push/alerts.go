package push

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/runs"
	"github.com/crmsync/crmsync/sync/texts"
)

// maxAlertItems bounds how many parked items one notification lists.
const maxAlertItems = 10

// alert tells alerts.notify_user_ids about the items this run parked: one
// notification per user per run, in one batch request. A dry run sends
// nothing. A failed notification is logged and recorded, never fatal.
func (r *run) alert(ctx context.Context) error {
	if len(r.newlyParked) == 0 || len(r.deps.NotifyUserIDs) == 0 || r.opts.DryRun {
		return nil
	}
	var msg strings.Builder
	msg.WriteString(r.txt.F(texts.AlertPushParked, r.txt.Plural(texts.PushItems, len(r.newlyParked))))
	for i, p := range r.newlyParked {
		if i == maxAlertItems {
			msg.WriteString(r.txt.F(texts.AlertPushMore, len(r.newlyParked)-i))
			break
		}
		// A reason can quote order data: escaped, since notifications render BBCode.
		msg.WriteString(r.txt.F(texts.AlertPushLine, bitrix.EscapeMarkup(p.Kind), p.OrderID, bitrix.EscapeMarkup(oneLine(p.Reason))))
	}
	al := runs.Alerter{Users: r.deps.NotifyUserIDs, Send: r.bx.Batch, Store: r.st, Log: r.log, Texts: r.txt}
	res, err := al.Notify(ctx, []string{msg.String()})
	if errors.Is(err, runs.ErrNotBuilt) {
		return err
	}
	result, note := store.ResultOK, fmt.Sprintf("parked items notified to users %v", r.deps.NotifyUserIDs)
	if err == nil {
		r.rep.Summary.Alerts += len(res.ByStatus(bitrix.Done))
		for _, cr := range res.ByStatus(bitrix.Failed) {
			err = cr.Err
		}
	}
	if err != nil {
		result, note = store.ResultFailed, fmt.Sprintf("notifying users %v about parked items: %v", r.deps.NotifyUserIDs, err)
		r.log.Warn("alert not sent", "err", err)
	}
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.AddEvent(ctx, store.Event{RunID: r.runID, Source: store.SourceCrmsync, Action: "alert",
			Result: result, Message: note})
		return err
	})
}
