package sync

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// contactSelect names the contact fields lookups read: every scalar field,
// user fields, and the multifields (never returned unless named).
func contactSelect() []string { return []string{"*", "UF_*", bitrix.FieldPhone, bitrix.FieldEmail} }

func dealSelect() []string { return []string{"*", "UF_*"} }

// read runs a batch of read commands and fails on any failed command: a
// read that fails is a configuration or portal problem, not an item's.
func (e *Engine) read(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	if b.Len() == 0 {
		return &bitrix.BatchResult{Results: map[string]*bitrix.CmdResult{}}, nil
	}
	head := e.addStageHead(b)
	res, err := e.bx.Batch(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("bitrix lookup: %w", err)
	}
	if head {
		e.storeStageHead(ctx, res.Get(stageHeadKey))
	}
	for _, k := range res.Keys {
		if head && k == stageHeadKey {
			continue
		}
		cr := res.Results[k]
		if cr.Status != bitrix.Done {
			return nil, fmt.Errorf("bitrix lookup %s (%s): %s: %w", k, cr.Cmd.Method, cr.Status, cr.Err)
		}
	}
	return res, nil
}

func idStrings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// byOriginCmd lists the entities with our originator and one of the origin ids.
func (e *Engine) byOriginCmd(ent bitrix.Entity, originIDs []int64, sel []string) bitrix.Cmd {
	return bitrix.ListCmd(ent, bitrix.ListRequest{
		Filter: map[string]any{bitrix.FieldOriginatorID: e.mapper.originator(), "@" + bitrix.FieldOriginID: idStrings(originIDs)},
		Select: sel,
		Order:  map[string]string{"ID": "ASC"},
	})
}

func byIDCmd(ent bitrix.Entity, ids []int64, sel []string) bitrix.Cmd {
	return bitrix.ListCmd(ent, bitrix.ListRequest{
		Filter: map[string]any{"@ID": idStrings(ids)},
		Select: sel,
		Order:  map[string]string{"ID": "ASC"},
	})
}

// rowsOf joins the rows of the given keys.
func rowsOf(lists map[string][]bitrix.Record, keys []string) []bitrix.Record {
	var out []bitrix.Record
	for _, k := range keys {
		out = append(out, lists[k]...)
	}
	return out
}

// listRows decodes the rows of the list commands under keys and reads every
// further page the portal names in next. A chunk of 50 ids answers more than
// 50 rows when people or other tools made copies carrying the same
// ORIGIN_ID; rows past the first page would be missed, and the orders whose
// deals they are would get new ones. All further pages go in one more batch
// (the answer's total says how many there are): further pages are further
// commands with start.
func (e *Engine) listRows(ctx context.Context, res *bitrix.BatchResult, keys []string) (map[string][]bitrix.Record, error) {
	type more struct {
		key      string
		cmd      bitrix.Cmd
		from, to int // starts [from, to) are still to read
	}
	out := make(map[string][]bitrix.Record, len(keys))
	seen := map[string]map[bitrix.ID]bool{}
	add := func(k string, cr *bitrix.CmdResult) (int, error) {
		rows, err := bitrix.DecodeRows(cr.Result)
		if err != nil {
			return 0, fmt.Errorf("bitrix lookup %s: %w", k, err)
		}
		if seen[k] == nil {
			seen[k] = map[bitrix.ID]bool{}
		}
		for _, r := range rows {
			// Offsets shift when rows come or go between pages: a row may
			// come twice.
			if !seen[k][r.ID()] {
				seen[k][r.ID()] = true
				out[k] = append(out[k], r)
			}
		}
		return len(rows), nil
	}
	var todo []more
	for _, k := range keys {
		cr := res.Get(k)
		if cr == nil {
			continue
		}
		n, err := add(k, cr)
		if err != nil {
			return nil, err
		}
		if cr.HasNext && n > 0 && cr.Next > 0 {
			todo = append(todo, more{k, cr.Cmd, cr.Next, max(cr.Total, cr.Next+1)})
		}
	}
	for len(todo) > 0 {
		b := bitrix.NewBatch(false)
		owner := map[string]more{}
		for _, m := range todo {
			for start := m.from; start < m.to; start += bitrix.PageSize {
				pk := m.key + "_" + strconv.Itoa(start)
				if err := b.Add(pk, bitrix.PageCmd(m.cmd, start)); err != nil {
					return nil, err
				}
				owner[pk] = m
			}
		}
		more2, err := e.read(ctx, b)
		if err != nil {
			return nil, err
		}
		todo = todo[:0]
		for _, pk := range more2.Keys {
			m, ok := owner[pk]
			if !ok {
				continue // the stage head riding along
			}
			cr := more2.Get(pk)
			n, err := add(m.key, cr)
			if err != nil {
				return nil, err
			}
			// Rows added since the count: the last page names one more.
			if cr.HasNext && n == bitrix.PageSize && cr.Next >= m.to {
				todo = append(todo, more{m.key, m.cmd, cr.Next, max(cr.Total, cr.Next+1)})
			}
		}
	}
	return out, nil
}

// oldestByOrigin picks, per ORIGIN_ID, the row with the lowest id, and
// records the others sharing it for status and check: crmsync keeps using
// the oldest and never creates another. A recorded group whose origin is
// looked up again is updated, so one cleaned up in Bitrix24 leaves the
// report.
func (e *Engine) oldestByOrigin(ctx context.Context, et store.EntityType, looked []int64, rows []bitrix.Record) map[string]bitrix.Record {
	oldest := map[string]bitrix.Record{}
	ids := map[string][]int64{}
	for _, r := range rows {
		o := r.String(bitrix.FieldOriginID)
		if cur, ok := oldest[o]; !ok || r.ID() < cur.ID() {
			oldest[o] = r
		}
		if id := int64(r.ID()); id < dryIDBase {
			ids[o] = append(ids[o], id)
		}
	}
	if e.opts.DryRun {
		return oldest
	}
	// Write only what changes the record: new groups, and recorded groups
	// of the looked-up origins (to update or clear them). Almost always
	// there are neither, and the lookup costs no transaction.
	recorded, err := e.store.Duplicates(ctx)
	if err != nil {
		e.log.Warn("bitrix: cannot read recorded duplicates", "entity", string(et), "err", err)
		return oldest
	}
	had := map[int64]bool{}
	for _, d := range recorded {
		if d.EntityType == et {
			had[d.OriginID] = true
		}
	}
	type group struct {
		origin, kept int64
		others       []int64
	}
	var groups []group
	for _, origin := range looked {
		key := strconv.FormatInt(origin, 10)
		g := group{origin: origin}
		if r, ok := oldest[key]; ok {
			g.kept = int64(r.ID())
			g.others = slices.DeleteFunc(slices.Clone(ids[key]), func(id int64) bool { return id == g.kept })
			slices.Sort(g.others)
		}
		if len(g.others) > 0 {
			e.log.Warn("bitrix: several entities carry one ORIGIN_ID; using the oldest", "entity", string(et),
				"origin_id", origin, "kept", g.kept, "others", len(g.others))
		}
		if len(g.others) > 0 || had[origin] {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return oldest
	}
	err = e.store.Tx(ctx, func(tx *store.Tx) error {
		for _, g := range groups {
			if err := tx.SetDuplicates(ctx, et, g.origin, g.kept, g.others); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Only the report of duplicates is lost; the lookup stands.
		e.log.Warn("bitrix: cannot record duplicates", "entity", string(et), "err", err)
	}
	return oldest
}

// addChunked adds commands under key prefix p with numbered suffixes, ≤ 50
// ids per command.
func addChunked(b *bitrix.Batch, prefix string, ids []int64, mk func([]int64) bitrix.Cmd) ([]string, error) {
	var keys []string
	for i := 0; i < len(ids); i += bitrix.PageSize {
		k := prefix + strconv.Itoa(i/bitrix.PageSize)
		if err := b.Add(k, mk(ids[i:min(i+bitrix.PageSize, len(ids))])); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// readByIDs reads, in one batch (and the further pages any command needs),
// the rows the commands mk builds for ids, ≤ 50 ids a command.
func (e *Engine) readByIDs(ctx context.Context, prefix string, ids []int64, mk func([]int64) bitrix.Cmd) ([]bitrix.Record, error) {
	b := bitrix.NewBatch(false)
	keys, err := addChunked(b, prefix, ids, mk)
	if err != nil {
		return nil, err
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return nil, err
	}
	lists, err := e.listRows(ctx, res, keys)
	if err != nil {
		return nil, err
	}
	return rowsOf(lists, keys), nil
}

// lookup finds, in one batch, the deals of the orders that need work (by
// ORIGIN_ID) and the contacts of the customers that need work (by link id,
// by ORIGIN_ID, by e-mail and by phone), then reads the rows of contacts
// found only by duplicate search in a second batch.
func (e *Engine) lookup(ctx context.Context, items []*item, custs []*customer) error {
	p := planLookup(items, custs)
	b, err := e.lookupBatch(&p)
	if err != nil {
		return err
	}
	companies, err := e.addCompanyLookups(b, companiesOf(items))
	if err != nil {
		return err
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return err
	}
	lists, err := e.listRows(ctx, res, slices.Concat(p.dealKeys, p.originKeys, p.linkKeys, companies.listKeys()))
	if err != nil {
		return err
	}
	if err := e.applyCompanyLookup(ctx, companies, res, lists); err != nil {
		return err
	}
	e.assignDeals(ctx, items, p.orderIDs, rowsOf(lists, p.dealKeys))
	e.assignContacts(ctx, &p, rowsOf(lists, p.originKeys), rowsOf(lists, p.linkKeys))
	return e.assignDuplicates(ctx, &p, res)
}

// lookupPlan is what one lookup asks the portal: the orders whose deals and
// the customers whose contacts need work, and the batch keys of each kind of
// command.
type lookupPlan struct {
	orderIDs []int64     // orders whose deal needs work
	work     []*customer // customers whose contact needs work
	linked   []*customer // of work: those linked to a contact id
	unlinked []*customer // of work: the rest, searched by e-mail and phone
	custIDs  []int64     // work's customer ids (the contacts' ORIGIN_ID)
	linkIDs  []int64     // linked's contact ids

	dealKeys, originKeys, linkKeys, dupKeys, phoneKeys []string
}

// planLookup sorts the chunk's orders and customers into what lookup reads.
func planLookup(items []*item, custs []*customer) lookupPlan {
	var p lookupPlan
	for _, it := range items {
		if it.err == nil && it.needDeal {
			p.orderIDs = append(p.orderIDs, it.order.ID)
		}
	}
	for _, c := range custs {
		if !c.needWork {
			continue
		}
		p.work = append(p.work, c)
		if c.link != nil && c.link.ContactID != 0 {
			p.linked = append(p.linked, c)
		} else {
			p.unlinked = append(p.unlinked, c)
		}
	}
	p.custIDs = make([]int64, 0, len(p.work))
	for _, c := range p.work {
		p.custIDs = append(p.custIDs, c.state.customerID)
	}
	p.linkIDs = make([]int64, 0, len(p.linked))
	for _, c := range p.linked {
		p.linkIDs = append(p.linkIDs, c.link.ContactID)
	}
	return p
}

// lookupBatch builds the first batch: deals by ORIGIN_ID, contacts by
// ORIGIN_ID and by linked id, and the duplicate searches by the unlinked
// customers' e-mails and phones; it records each kind's keys in p.
func (e *Engine) lookupBatch(p *lookupPlan) (*bitrix.Batch, error) {
	ent := e.mapper.entity()
	b := bitrix.NewBatch(false)
	var err error
	p.dealKeys, err = addChunked(b, "ld", p.orderIDs, func(ids []int64) bitrix.Cmd { return e.byOriginCmd(ent, ids, dealSelect()) })
	if err != nil {
		return nil, err
	}
	p.originKeys, err = addChunked(b, "lo", p.custIDs, func(ids []int64) bitrix.Cmd {
		return e.byOriginCmd(bitrix.EntityContact, ids, contactSelect())
	})
	if err != nil {
		return nil, err
	}
	p.linkKeys, err = addChunked(b, "li", p.linkIDs, func(ids []int64) bitrix.Cmd { return byIDCmd(bitrix.EntityContact, ids, contactSelect()) })
	if err != nil {
		return nil, err
	}
	var emails, phones []string
	for _, c := range p.unlinked {
		emails = union(emails, c.state.emails)
		for _, ph := range c.state.phones {
			phones = union(phones, phoneVariants(ph))
		}
	}
	p.dupKeys, err = addFindByComm(b, "fe", bitrix.CommEmail, emails)
	if err != nil {
		return nil, err
	}
	p.phoneKeys, err = addFindByComm(b, "fp", bitrix.CommPhone, phones)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// addFindByComm adds the duplicate searches for contacts by values of one
// communication type, keyed prefix0, prefix1, ...
func addFindByComm(b *bitrix.Batch, prefix, comm string, values []string) ([]string, error) {
	var keys []string
	for i, cmd := range bitrix.FindByCommCmds(comm, values, "CONTACT") {
		k := prefix + strconv.Itoa(i)
		if err := b.Add(k, cmd); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// assignDeals gives each order that needs work the deal found by its
// ORIGIN_ID; the lowest id wins when there are several.
func (e *Engine) assignDeals(ctx context.Context, items []*item, orderIDs []int64, dealRows []bitrix.Record) {
	ent := e.mapper.entity()
	if ov := e.gate.overlay(); ov != nil {
		dealRows = mergeOverlay(ov, ent, dealRows, func(r bitrix.Record) bool {
			return r.String(bitrix.FieldOriginatorID) == e.mapper.originator() && containsID(orderIDs, r.String(bitrix.FieldOriginID))
		})
	}
	deals := e.oldestByOrigin(ctx, store.EntityType(ent), orderIDs, dealRows)
	for _, it := range items {
		if it.err != nil || !it.needDeal {
			continue
		}
		if r, ok := deals[strconv.FormatInt(it.order.ID, 10)]; ok {
			it.remote, it.dealID = r, int64(r.ID())
		}
	}
}

// assignContacts gives each customer that needs work its contact: by
// ORIGIN_ID first, then by the linked id; a linked contact that is gone
// leaves the customer without one.
func (e *Engine) assignContacts(ctx context.Context, p *lookupPlan, originRows, linkRows []bitrix.Record) {
	if ov := e.gate.overlay(); ov != nil {
		originRows = mergeOverlay(ov, bitrix.EntityContact, originRows, func(r bitrix.Record) bool {
			return r.String(bitrix.FieldOriginatorID) == e.mapper.originator() && containsID(p.custIDs, r.String(bitrix.FieldOriginID))
		})
		linkRows = mergeOverlay(ov, bitrix.EntityContact, linkRows, func(r bitrix.Record) bool { return containsID(p.linkIDs, r.String("ID")) })
	}
	byOrigin := e.oldestByOrigin(ctx, store.EntityContact, p.custIDs, originRows)
	byID := map[int64]bitrix.Record{}
	for _, r := range linkRows {
		byID[int64(r.ID())] = r
	}
	for _, c := range p.work {
		if r, ok := byOrigin[strconv.FormatInt(c.state.customerID, 10)]; ok {
			c.remote, c.contactID = r, int64(r.ID())
		} else if c.link != nil {
			if r, ok := byID[c.link.ContactID]; ok {
				c.remote, c.contactID = r, int64(r.ID())
			} else {
				c.contactID = 0 // the linked contact is gone
			}
		}
	}
}

// assignDuplicates matches the unlinked customers still without a contact
// to the contacts the duplicate searches found. The portal answers per
// command (up to 20 values), not per value, so the rows of every contact
// found are read and matched by their own e-mails and phones.
func (e *Engine) assignDuplicates(ctx context.Context, p *lookupPlan, res *bitrix.BatchResult) error {
	need := map[int64]bool{}
	for _, k := range slices.Concat(p.dupKeys, p.phoneKeys) {
		m, err := bitrix.DecodeDuplicates(res.Get(k).Result)
		if err != nil {
			return fmt.Errorf("bitrix lookup %s: %w", k, err)
		}
		for _, id := range m["CONTACT"] {
			need[int64(id)] = true
		}
	}
	rows, err := e.readDuplicates(ctx, need)
	if err != nil {
		return err
	}
	if ov := e.gate.overlay(); ov != nil {
		// A dry run's pretended contacts are found by e-mail and phone too.
		rows = mergeOverlay(ov, bitrix.EntityContact, rows, func(r bitrix.Record) bool {
			return need[int64(r.ID())] || int64(r.ID()) >= dryIDBase
		})
	}
	if len(rows) == 0 {
		return nil
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID() < rows[j].ID() })
	for _, c := range p.unlinked {
		if c.remote != nil {
			continue
		}
		if r := e.matchDuplicate(c, rows); r != nil {
			c.remote, c.contactID = r, int64(r.ID())
		}
	}
	return nil
}

// readDuplicates reads the rows of the contacts the duplicate searches
// found, in a second batch (none when nothing was found).
func (e *Engine) readDuplicates(ctx context.Context, need map[int64]bool) ([]bitrix.Record, error) {
	if len(need) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return e.readByIDs(ctx, "lm", ids, func(ids []int64) bitrix.Cmd { return byIDCmd(bitrix.EntityContact, ids, contactSelect()) })
}

// matchDuplicate picks the contact a customer matches: by e-mail first,
// then by phone; among several, one not claimed by another originator, then
// the lowest id (rows come sorted by id).
func (e *Engine) matchDuplicate(c *customer, rows []bitrix.Record) bitrix.Record {
	emails := map[string]bool{}
	for _, v := range c.state.emails {
		emails[e.mapper.norm.emailKey(v)] = true
	}
	phones := map[string]bool{}
	for _, v := range c.state.phones {
		phones[e.mapper.norm.phoneKey(v)] = true
	}
	for _, pass := range []struct {
		field string
		want  map[string]bool
		key   func(string) string
	}{{bitrix.FieldEmail, emails, e.mapper.norm.emailKey}, {bitrix.FieldPhone, phones, e.mapper.norm.phoneKey}} {
		var best bitrix.Record
		for _, r := range rows {
			hit := false
			for _, m := range r.Multi(pass.field) {
				if k := pass.key(m.Value); k != "" && pass.want[k] {
					hit = true
					break
				}
			}
			if !hit {
				continue
			}
			orig := r.String(bitrix.FieldOriginatorID)
			if best == nil || (best.String(bitrix.FieldOriginatorID) != "" && orig == "") {
				best = r
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// phoneVariants are the forms a normalised phone is searched by: the
// portal's duplicate search compares digits, and numbers may be stored
// with a trunk prefix instead of the country code (8 915… for +7 915…).
func phoneVariants(p string) []string {
	out := []string{p}
	if len(p) == 12 && p[:2] == "+7" {
		out = append(out, "8"+p[2:])
	}
	return out
}

func containsID(ids []int64, s string) bool {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return false
	}
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// mergeOverlay adds a dry run's pretended rows to looked-up rows: a row of
// the overlay replaces the portal's row of the same id.
func mergeOverlay(ov *overlay, ent bitrix.Entity, rows []bitrix.Record, pred func(bitrix.Record) bool) []bitrix.Record {
	extra := ov.lookup(ent, pred)
	if len(extra) == 0 {
		return rows
	}
	byID := map[bitrix.ID]int{}
	for i, r := range rows {
		byID[r.ID()] = i
	}
	for _, x := range extra {
		if i, ok := byID[x.ID()]; ok {
			merged := bitrix.Record{}
			for k, v := range rows[i] {
				merged[k] = v
			}
			for k, v := range x {
				merged[k] = v
			}
			rows[i] = merged
			continue
		}
		rows = append(rows, x)
	}
	return rows
}
