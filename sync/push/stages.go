package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// roundPages is how many stage-history pages (50 rows each) are read before
// the moves are applied and the cursor is committed.
const roundPages = 10

// move is the latest stage of one deal.
type move struct {
	DealID int64
	RowID  int64 // 0 for a retried failure
	Stage  string
	At     time.Time
	AtRaw  string
	retry  bool
	// earlier are the deal's rows before this one in the same round,
	// oldest first (to tell crmsync's own write from a later move back).
	earlier []move
}

// pushStages walks the stage history from the cursor in rounds: read up to
// roundPages pages, apply the latest move of each linked deal, commit the
// cursor. Retried failures join the first round.
func (r *run) pushStages(ctx context.Context, retry map[int64]stagePayload) error {
	cursor, ok, err := r.st.CursorInt(ctx, store.CursorStageHistory)
	if err != nil {
		return err
	}
	r.rep.Cursor = CursorSummary{From: cursor, To: cursor}
	read := true
	if !ok {
		if r.since, read, err = r.firstStart(ctx); err != nil {
			return err
		}
	}
	pending := map[int64]move{}
	for _, p := range retry {
		at, _ := time.Parse(time.RFC3339, p.At)
		pending[p.DealID] = move{DealID: p.DealID, Stage: p.Stage, At: at, AtRaw: p.At, retry: true}
	}
	for {
		var rows []bitrix.StageHistoryRow
		short := true
		if read && !r.stopped() {
			if rows, short, err = r.readRound(ctx, cursor); err != nil {
				return err
			}
		}
		if len(rows) == 0 && len(pending) == 0 {
			break
		}
		for _, row := range rows {
			r.seenDeals[int64(row.OwnerID)] = true
			m, err := r.rowMove(row)
			if err != nil {
				if err := r.skipEvent(ctx, "stagehistory "+strconv.FormatInt(int64(row.ID), 10), "stage.read", err); err != nil {
					return err
				}
				continue
			}
			// Rows come in ascending order: m is the deal's latest so far.
			if prev, ok := pending[m.DealID]; ok && !prev.retry {
				m.earlier = append(prev.earlier, move{DealID: prev.DealID, RowID: prev.RowID, Stage: prev.Stage, At: prev.At, AtRaw: prev.AtRaw})
			}
			pending[m.DealID] = m
		}
		if err := r.applyMoves(ctx, pending); err != nil {
			return err
		}
		pending = map[int64]move{}
		if len(rows) > 0 {
			cursor = int64(rows[len(rows)-1].ID)
			if err := r.st.Tx(ctx, func(tx *store.Tx) error {
				return tx.SetCursorInt(ctx, store.CursorStageHistory, cursor)
			}); err != nil {
				return err
			}
			r.rep.Cursor.To = cursor
		}
		if short {
			break
		}
	}
	return r.reportUnmapped(ctx)
}

// sinceMargin is how much earlier than the stored start of crmsync's
// writes (crmsync's clock) a first push starts reading the stage history
// (CREATED_TIME, the portal's clock): clock skew between the two hosts.
// More than echoTolerance, so the echo rows of crmsync's first stage
// writes are read as on every later run. It costs the pages of one hour of
// the portal's stage history, once.
const sinceMargin = time.Hour

// firstStart says where a push without a stage cursor starts reading
// (docs/architecture.md, Push): nowhere while no deal is linked (no move
// can matter yet, and pull marks the history's head before it links one);
// at the time crmsync began writing, less sinceMargin, when pull stored it
// but could not read the head; from the start otherwise (links of a
// database older than the head's marking: a move on any of them may
// matter).
func (r *run) firstStart(ctx context.Context) (since time.Time, read bool, err error) {
	links, err := r.st.CountLinks(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	n := links.Deals
	if r.et == store.EntityLead {
		n = links.Leads
	}
	if n == 0 {
		return time.Time{}, false, nil
	}
	v, ok, err := r.st.Cursor(ctx, store.CursorStageHistorySince)
	if err != nil || !ok {
		return time.Time{}, true, err
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		r.log.Warn("bad start of crmsync's writes; reading the stage history from its start", "value", v, "err", err)
		return time.Time{}, true, nil
	}
	return t.Add(-sinceMargin), true, nil
}

// readRound reads up to roundPages pages after cursor, within the run's
// item budget; short is true when the history is exhausted.
func (r *run) readRound(ctx context.Context, cursor int64) (rows []bitrix.StageHistoryRow, short bool, err error) {
	after := cursor
	for range roundPages {
		if r.stopped() {
			return rows, true, nil
		}
		page, err := r.historyPage(ctx, after)
		if err != nil {
			return nil, false, fmt.Errorf("reading Bitrix24 stage history after %d: %w", after, err)
		}
		got := page.Rows
		slices.SortFunc(got, func(a, b bitrix.StageHistoryRow) int { return int(a.ID - b.ID) })
		if n := r.budget(); len(got) > n {
			got = got[:n]
		}
		r.items += len(got)
		r.rep.Summary.StageRows += len(got)
		rows = append(rows, got...)
		if len(got) > 0 {
			after = int64(got[len(got)-1].ID)
		}
		if len(page.Rows) < bitrix.PageSize || len(got) < len(page.Rows) {
			return rows, true, nil
		}
	}
	return rows, false, nil
}

// historyPage reads the page after the cursor, from r.since on when set.
func (r *run) historyPage(ctx context.Context, after int64) (*bitrix.StageHistoryPage, error) {
	filter := map[string]any{">ID": after}
	if !r.since.IsZero() {
		filter[">=CREATED_TIME"] = bitrix.FormatTime(r.since)
	}
	page, err := r.bx.StageHistoryList(ctx, r.entityTypeID, bitrix.ListRequest{
		Filter: filter, Order: map[string]string{"ID": "ASC"}, Start: -1})
	var apiErr *bitrix.APIError
	if err != nil && !r.since.IsZero() && errors.As(err, &apiErr) && strings.EqualFold(apiErr.Code, bitrix.CodeInvalidArgValue) {
		// That CREATED_TIME can be filtered on is not documented
		// (docs/api-notes.md): a portal that refuses it is read from the
		// cursor alone, as before.
		r.log.Warn("the portal refuses a CREATED_TIME filter on the stage history; reading it from the start", "err", err)
		r.since = time.Time{}
		return r.historyPage(ctx, after)
	}
	return page, err
}

// rowMove reads a stage-history row.
func (r *run) rowMove(row bitrix.StageHistoryRow) (move, error) {
	stage := row.StageID
	if r.et == store.EntityLead {
		stage = row.StatusID
	}
	if row.OwnerID <= 0 || stage == "" {
		return move{}, fmt.Errorf("row %d has no owner or stage", int64(row.ID))
	}
	at, err := time.Parse(time.RFC3339, row.CreatedTime)
	if err != nil {
		return move{}, fmt.Errorf("row %d of deal %d: CREATED_TIME %q: %w", int64(row.ID), int64(row.OwnerID), row.CreatedTime, err)
	}
	return move{DealID: int64(row.OwnerID), RowID: int64(row.ID), Stage: stage, At: at, AtRaw: row.CreatedTime}, nil
}

// candidate is a move of a linked deal that is not an echo.
type candidate struct {
	move
	link   store.OrderLink
	status string // "" when the stage maps to no status
}

// applyMoves pushes the moves of linked deals.
func (r *run) applyMoves(ctx context.Context, moves map[int64]move) error {
	dealIDs := make([]int64, 0, len(moves))
	for id := range moves {
		dealIDs = append(dealIDs, id)
	}
	slices.Sort(dealIDs)
	links, err := r.st.OrderLinksByEntity(ctx, r.et, dealIDs)
	if err != nil {
		return err
	}
	var cands []candidate
	for _, id := range dealIDs {
		m, link := moves[id], links[id]
		if link.OrderID == 0 {
			continue // not a deal crmsync links to an order
		}
		r.rep.Summary.DealsMoved++
		v, err := r.classify(ctx, link.OrderID, m)
		if err != nil {
			return err
		}
		if v != verdictPerson {
			// The deal's latest move is crmsync's own (or older than
			// it): not activity worth reading comments for. A person's
			// comment before that write is found as an unread own write
			// (pushComments).
			delete(r.seenDeals, m.DealID)
			if v == verdictEcho {
				r.rep.Summary.EchoesDropped++
			} else {
				r.rep.Summary.Superseded++
			}
			if err := r.resolved(ctx, KindStage, link.OrderID); err != nil {
				return err
			}
			continue
		}
		status, _ := r.funnelOf(link.Site, m.Stage).StatusForStage(m.Stage) // "" when unmapped
		cands = append(cands, candidate{move: m, link: link, status: status})
	}
	if len(cands) == 0 {
		return nil
	}
	// Only the deal's current stage is pushed: a move the deal has left
	// since (a later row beyond this round, or crmsync's own later write)
	// would set the order back.
	current, err := r.currentStages(ctx, cands)
	if err != nil {
		return err
	}
	kept := cands[:0]
	for _, c := range cands {
		if stage, ok := current[c.DealID]; !ok || stage != c.Stage {
			r.rep.Summary.Superseded++
			if err := r.resolved(ctx, KindStage, c.link.OrderID); err != nil {
				return err
			}
			continue
		}
		kept = append(kept, c)
	}
	cands = kept
	if len(cands) == 0 {
		return nil
	}
	orders, err := r.readOrders(ctx, orderIDsOf(cands))
	if err != nil {
		return err
	}
	for _, c := range cands {
		if err := r.pushStatus(ctx, c, orders[c.link.OrderID]); err != nil {
			return err
		}
	}
	return nil
}

// echoTolerance is how much later than crmsync's own write its echo row
// may be timed (clock skew between crmsync's host and the portal, request
// latency).
const echoTolerance = 5 * time.Minute

// verdict is what a stage move is, seen from crmsync's own writes.
type verdict int

const (
	// verdictPerson: a move by a person, to push.
	verdictPerson verdict = iota
	// verdictEcho: the stage-history row of crmsync's own stage write.
	verdictEcho
	// verdictSuperseded: older than crmsync's last stage write on the
	// deal, which reflected the order as it was then: the deal no longer
	// stands there and the order must not go back.
	verdictSuperseded
)

// classify tells an echo and a superseded move from a person's move,
// against crmsync's last stage write on the deal (pull's, in the ledger).
// Each write has one echo row: the deal's first row with the stage written,
// timed within echoTolerance of the write (no row can come between a write
// and its echo). A later move back to that stage is a person's. Once seen,
// a write's echo is marked in the event log (action stage.echo), so a later
// run does not take another row for it.
func (r *run) classify(ctx context.Context, orderID int64, m move) (verdict, error) {
	e, ok, err := r.lastStageWrite(ctx, m.DealID)
	if err != nil || !ok {
		return verdictPerson, err
	}
	lo, hi := e.WrittenAt.Add(-echoTolerance), e.WrittenAt.Add(echoTolerance)
	if !m.At.IsZero() && m.At.Before(lo) {
		return verdictSuperseded, nil
	}
	inWindow := func(x move) bool { return !x.At.IsZero() && !x.At.Before(lo) && !x.At.After(hi) }
	for _, x := range m.earlier {
		if x.Stage == e.Value && inWindow(x) {
			// That earlier row is the echo; m came after it.
			seen, err := r.echoSeen(ctx, orderID, e, x.RowID)
			if err != nil || seen != echoUnseen {
				return verdictPerson, err
			}
			return verdictPerson, r.markEcho(ctx, orderID, m.DealID, e, x.RowID)
		}
	}
	if m.Stage != e.Value || !inWindow(m) {
		return verdictPerson, nil
	}
	seen, err := r.echoSeen(ctx, orderID, e, m.RowID)
	switch {
	case err != nil || seen == echoOtherRow:
		return verdictPerson, err
	case seen == echoThisRow:
		// A run killed after marking this very row, before its cursor
		// moved, reads it again: it is still the echo.
		return verdictEcho, nil
	}
	return verdictEcho, r.markEcho(ctx, orderID, m.DealID, e, m.RowID)
}

// echoMark says whether a write's echo was seen before, and in which row.
type echoMark int

const (
	echoUnseen echoMark = iota
	echoThisRow
	echoOtherRow
)

// lastStageWrite returns crmsync's last stage write on the deal.
func (r *run) lastStageWrite(ctx context.Context, dealID int64) (store.LedgerEntry, bool, error) {
	fields := []string{"STAGE_ID"}
	if r.et == store.EntityLead {
		fields = append(fields, "STATUS_ID")
	}
	var last store.LedgerEntry
	found := false
	for _, f := range fields {
		e, ok, err := r.st.LedgerLatest(ctx, store.SideBitrix, r.ledgerEntity, dealID, f)
		if err != nil {
			return store.LedgerEntry{}, false, err
		}
		if ok && (!found || e.WrittenAt.After(last.WrittenAt)) {
			last, found = e, true
		}
	}
	return last, found, nil
}

const actionEcho = "stage.echo"

// echoSourceID names ledger entry e's echo, seen in stage-history row rowID.
func echoSourceID(e store.LedgerEntry, rowID int64) string {
	return "ledger " + strconv.FormatInt(e.ID, 10) + " row " + strconv.FormatInt(rowID, 10)
}

// echoSeen reports whether the echo of ledger entry e was already seen, and
// whether in row rowID or in another.
func (r *run) echoSeen(ctx context.Context, orderID int64, e store.LedgerEntry, rowID int64) (echoMark, error) {
	events, err := r.st.Events(ctx, store.EventFilter{OrderID: orderID, Limit: 500})
	if err != nil {
		return echoUnseen, err
	}
	prefix := "ledger " + strconv.FormatInt(e.ID, 10) + " "
	for _, ev := range events {
		if ev.Action != actionEcho || !strings.HasPrefix(ev.SourceID+" ", prefix) {
			continue
		}
		if rowID > 0 && ev.SourceID == echoSourceID(e, rowID) {
			return echoThisRow, nil
		}
		return echoOtherRow, nil
	}
	return echoUnseen, nil
}

func (r *run) markEcho(ctx context.Context, orderID, dealID int64, e store.LedgerEntry, rowID int64) error {
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.AddEvent(ctx, store.Event{RunID: r.runID, Source: store.SourceBitrix, SourceID: echoSourceID(e, rowID),
			OrderID: orderID, Action: actionEcho, Result: store.ResultSkipped,
			Message: fmt.Sprintf("deal %d stage %s is crmsync's own write; not pushed back", dealID, e.Value)})
		return err
	})
}

func orderIDsOf(cands []candidate) []int64 {
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.link.OrderID
	}
	return ids
}

// reportUnmapped logs and records each unmapped stage once per run.
func (r *run) reportUnmapped(ctx context.Context) error {
	if len(r.unmapped) == 0 {
		return nil
	}
	stages := make([]string, 0, len(r.unmapped))
	for s := range r.unmapped {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		for _, s := range stages {
			n := r.unmapped[s]
			msg := fmt.Sprintf("stage %s of %d deal(s) has no RetailCRM status: add it to mapping.stages", s, n)
			r.log.Warn("unmapped stage", "stage", s, "deals", n)
			r.rep.Unmapped = append(r.rep.Unmapped, Unmapped{Stage: s, Deals: n})
			r.rep.Summary.UnmappedStages += n
			if _, err := tx.AddEvent(ctx, store.Event{RunID: r.runID, Source: store.SourceBitrix, SourceID: "stage " + s,
				Action: "stage.unmapped", Result: store.ResultSkipped, Message: msg}); err != nil {
				return err
			}
		}
		return nil
	})
}

// resolved forgets a retried failure of the order once a later move (or
// the order itself) made it moot.
func (r *run) resolved(ctx context.Context, kind string, orderID int64) error {
	if !r.retrying[kind+":"+strconv.FormatInt(orderID, 10)] {
		return nil
	}
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		return tx.ClearFailure(ctx, kind, strconv.FormatInt(orderID, 10))
	})
}

// skipEvent logs and records an item left out because its data is bad.
func (r *run) skipEvent(ctx context.Context, sourceID, action string, cause error) error {
	r.log.Warn("skipped: bad data", "item", sourceID, "err", cause)
	return r.st.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.AddEvent(ctx, store.Event{RunID: r.runID, Source: store.SourceBitrix, SourceID: sourceID,
			Action: action, Result: store.ResultSkipped, Message: cause.Error()})
		return err
	})
}

// currentStages reads the current stage of the candidates' deals: one
// list command per 50 deals, all in one batch request (up to 2,500 deals).
// A deal missing from the answer (deleted) has no entry.
func (r *run) currentStages(ctx context.Context, cands []candidate) (map[int64]string, error) {
	entity, field := bitrix.EntityDeal, "STAGE_ID"
	if r.et == store.EntityLead {
		entity, field = bitrix.EntityLead, "STATUS_ID"
	}
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.DealID
	}
	out := make(map[int64]string, len(ids))
	for batchIDs := range slices.Chunk(ids, bitrix.PageSize*bitrix.MaxBatchCommands) {
		b := bitrix.NewBatch(false)
		n := 0
		for chunk := range slices.Chunk(batchIDs, bitrix.PageSize) {
			list := make([]string, len(chunk))
			for i, id := range chunk {
				list[i] = strconv.FormatInt(id, 10)
			}
			if err := b.Add("s"+strconv.Itoa(n), bitrix.ListCmd(entity, bitrix.ListRequest{
				Filter: map[string]any{"@ID": list}, Select: []string{"ID", field}, Start: -1})); err != nil {
				return nil, err
			}
			n++
		}
		res, err := r.bx.Batch(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("reading the current stages of %d Bitrix24 %ss: %w", len(batchIDs), entity, err)
		}
		for _, k := range res.Keys {
			var rows []bitrix.Record
			if err := res.Get(k).Decode(&rows); err != nil {
				return nil, fmt.Errorf("reading the current stages of Bitrix24 %ss: %w", entity, err)
			}
			for _, row := range rows {
				out[int64(row.ID())] = row.String(field)
			}
		}
	}
	return out, nil
}
