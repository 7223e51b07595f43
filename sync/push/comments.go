package push

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/texts"
)

// maxCommentPages bounds how many pages of one deal's comments a run reads
// (50 comments a page, newest first).
const maxCommentPages = 20

// activityOverlap widens the "since the last run" window, for clock skew
// between crmsync's host and the services.
const activityOverlap = 5 * time.Minute

// sweepSize is how many open deals a run reads the comments of besides
// those with activity: a comment need not move LAST_ACTIVITY_TIME
// (docs/api-notes.md), so every deal whose order is not in a final status
// group is read in turn. The slice fills the batch that lists recently
// active deals (1 + 49 commands), so a push with nothing new still costs
// two Bitrix24 requests. N open deals are all read within ceil(N/49) runs:
// at one run per 5 minutes (288 a day), 14,112 open deals at least once a
// day.
const sweepSize = bitrix.MaxBatchCommands - 1

// portalOverlap widens the activity window that starts at the portal's
// own clock (the previous complete run's listing): writes the portal was
// still committing then may carry an earlier LAST_ACTIVITY_TIME.
const portalOverlap = time.Minute

// activityCursor names the stored start of the next run's activity window:
// the portal's time (date_start) of the last complete run's first listing.
func activityCursor(et store.EntityType) string { return "push:activity:" + string(et) }

// ledgerComment is the ledger's name of the timeline comments pull writes
// (entity id: the deal's).
const ledgerComment = "comment"

// ownWriteSlots is how many of the sweep's places a run gives first to
// deals crmsync wrote to since push last read their comments (at least
// sweepSize-ownWriteSlots places stay the sweep's, so it keeps moving).
const ownWriteSlots = 39

// ownWriteHorizon bounds how far back crmsync's own writes are looked up.
const ownWriteHorizon = 7 * 24 * time.Hour

// finalGroups are the RetailCRM status groups of orders done with: their
// deals are left out of the sweep (activity still finds them).
func finalGroups() []string { return []string{"complete", "cancel"} }

// dealComments are the new comments of one deal, oldest first, and the
// highest comment id seen (the deal's next cursor).
type dealComments struct {
	dealID int64
	cursor int64
	maxID  int64
	lines  []string
	own    int
}

// pushComments carries new timeline comments to their orders' manager
// comments: of the deals with recent activity, and of this run's slice of
// the open deals.
func (r *run) pushComments(ctx context.Context, retry map[int64]commentPayload) error {
	// Deals whose last activity may be crmsync's own write hiding a
	// person's comment before it come first in the sweep's places.
	unread, err := r.st.UnreadOwnWrites(ctx, r.et, []string{r.ledgerEntity, ledgerComment},
		r.start.Add(-ownWriteHorizon), activityOverlap, ownWriteSlots)
	if err != nil {
		return err
	}
	sweep, err := r.sweepSlice(ctx)
	if err != nil {
		return err
	}
	ride := slices.Clone(unread)
	for _, id := range sweep {
		if len(ride) < sweepSize && !slices.Contains(unread, id) {
			ride = append(ride, id)
		}
	}
	active, first, err := r.activeDeals(ctx, retry, ride)
	if err != nil {
		return err
	}
	isActive := make(map[int64]bool, len(active))
	for _, id := range active {
		isActive[id] = true
	}
	links, err := r.st.OrderLinksByEntity(ctx, r.et, append(slices.Clone(active), ride...))
	if err != nil {
		return err
	}
	retryByDeal := map[int64]commentPayload{}
	for orderID, p := range retry {
		if l, ok := links[p.DealID]; ok && l.OrderID == orderID {
			retryByDeal[p.DealID] = p
		}
	}
	// Retried deals first, so a run limit never starves them; the sweep
	// last, in its order.
	deals := make([]int64, 0, len(links))
	for _, id := range active {
		if _, ok := links[id]; ok {
			deals = append(deals, id)
		}
	}
	// Then those whose first comment page came with the activity list,
	// so the reads left share as few batches as possible.
	rank := func(id int64) int {
		if _, ok := retryByDeal[id]; ok {
			return 0
		}
		if _, ok := first[id]; ok {
			return 1
		}
		return 2
	}
	slices.SortStableFunc(deals, func(a, b int64) int { return rank(a) - rank(b) })
	nActive := len(deals)
	// Without the activity list to ride on (a first run), the sweep only
	// fills the room left in the last batch of comment reads, so it never
	// costs a request of its own beyond a push with nothing else to read.
	room := sweepSize
	if first == nil && nActive > 0 {
		room = (bitrix.MaxBatchCommands - nActive%bitrix.MaxBatchCommands) % bitrix.MaxBatchCommands
	}
	for _, id := range ride {
		if _, ok := links[id]; ok && !isActive[id] && room > 0 {
			deals = append(deals, id)
			room--
		}
	}
	done := map[int64]bool{}
	for _, chunk := range readChunks(deals, first) {
		if r.stopped() {
			break
		}
		chunk = chunk[:min(len(chunk), r.budget())]
		r.items += len(chunk)
		for _, id := range chunk {
			if isActive[id] {
				r.rep.Summary.DealsScanned++
			} else {
				r.rep.Summary.DealsSwept++
			}
		}
		found, err := r.readComments(ctx, chunk, first)
		if err != nil {
			return err
		}
		if err := r.appendComments(ctx, chunk, links, found, retryByDeal); err != nil {
			return err
		}
		for _, id := range chunk {
			done[id] = true
		}
	}
	// Complete means every deal with activity was read; the sweep keeps
	// its own position.
	r.rep.Summary.CommentsComplete = !r.activityPartial && !slices.ContainsFunc(deals[:nActive], func(id int64) bool { return !done[id] })
	return r.advanceSweep(ctx, sweep, done, links)
}

// maxChunk bounds the deals handled together (their orders are read 100
// ids a request).
const maxChunk = 100

// readChunks splits deals into chunks that each need at most one batch
// request for their newest comment pages: up to 50 deals without a first
// page given, and up to maxChunk deals in all.
func readChunks(deals []int64, first map[int64]*bitrix.CmdResult) [][]int64 {
	var out [][]int64
	var cur []int64
	need := 0
	for _, id := range deals {
		_, given := first[id]
		if len(cur) == maxChunk || (!given && need == bitrix.MaxBatchCommands) {
			out, cur, need = append(out, cur), nil, 0
		}
		cur = append(cur, id)
		if !given {
			need++
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sweepSlice returns the open deals this run sweeps: up to sweepSize
// after the stored position, wrapping around to the lowest ids.
func (r *run) sweepSlice(ctx context.Context) ([]int64, error) {
	pos, err := r.st.CommentSweep(ctx, r.et)
	if err != nil {
		return nil, err
	}
	ids, err := r.st.SweepEntities(ctx, r.et, pos, sweepSize, finalGroups())
	if err != nil {
		return nil, err
	}
	if len(ids) < sweepSize && pos > 0 {
		head, err := r.st.SweepEntities(ctx, r.et, 0, sweepSize-len(ids), finalGroups())
		if err != nil {
			return nil, err
		}
		for _, id := range head {
			if id > pos {
				break
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// advanceSweep moves the sweep position past the slice's deals this run
// read, in slice order (a run stopped by a limit resumes where it stopped;
// a deal no longer linked is passed over).
func (r *run) advanceSweep(ctx context.Context, sweep []int64, done map[int64]bool, links map[int64]store.OrderLink) error {
	var pos int64
	moved := false
	for _, id := range sweep {
		if _, linked := links[id]; linked && !done[id] {
			break
		}
		pos, moved = id, true
	}
	if !moved {
		return nil
	}
	return r.st.Tx(ctx, func(tx *store.Tx) error { return tx.SetCommentSweep(ctx, r.et, pos) })
}

// activeDeals returns the deals worth scanning for comments: those a
// person moved in this run, those Bitrix24 reports activity on by someone
// other than crmsync since the last complete push, and those with comment
// failures to retry. The request listing the deals with activity also
// reads the first page of the ride deals' comments (first, by deal).
//
// Deals whose last activity is crmsync's own are left out: reading them
// every run would cost a command per deal pull touched. A person's comment
// is still never missed: one written after crmsync's write makes the
// person the last actor (listed here); one written before it, since push
// last read the deal, is behind an own write the ledger records later than
// that read, so the deal is among pushComments' unread own writes, read in
// the sweep's places of the next runs until its comments are read past
// the write; and on a portal where comments do not count as activity the
// sweep reads every open deal in turn (docs/architecture.md, Push).
func (r *run) activeDeals(ctx context.Context, retry map[int64]commentPayload, ride []int64) ([]int64, map[int64]*bitrix.CmdResult, error) {
	set := maps.Clone(r.seenDeals)
	for _, p := range retry {
		set[p.DealID] = true
	}
	var first map[int64]*bitrix.CmdResult
	// Before a complete run, the window has no start: every deal whose
	// last activity is a person's is listed (also those a killed first
	// run moved past in the stage history). Without the webhook user to
	// leave crmsync's own out, that would be every deal: a first run then
	// reads the moved ones only.
	if !r.prevRun.IsZero() || r.deps.WebhookUserID > 0 {
		// The window starts at the portal's clock when it is known, so
		// no clock skew widens it: a push right after a busy one does
		// not read the same deals again.
		var since time.Time
		if !r.prevRun.IsZero() {
			since = r.prevRun.Add(-activityOverlap)
		}
		if v, ok, err := r.st.Cursor(ctx, activityCursor(r.et)); err != nil {
			return nil, nil, err
		} else if t, perr := time.Parse(time.RFC3339, v); ok && perr == nil && !r.prevRun.IsZero() {
			since = t.Add(-portalOverlap)
		}
		// The deals known active already ride in the listing's later
		// pages, when there are any.
		known := slices.Sorted(maps.Keys(set))
		links, err := r.st.OrderLinksByEntity(ctx, r.et, known)
		if err != nil {
			return nil, nil, err
		}
		known = slices.DeleteFunc(known, func(id int64) bool { _, ok := links[id]; return !ok })
		ids, f, err := r.recentlyActive(ctx, since, ride, known)
		if err != nil {
			return nil, nil, err
		}
		first = f
		for _, id := range ids {
			set[id] = true
		}
	}
	delete(set, 0)
	return slices.Sorted(maps.Keys(set)), first, nil
}

// recentlyActive lists crmsync's deals whose LAST_ACTIVITY_TIME is at or
// after since and whose last activity is not the webhook user's (one
// request per 50 deals, fast >ID paging). The first request also carries
// the first comment page of each ride deal; later ones that of deals known
// active (known, then those listed), so that reading them costs no
// request of its own.
func (r *run) recentlyActive(ctx context.Context, since time.Time, ride, known []int64) ([]int64, map[int64]*bitrix.CmdResult, error) {
	entity := bitrix.EntityDeal
	if r.et == store.EntityLead {
		entity = bitrix.EntityLead
	}
	var out []int64
	first := map[int64]*bitrix.CmdResult{}
	queued := map[int64]bool{}
	for _, id := range ride {
		queued[id] = true
	}
	var queue []int64
	enqueue := func(ids []int64) {
		for _, id := range ids {
			if !queued[id] {
				queued[id] = true
				queue = append(queue, id)
			}
		}
	}
	enqueue(known)
	var after int64
	total := 0 // the first page's count of active deals, when it came
	for page := range maxCommentPages {
		filter := map[string]any{">ID": after}
		if !since.IsZero() {
			filter[">=LAST_ACTIVITY_TIME"] = bitrix.FormatTime(since)
		}
		if r.deps.Originator != "" {
			filter["ORIGINATOR_ID"] = r.deps.Originator
		}
		if r.deps.WebhookUserID > 0 {
			filter["!=LAST_ACTIVITY_BY"] = r.deps.WebhookUserID
		}
		// The first page counts (start 0): its total (or next) says
		// how many pages there are, so a listing of 50 or 100 deals
		// needs no last, empty page. Later pages skip the count.
		start := -1
		if page == 0 {
			start = 0
		}
		b := bitrix.NewBatch(false)
		if err := b.Add("active", bitrix.ListCmd(entity, bitrix.ListRequest{Filter: filter, Select: []string{"ID"},
			Order: map[string]string{"ID": "ASC"}, Start: start})); err != nil {
			return nil, nil, err
		}
		var riding []int64
		if page == 0 {
			riding = ride
		} else {
			n := min(len(queue), bitrix.MaxBatchCommands-1)
			riding, queue = queue[:n], queue[n:]
		}
		for _, id := range riding {
			if err := b.Add(commentKey(id), r.commentPageCmd(id, 0)); err != nil {
				return nil, nil, err
			}
		}
		res, err := r.bx.Batch(ctx, b)
		if err != nil {
			return nil, nil, fmt.Errorf("listing Bitrix24 %ss with recent activity: %w", entity, err)
		}
		for _, id := range riding {
			if cr := res.Get(commentKey(id)); cr != nil {
				first[id] = cr
			}
		}
		if page == 0 {
			if cr := res.Get("active"); cr != nil && cr.Status == bitrix.Done && cr.Time != nil {
				if t, err := time.Parse(time.RFC3339, cr.Time.DateStart); err == nil {
					r.activityMark = t
				}
			}
		}
		var rows []bitrix.Record
		if err := res.Get("active").Decode(&rows); err != nil {
			r.log.Warn("listing recently active deals failed; scanning the others", "err", err)
			r.activityPartial = true
			return out, first, nil
		}
		var listed []int64
		for _, row := range rows {
			if id := int64(row.ID()); id > after {
				after = id
				listed = append(listed, id)
			}
		}
		out = append(out, listed...)
		if cr := res.Get("active"); page == 0 && cr.Total > 0 {
			total = cr.Total
		} else if page == 0 && !cr.HasNext {
			break
		}
		// Deals active since the count are the next run's (its window
		// starts before this listing).
		if len(rows) < bitrix.PageSize || total > 0 && len(out) >= total {
			break
		}
		if page == maxCommentPages-1 {
			r.log.Warn("more deals with activity than a run lists; the sweep reads the others in turn",
				"listed", len(out), "since", since)
		}
		links, err := r.st.OrderLinksByEntity(ctx, r.et, listed)
		if err != nil {
			return nil, nil, err
		}
		enqueue(slices.DeleteFunc(listed, func(id int64) bool { _, ok := links[id]; return !ok }))
	}
	return out, first, nil
}

func commentKey(dealID int64) string { return "d" + strconv.FormatInt(dealID, 10) }

// commentPageCmd reads a page of a deal's comments, newest first.
func (r *run) commentPageCmd(dealID int64, start int) bitrix.Cmd {
	return bitrix.TimelineCommentListCmd(r.timeline, bitrix.ID(dealID),
		bitrix.ListRequest{Order: map[string]string{"ID": "DESC"}, Start: start})
}

// readComments reads the new comments of up to 50 deals: one batch request
// for the newest page of each (none for deals whose first page is given),
// and more only for deals with more than a page of new comments.
func (r *run) readComments(ctx context.Context, deals []int64, first map[int64]*bitrix.CmdResult) (map[int64]*dealComments, error) {
	found := make(map[int64]*dealComments, len(deals))
	rows := map[int64][]bitrix.Comment{}
	next := map[int64]int{}
	cursors, err := r.st.CommentCursors(ctx, r.et, deals)
	if err != nil {
		return nil, err
	}
	for _, id := range deals {
		cur := cursors[id]
		found[id] = &dealComments{dealID: id, cursor: cur, maxID: cur}
		next[id] = 0
	}
	for page := 0; len(next) > 0 && page < maxCommentPages; page++ {
		got := map[int64]*bitrix.CmdResult{}
		b := bitrix.NewBatch(false)
		for _, id := range slices.Sorted(maps.Keys(next)) {
			if cr, ok := first[id]; ok && page == 0 {
				got[id] = cr
				continue
			}
			if err := b.Add(commentKey(id), r.commentPageCmd(id, next[id])); err != nil {
				return nil, err
			}
		}
		if b.Len() > 0 {
			res, err := r.bx.Batch(ctx, b)
			if err != nil {
				return nil, fmt.Errorf("reading Bitrix24 timeline comments: %w", err)
			}
			for id := range next {
				if _, ok := got[id]; !ok {
					got[id] = res.Get(commentKey(id))
				}
			}
		}
		more := map[int64]int{}
		for id, cr := range got {
			var cs []bitrix.Comment
			err := errors.New("no answer")
			if cr != nil {
				cs, err = bitrix.DecodeComments(cr.Result)
				if cr.Status != bitrix.Done {
					err = cr.Err
				}
			}
			if err != nil {
				delete(found, id)
				delete(rows, id)
				cause := fmt.Errorf("reading the comments of deal %d (read again in a later run): %w", id, err)
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
// first, leaving out those crmsync wrote: by the webhook user as author, by
// a comment id the ledger holds, and only then by text (bitrix.CommentKey),
// for the writes whose id the ledger does not know.
func (r *run) newLines(ctx context.Context, d *dealComments, cs []bitrix.Comment) error {
	slices.SortFunc(cs, func(a, b bitrix.Comment) int { return int(a.ID - b.ID) })
	var unnamed map[string]int
	for _, c := range cs {
		d.maxID = max(d.maxID, int64(c.ID))
		own := r.deps.WebhookUserID > 0 && int64(c.AuthorID) == r.deps.WebhookUserID
		if !own {
			var err error
			own, err = r.st.LedgerHasRemoteID(ctx, store.SideBitrix, ledgerComment, int64(c.ID))
			if err != nil {
				return err
			}
		}
		if !own {
			if unnamed == nil {
				var err error
				if unnamed, err = r.unnamedComments(ctx, d.dealID); err != nil {
					return err
				}
			}
			// Each write without an id accounts for one comment.
			if k := bitrix.CommentKey(r.st.Masked(c.Comment)); unnamed[k] > 0 {
				unnamed[k]--
				own = true
			}
		}
		if own {
			d.own++
			continue
		}
		if line := commentLine(c, r.txt); line != "" {
			d.lines = append(d.lines, line)
		}
	}
	return nil
}

// unnamedComments counts, by bitrix.CommentKey, the comments crmsync wrote
// on the deal whose id the ledger does not hold. A write leaves a row
// without an id (its intent) and, once its answer came, a later one with
// the id, which settles the intent before it; the intents left are writes
// whose answer was lost, and only those are recognised by text. A person's
// comment that reads like one of crmsync's named ones is carried.
func (r *run) unnamedComments(ctx context.Context, dealID int64) (map[string]int, error) {
	rows, err := r.st.LedgerEntries(ctx, store.SideBitrix, ledgerComment, dealID, "COMMENT")
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, l := range rows { // oldest first
		k := bitrix.CommentKey(l.Value)
		switch {
		case l.RemoteID == 0:
			out[k]++
		case out[k] > 0:
			out[k]--
		}
	}
	return out, nil
}

// commentLine formats a timeline comment for the order's manager comment:
// "[2026-01-02 15:04 user 7] text", the time in the portal's zone as the
// portal wrote it. Empty comments give "".
func commentLine(c bitrix.Comment, txt *texts.Catalog) string {
	text := strings.TrimSpace(c.Comment)
	if text == "" {
		return ""
	}
	when := c.Created
	if t, err := time.Parse(time.RFC3339, c.Created); err == nil {
		when = t.Format("2006-01-02 15:04")
	}
	author := txt.Get(texts.PushAuthorUnknown)
	if c.AuthorID > 0 {
		author = txt.F(texts.PushAuthorUser, c.AuthorID.String())
	}
	return fmt.Sprintf("[%s %s] %s", when, author, text)
}
