package push

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// maxCommentPages bounds how many pages of one deal's comments a run reads
// (50 comments a page, newest first).
const maxCommentPages = 20

// activityOverlap widens the "since the last run" window, for clock skew
// between crmsync's host and the services.
const activityOverlap = 5 * time.Minute

// dealComments are the new comments of one deal, oldest first, and the
// highest comment id seen (the deal's next cursor).
type dealComments struct {
	dealID int64
	cursor int64
	maxID  int64
	lines  []string
	own    int
}

// pushComments carries new timeline comments of the deals with recent
// activity to their orders' manager comments.
func (r *run) pushComments(ctx context.Context, retry map[int64]commentPayload) error {
	active, err := r.activeDeals(ctx, retry)
	if err != nil {
		return err
	}
	links, err := r.st.OrderLinksByEntity(ctx, r.et, active)
	if err != nil {
		return err
	}
	retryByDeal := map[int64]commentPayload{}
	for orderID, p := range retry {
		if l, ok := links[p.DealID]; ok && l.OrderID == orderID {
			retryByDeal[p.DealID] = p
		}
	}
	// Retried deals first, so a run limit never starves them.
	deals := make([]int64, 0, len(links))
	for id := range links {
		deals = append(deals, id)
	}
	slices.SortFunc(deals, func(a, b int64) int {
		_, ra := retryByDeal[a]
		_, rb := retryByDeal[b]
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return int(a - b)
	})
	scanned := 0
	for chunk := range slices.Chunk(deals, bitrix.MaxBatchCommands) {
		if r.stopped() {
			break
		}
		chunk = chunk[:min(len(chunk), r.budget())]
		r.items += len(chunk)
		r.rep.Summary.DealsScanned += len(chunk)
		found, err := r.readComments(ctx, chunk)
		if err != nil {
			return err
		}
		if err := r.appendComments(ctx, chunk, links, found, retryByDeal); err != nil {
			return err
		}
		scanned += len(chunk)
	}
	r.rep.Summary.CommentsComplete = scanned == len(deals)
	return nil
}

// activeDeals returns the deals worth scanning for comments: those with a
// stage move in this run, those of orders crmsync touched since the last
// push run, those Bitrix24 reports activity on since then, and those with
// comment failures to retry.
func (r *run) activeDeals(ctx context.Context, retry map[int64]commentPayload) ([]int64, error) {
	set := maps.Clone(r.seenDeals)
	for _, p := range retry {
		set[p.DealID] = true
	}
	var since time.Time
	if !r.prevRun.IsZero() {
		since = r.prevRun.Add(-activityOverlap)
	}
	events, err := r.st.Events(ctx, store.EventFilter{Since: since, Limit: 10000})
	if err != nil {
		return nil, err
	}
	// push's own events are not activity: they would rescan its own work.
	runs, err := r.st.Runs(ctx, Command, 100)
	if err != nil {
		return nil, err
	}
	own := map[int64]bool{r.runID: true}
	for _, run := range runs {
		own[run.ID] = true
	}
	var orderIDs []int64
	for _, e := range events {
		if e.OrderID != 0 && !own[e.RunID] {
			orderIDs = append(orderIDs, e.OrderID)
		}
	}
	links, err := r.st.OrderLinks(ctx, orderIDs)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if l.EntityType == r.et || (l.EntityType == "" && r.et == store.EntityDeal) {
			set[l.EntityID] = true
		}
	}
	if !since.IsZero() {
		ids, err := r.recentlyActive(ctx, since)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			set[id] = true
		}
	}
	delete(set, 0)
	return slices.Sorted(maps.Keys(set)), nil
}

// recentlyActive lists crmsync's deals whose LAST_ACTIVITY_TIME is at or
// after since (one request per 50 deals, fast >ID paging).
func (r *run) recentlyActive(ctx context.Context, since time.Time) ([]int64, error) {
	entity := bitrix.EntityDeal
	if r.et == store.EntityLead {
		entity = bitrix.EntityLead
	}
	var out []int64
	var after int64
	for range maxCommentPages {
		filter := map[string]any{">=LAST_ACTIVITY_TIME": bitrix.FormatTime(since), ">ID": after}
		if r.deps.Originator != "" {
			filter["ORIGINATOR_ID"] = r.deps.Originator
		}
		b := bitrix.NewBatch(false)
		if err := b.Add("active", bitrix.ListCmd(entity, bitrix.ListRequest{Filter: filter, Select: []string{"ID"},
			Order: map[string]string{"ID": "ASC"}, Start: -1})); err != nil {
			return nil, err
		}
		res, err := r.bx.Batch(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("listing Bitrix24 %ss with recent activity: %w", entity, err)
		}
		var rows []bitrix.Record
		if err := res.Get("active").Decode(&rows); err != nil {
			r.log.Warn("listing recently active deals failed; scanning the others", "err", err)
			return out, nil
		}
		for _, row := range rows {
			if id := int64(row.ID()); id > after {
				after = id
				out = append(out, id)
			}
		}
		if len(rows) < bitrix.PageSize {
			break
		}
	}
	return out, nil
}

// readComments reads the new comments of up to 50 deals: one batch request
// for the newest page of each, and more only for deals with more than a page
// of new comments.
func (r *run) readComments(ctx context.Context, deals []int64) (map[int64]*dealComments, error) {
	found := make(map[int64]*dealComments, len(deals))
	rows := map[int64][]bitrix.Comment{}
	next := map[int64]int{}
	for _, id := range deals {
		cur, _, err := r.st.CursorInt(ctx, store.CommentsCursor(id))
		if err != nil {
			return nil, err
		}
		found[id] = &dealComments{dealID: id, cursor: cur, maxID: cur}
		next[id] = 0
	}
	for page := 0; len(next) > 0 && page < maxCommentPages; page++ {
		b := bitrix.NewBatch(false)
		for _, id := range slices.Sorted(maps.Keys(next)) {
			if err := b.Add("d"+strconv.FormatInt(id, 10), bitrix.TimelineCommentListCmd(r.timeline, bitrix.ID(id),
				bitrix.ListRequest{Order: map[string]string{"ID": "DESC"}, Start: next[id]})); err != nil {
				return nil, err
			}
		}
		res, err := r.bx.Batch(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("reading Bitrix24 timeline comments: %w", err)
		}
		more := map[int64]int{}
		for id := range next {
			cr := res.Get("d" + strconv.FormatInt(id, 10))
			cs, err := bitrix.DecodeComments(cr.Result)
			if cr.Status != bitrix.Done {
				err = cr.Err
			}
			if err != nil {
				delete(found, id)
				delete(rows, id)
				cause := fmt.Errorf("reading the comments of deal %d (scanned again next run): %w", id, err)
				if err := r.skipEvent(ctx, "deal "+strconv.FormatInt(id, 10), "comment.read", cause); err != nil {
					return nil, err
				}
				continue
			}
			reachedOld := false
			for _, c := range cs {
				if int64(c.ID) <= found[id].cursor {
					reachedOld = true
					continue
				}
				rows[id] = append(rows[id], c)
			}
			if !reachedOld && cr.HasNext && len(cs) == bitrix.PageSize {
				more[id] = cr.Next
			}
		}
		next = more
	}
	for id, cs := range rows {
		if err := r.newLines(ctx, found[id], cs); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// newLines turns a deal's new comments into manager-comment lines, oldest
// first, leaving out those crmsync wrote.
func (r *run) newLines(ctx context.Context, d *dealComments, cs []bitrix.Comment) error {
	slices.SortFunc(cs, func(a, b bitrix.Comment) int { return int(a.ID - b.ID) })
	for _, c := range cs {
		d.maxID = max(d.maxID, int64(c.ID))
		own := r.deps.WebhookUserID > 0 && int64(c.AuthorID) == r.deps.WebhookUserID
		if !own {
			var err error
			own, err = r.st.LedgerHasRemoteID(ctx, store.SideBitrix, "comment", int64(c.ID))
			if err != nil {
				return err
			}
		}
		if !own {
			var err error
			own, err = r.st.LedgerHas(ctx, store.SideBitrix, "comment", d.dealID, "COMMENT", c.Comment)
			if err != nil {
				return err
			}
		}
		if own {
			d.own++
			continue
		}
		if line := commentLine(c); line != "" {
			d.lines = append(d.lines, line)
		}
	}
	return nil
}

// commentLine formats a timeline comment for the order's manager comment:
// "[2026-01-02 15:04 user 7] text", the time in the portal's zone as the
// portal wrote it. Empty comments give "".
func commentLine(c bitrix.Comment) string {
	text := strings.TrimSpace(c.Comment)
	if text == "" {
		return ""
	}
	when := c.Created
	if t, err := time.Parse(time.RFC3339, c.Created); err == nil {
		when = t.Format("2006-01-02 15:04")
	}
	author := "unknown author"
	if c.AuthorID > 0 {
		author = "user " + c.AuthorID.String()
	}
	return fmt.Sprintf("[%s %s] %s", when, author, text)
}
