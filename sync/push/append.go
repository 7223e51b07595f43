package push

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// appendComments appends the new lines of a chunk of deals to their
// orders, one edit per order. The order is read first: a line it already
// holds (a run that crashed after the edit, before its commit) is not
// appended again.
func (r *run) appendComments(ctx context.Context, deals []int64, links map[int64]store.OrderLink,
	found map[int64]*dealComments, retry map[int64]commentPayload) error {
	type job struct {
		link  store.OrderLink
		d     *dealComments
		lines []string
	}
	var jobs []job
	var orderIDs []int64
	// Every deal read records the read (its cursor's time), also with
	// nothing new: crmsync's own writes later than that read are what
	// makes a deal due again (store.UnreadOwnWrites).
	var read []*dealComments
	for _, id := range deals {
		d, ok := found[id]
		if !ok {
			continue // unreadable this run
		}
		link := links[id]
		lines := d.lines
		r.rep.Summary.CommentsOwn += d.own
		if len(lines) > 0 || retry[id].DealID != 0 {
			waiting, err := r.waitingCommentLines(ctx, link.OrderID)
			if err != nil {
				return err
			}
			lines = union(waiting, lines)
		}
		if len(lines) == 0 {
			read = append(read, d)
			continue
		}
		jobs = append(jobs, job{link: link, d: d, lines: lines})
		orderIDs = append(orderIDs, link.OrderID)
	}
	if len(read) > 0 {
		if err := r.st.Tx(ctx, func(tx *store.Tx) error {
			for _, d := range read {
				if err := tx.SetCommentCursor(ctx, r.et, d.dealID, d.maxID); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	orders, err := r.readOrders(ctx, orderIDs)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := r.appendOrder(ctx, j.link, j.d, j.lines, orders[j.link.OrderID]); err != nil {
			return err
		}
	}
	return nil
}

// holdsLines reports whether comment holds block as whole lines: a later
// comment "ok" is not mistaken as present in an earlier "ok, shipped" line.
// Line ends are compared without carriage returns (a manager may have
// typed them in RetailCRM's editor).
func holdsLines(comment, block string) bool {
	norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
	return strings.Contains("\n"+norm(comment)+"\n", "\n"+norm(block)+"\n")
}

// appendOrder appends the lines the order does not hold yet.
func (r *run) appendOrder(ctx context.Context, link store.OrderLink, d *dealComments, lines []string, o *retailcrm.Order) error {
	orderID := link.OrderID
	moveCursor := func(tx *store.Tx) error {
		return tx.SetCommentCursor(ctx, r.et, d.dealID, d.maxID)
	}
	if o == nil {
		return r.failItem(ctx, KindComment, orderID, d.dealID, commentPayload{DealID: d.dealID, Lines: lines}, errOrderGone, moveCursor)
	}
	var missing []string
	for _, l := range lines {
		if holdsLines(o.ManagerComment, l) {
			r.rep.Summary.CommentsPresent++
			continue
		}
		missing = append(missing, l)
	}
	if len(missing) == 0 {
		return r.st.Tx(ctx, func(tx *store.Tx) error {
			if err := tx.ClearFailure(ctx, KindComment, strconv.FormatInt(orderID, 10)); err != nil {
				return err
			}
			return moveCursor(tx)
		})
	}
	added := strings.Join(missing, "\n")
	text := added
	if existing := strings.TrimRight(o.ManagerComment, "\n"); existing != "" {
		text = existing + "\n" + added
	}
	if err := r.gate.edit(ctx, o, retailcrm.OrderPatch{ManagerComment: &text}); err != nil {
		return r.failItem(ctx, KindComment, orderID, d.dealID, commentPayload{DealID: d.dealID, Lines: missing}, err, moveCursor)
	}
	r.rep.Summary.CommentsPushed += len(missing)
	r.rep.Changes = append(r.rep.Changes, Change{Op: OpComment, OrderID: orderID, OrderNumber: o.Number, Site: o.Site,
		DealID: d.dealID, Text: added, Comments: len(missing)})
	r.log.Info("comments pushed", "order", orderID, "deal", d.dealID, "comments", len(missing), "dry_run", r.opts.DryRun)
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		if err := r.recordEdit(ctx, tx, KindComment, "managerComment", added, store.Event{SourceID: "deal " + strconv.FormatInt(d.dealID, 10),
			OrderID: orderID, Action: "comment.push",
			Message: fmt.Sprintf("%d timeline comment(s) of deal %d appended to the manager comment", len(missing), d.dealID)}); err != nil {
			return err
		}
		return moveCursor(tx)
	})
}

// union returns a followed by the lines of b not in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
