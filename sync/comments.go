package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/texts"
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
	for _, c := range e.commentTexts(it.order, it.events.records) {
		_, fired, err := e.store.RuleFired(ctx, commentRuleKey, historyEventKey(c.recordID), actionComment)
		if err != nil {
			return nil, fmt.Errorf("reading fired comments: %w", err)
		}
		if fired {
			continue
		}
		_, intended, err := e.store.RuleFired(ctx, commentRuleKey, historyEventKey(c.recordID), actionCommentIntent)
		if err != nil {
			return nil, fmt.Errorf("reading fired comments: %w", err)
		}
		out = append(out, pendingComment{recordID: c.recordID, covers: c.covers, text: c.text, uncertain: intended})
	}
	return out, nil
}

// commentDraft is the text of one timeline comment and the history records
// it stands for: the first is its key, covers are the others.
type commentDraft struct {
	recordID int64
	covers   []int64
	text     string
}

// commentTexts turns an order's records of one history page into comment
// texts, one per record, except that a return is one comment however many
// records show it (the status change and every returned line): a return of
// 20,000 lines is one comment per page, not 20,000, and its list of lines is
// capped. Every value from RetailCRM is escaped (see esc); every text is
// capped at maxTextBytes.
func (e *Engine) commentTexts(o *retailcrm.Order, recs []retailcrm.HistoryRecord) []commentDraft {
	var out []commentDraft
	ret := -1 // the return's comment in out
	var retStatus, retLines []string
	retBy := "" // who returned the lines: the first line record's author
	// The creation flag may sit on a record other than the status one; the
	// initial status of a new order is no change to comment on either way.
	creation := slices.ContainsFunc(recs, func(r retailcrm.HistoryRecord) bool { return r.Created })
	for i := range recs {
		r := &recs[i]
		if creation && r.Field == "status" && r.OldValue.Code() == "" {
			continue
		}
		if line, status, ok := e.returnRecord(o, r); ok {
			if ret < 0 {
				out = append(out, commentDraft{recordID: r.ID})
				ret = len(out) - 1
			} else {
				out[ret].covers = append(out[ret].covers, r.ID)
			}
			if status != "" {
				retStatus = append(retStatus, status)
			} else if line != "" && !slices.Contains(retLines, line) {
				retLines = append(retLines, line)
			}
			if retBy == "" && line != "" {
				retBy = e.by(r)
			}
			continue
		}
		if text := e.commentText(o, r); text != "" {
			out = append(out, commentDraft{recordID: r.ID, text: capText(text, maxTextBytes, e.mapper.txt)})
		}
	}
	if ret >= 0 {
		out[ret].text = e.returnText(o, retStatus, retLines, retBy)
	}
	return out
}

// paidText is the comment on an order becoming fully paid: the amount and
// when.
func (e *Engine) paidText(o *retailcrm.Order, at string) string {
	txt := e.mapper.txt
	return clean(txt.F(texts.OrderPaid, txt.Money(o.TotalSumm), esc(clean(o.Currency)), esc(clean(at))))
}

// returnRecord reports a record that belongs to a return: a status change
// to a return status (its status line) or a line moved to a cancelled
// product status (the line, as "name moved to status").
func (e *Engine) returnRecord(o *retailcrm.Order, r *retailcrm.HistoryRecord) (line, status string, ok bool) {
	switch r.Field {
	case "status":
		oldCode, newCode := r.OldValue.Code(), r.NewValue.Code()
		if r.Created || newCode == "" || oldCode == newCode || !e.mapper.ref.returnStatus(newCode, e.mapper.groups[newCode]) {
			return "", "", false
		}
		return "", e.mapper.txt.F(texts.ReturnByStatus, esc(e.statusLabel(oldCode)), esc(e.statusLabel(newCode)), e.by(r)), true
	case "order_product.status":
		code := r.NewValue.Code()
		if !e.mapper.ref.productCancelled(code) {
			return "", "", false
		}
		return e.mapper.txt.F(texts.LineMoved, esc(itemName(o, r, e.mapper.txt)), esc(e.mapper.ref.productStatusName(code))), "", true
	}
	return "", "", false
}

// returnText is a return's comment: the status changes, then the returned
// lines, capped so that the whole text fits maxTextBytes.
func (e *Engine) returnText(o *retailcrm.Order, status, lines []string, lineAuthor string) string {
	txt := e.mapper.txt
	if len(status) > 0 {
		head := strings.Join(status, "\n")
		// The order came back: name what it takes back (the lines in a
		// cancelled product status, or all of them).
		items := orderReturnItems(o, e.mapper.ref, txt)
		if len(items) == 0 {
			return capText(clean(head), maxTextBytes, txt)
		}
		for i, it := range items {
			items[i] = esc(it)
		}
		label := txt.Get(texts.ReturnedItems)
		return clean(head + label + capList(items, maxTextBytes-len(head)-len(label)-1, txt) + ".")
	}
	head := txt.F(texts.ReturnLines, lineAuthor)
	return clean(head + capList(lines, maxTextBytes-len(head)-1, txt) + ".")
}

// by names who made a history record and when: a manager by the name
// RetailCRM gives (the manager cache, managers.go), else "RetailCRM user 5"
// ("пользователь RetailCRM 5") when the key may not read users.
func (e *Engine) by(r *retailcrm.HistoryRecord) string {
	txt := e.mapper.txt
	who := "RetailCRM"
	switch {
	case r.User != nil && r.User.ID != 0 && e.managerName(r.User.ID) != "":
		who = esc(e.managerName(r.User.ID))
	case r.User != nil && r.User.ID != 0:
		who = txt.F(texts.WhoUser, r.User.ID)
	case r.Source != "":
		who = txt.F(texts.WhoSource, esc(r.Source))
	}
	if !r.CreatedAt.IsZero() {
		return txt.F(texts.ByAt, who, r.CreatedAt.String())
	}
	return txt.F(texts.By, who)
}

// commentText is the comment of a record that is not part of a return:
// a status change (who, when, old → new, with a note on cancellations and
// completions) or a changed customer or manager comment; "" for others.
func (e *Engine) commentText(o *retailcrm.Order, r *retailcrm.HistoryRecord) string {
	switch r.Field {
	case "status":
		if r.Created {
			return ""
		}
		oldCode, newCode := r.OldValue.Code(), r.NewValue.Code()
		if newCode == "" || oldCode == newCode {
			return ""
		}
		txt := e.mapper.txt
		text := txt.F(texts.StatusChanged, esc(e.statusLabel(oldCode)), esc(e.statusLabel(newCode)), e.by(r))
		switch e.mapper.groups[newCode] {
		case "cancel":
			text += txt.Get(texts.OrderCancelled)
		case "complete":
			text += txt.Get(texts.OrderCompleted)
		}
		return clean(text)
	case "customer_comment", "manager_comment":
		v := clean(r.NewValue.String())
		if v == "" {
			return ""
		}
		key := texts.CustomerComment
		if r.Field == "manager_comment" {
			key = texts.ManagerComment
		}
		return e.mapper.txt.F(key, e.by(r), esc(v))
	case "full_paid_at":
		// Set: the order became fully paid (cleared: a refund, which the
		// payment's own status shows in COMMENTS).
		if r.NewValue.IsNull() || clean(r.NewValue.String()) == "" {
			return ""
		}
		return e.paidText(o, r.NewValue.String())
	}
	return ""
}

// statusLabel names a status for people: its name from the statuses
// reference, the code when the reference does not know it.
func (e *Engine) statusLabel(code string) string {
	if code == "" {
		return e.mapper.txt.Get(texts.NoStatus)
	}
	return e.mapper.ref.statusName(code)
}
