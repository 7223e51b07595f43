package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/retailcrm"
)

// commentRuleKey marks the built-in "history record → timeline comment"
// rule in the store's record of fired rules.
const commentRuleKey = "builtin:timeline"

// A comment's intent is recorded before it is sent and its success after:
// an intent without success (a crash in between) means the comment may
// exist, so the deal's timeline is read before sending it again.
const (
	actionCommentIntent = "comment-intent"
	actionComment       = "comment"
)

func historyEventKey(recordID int64) string { return "history:" + strconv.FormatInt(recordID, 10) }

// comments returns the timeline comments an order's history records ask
// for and that were not written before: status changes (who, when, old →
// new, with a note on cancellations), returned items, and changed customer
// or manager comments.
func (e *Engine) comments(ctx context.Context, it *item) ([]pendingComment, error) {
	if it.events == nil {
		return nil, nil
	}
	var out []pendingComment
	// The creation flag may sit on a record other than the status one; the
	// initial status of a new order is no change to comment on either way.
	creation := slices.ContainsFunc(it.events.records, func(r retailcrm.HistoryRecord) bool { return r.Created })
	for _, r := range it.events.records {
		if creation && r.Field == "status" && r.OldValue.Code() == "" {
			continue
		}
		text := e.commentText(it.order, &r)
		if text == "" {
			continue
		}
		_, fired, err := e.store.RuleFired(ctx, commentRuleKey, historyEventKey(r.ID), actionComment)
		if err != nil {
			return nil, fmt.Errorf("reading fired comments: %w", err)
		}
		if fired {
			continue
		}
		_, intended, err := e.store.RuleFired(ctx, commentRuleKey, historyEventKey(r.ID), actionCommentIntent)
		if err != nil {
			return nil, fmt.Errorf("reading fired comments: %w", err)
		}
		out = append(out, pendingComment{recordID: r.ID, text: text, uncertain: intended})
	}
	return out, nil
}

func (e *Engine) commentText(o *retailcrm.Order, r *retailcrm.HistoryRecord) string {
	who := "RetailCRM"
	switch {
	case r.User != nil && r.User.ID != 0:
		who = fmt.Sprintf("RetailCRM user %d", r.User.ID)
	case r.Source != "":
		who = "RetailCRM (" + r.Source + ")"
	}
	when := ""
	if !r.CreatedAt.IsZero() {
		when = " at " + r.CreatedAt.String()
	}
	switch r.Field {
	case "status":
		if r.Created {
			return ""
		}
		oldCode, newCode := r.OldValue.Code(), r.NewValue.Code()
		if newCode == "" || oldCode == newCode {
			return ""
		}
		text := fmt.Sprintf("Order status changed: %s → %s (by %s%s)", e.statusLabel(oldCode), e.statusLabel(newCode), who, when)
		switch group := e.mapper.groups[newCode]; {
		case e.mapper.ref.returnStatus(newCode, group):
			text += ". Return registered."
			if items := orderReturnItems(o, e.mapper.ref); len(items) > 0 {
				text += " Returned items: " + strings.Join(items, ", ") + "."
			}
		case group == "cancel":
			text += ". The order was cancelled."
		case group == "complete":
			text += ". The order was completed."
		}
		return clean(text)
	case "order_product.status":
		code := r.NewValue.Code()
		if !e.mapper.ref.productCancelled(code) {
			return ""
		}
		return clean(fmt.Sprintf("Return registered: %s moved to %s (by %s%s)", itemName(o, r), e.mapper.ref.productStatusName(code), who, when))
	case "customer_comment", "manager_comment":
		v := clean(r.NewValue.String())
		if v == "" {
			return ""
		}
		label := "Customer comment"
		if r.Field == "manager_comment" {
			label = "Manager comment"
		}
		return fmt.Sprintf("%s (by %s%s): %s", label, who, when, v)
	}
	return ""
}

// statusLabel names a status for people: its name from the statuses
// reference, the code when the reference does not know it.
func (e *Engine) statusLabel(code string) string {
	if code == "" {
		return "(none)"
	}
	return e.mapper.ref.statusName(code)
}
