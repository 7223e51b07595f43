package sync

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// sonet keeps the activity feed quiet for crmsync's writes.
func sonet() bitrix.Params { return bitrix.Params{"REGISTER_SONET_EVENT": "N"} }

// writeContacts creates or updates the contacts of the customers that need
// it, in one batch. Customers of the chunk that would create contacts with
// a shared e-mail or phone are matched to the first one's new contact, as
// the duplicate search would match them in a later chunk, in a second
// batch: the result does not depend on how orders fall into chunks.
func (e *Engine) writeContacts(ctx context.Context, custs []*customer) error {
	var first, deferred []*customer
	owner := map[string]*customer{}
	for _, c := range custs {
		if !c.needWork || c.err != nil {
			continue
		}
		if c.remote == nil {
			var dup *customer
			keys := e.commKeys(c.state)
			for _, k := range keys {
				if p, ok := owner[k]; ok && dup == nil {
					dup = p
				}
			}
			if dup != nil {
				c.dupOf = dup
				deferred = append(deferred, c)
				continue
			}
			for _, k := range keys {
				owner[k] = c
			}
		}
		first = append(first, c)
	}
	if err := e.applyContacts(ctx, first); err != nil {
		return err
	}
	var second []*customer
	for _, c := range deferred {
		p := c.dupOf
		if p.err != nil || p.contactID == 0 {
			c.err = fmt.Errorf("contact of customer %d (same e-mail or phone) was not created: %w", p.state.customerID, p.err)
			continue
		}
		c.contactID, c.remote = p.contactID, createdRecord(p.contactID, p.created)
		second = append(second, c)
	}
	return e.applyContacts(ctx, second)
}

// claimedByOther reports a contact that carries crmsync's key for another
// customer (two RetailCRM customers sharing an e-mail or phone).
func (e *Engine) claimedByOther(c *customer, r bitrix.Record) bool {
	return r.String(bitrix.FieldOriginatorID) == e.mapper.originator() &&
		r.String(bitrix.FieldOriginID) != strconv.FormatInt(c.state.customerID, 10)
}

// commKeys are the normalised e-mails and phones of a contact.
func (e *Engine) commKeys(st *contactState) []string {
	var out []string
	for _, v := range st.emails {
		out = append(out, "e:"+e.mapper.norm.emailKey(v))
	}
	for _, v := range st.phones {
		out = append(out, "p:"+e.mapper.norm.phoneKey(v))
	}
	return out
}

// createdRecord is a contact as crmsync just created it, to plan against.
func createdRecord(id int64, fields bitrix.Fields) bitrix.Record {
	ov := newOverlay()
	ov.add(bitrix.EntityContact, id, map[string]any{"fields": map[string]any(fields)})
	return ov.rows[bitrix.EntityContact][id]
}

// applyContacts plans and writes one batch of contact adds and updates.
func (e *Engine) applyContacts(ctx context.Context, custs []*customer) error {
	b := bitrix.NewBatch(false)
	changes := map[string]Change{}
	for _, c := range custs {
		k := contactKey(c.state.customerID)
		if c.remote == nil {
			fields, ch := e.planContactAdd(c)
			c.created = fields
			if err := b.Add(k, bitrix.AddCmd(bitrix.EntityContact, fields, sonet())); err != nil {
				return err
			}
			changes[k] = ch
			continue
		}
		fields, diff := e.planContactUpdate(c)
		if len(fields) == 0 {
			c.done = true
			e.sum.ContactsReused++
			continue
		}
		if err := b.Add(k, bitrix.UpdateCmd(bitrix.EntityContact, bitrix.ID(c.contactID), fields, sonet())); err != nil {
			return err
		}
		changes[k] = Change{Op: OpUpdate, Entity: "contact", EntityID: c.contactID, CustomerID: c.state.customerID, Fields: diff}
	}
	if b.Len() == 0 {
		return nil
	}
	results, err := e.writeAll(ctx, b, e.resolveByOrigin(bitrix.EntityContact))
	if err != nil {
		return err
	}
	e.applyContactResults(custs, changes, results)
	return nil
}

// planContactAdd returns the fields of a new contact for c, claimed by
// ORIGIN_ID, and the change the report shows for it.
func (e *Engine) planContactAdd(c *customer) (bitrix.Fields, Change) {
	fields := bitrix.Fields{}
	for f, v := range c.state.fields {
		fields[f] = v
	}
	fields[bitrix.FieldOriginatorID] = e.mapper.originator()
	fields[bitrix.FieldOriginID] = strconv.FormatInt(c.state.customerID, 10)
	if len(c.state.emails) > 0 {
		fields[bitrix.FieldEmail] = multiRows(c.state.emails)
	}
	if len(c.state.phones) > 0 {
		fields[bitrix.FieldPhone] = multiRows(c.state.phones)
	}
	if e.cfg.Bitrix.AssignedByID > 0 {
		fields[bitrix.FieldAssignedByID] = e.cfg.Bitrix.AssignedByID
	}
	rep := createFields(c.state.fields)
	if len(c.state.emails) > 0 {
		rep = append(rep, FieldChange{Field: bitrix.FieldEmail, New: joinComma(c.state.emails)})
	}
	if len(c.state.phones) > 0 {
		rep = append(rep, FieldChange{Field: bitrix.FieldPhone, New: joinComma(c.state.phones)})
	}
	rep = append(rep, FieldChange{Field: bitrix.FieldOriginatorID, New: e.mapper.originator()},
		FieldChange{Field: bitrix.FieldOriginID, New: strconv.FormatInt(c.state.customerID, 10)})
	sortFields(rep)
	return fields, Change{Op: OpCreate, Entity: "contact", CustomerID: c.state.customerID, Fields: rep}
}

// planContactUpdate returns the fields to update on c's found contact and
// the field changes the report shows; no fields when it is up to date.
func (e *Engine) planContactUpdate(c *customer) (bitrix.Fields, []FieldChange) {
	r := c.remote
	var diff []FieldChange
	if !e.claimedByOther(c, r) {
		// A contact another customer's sync owns keeps its name and
		// fields (they would flip with every order); it only gains the
		// missing e-mails and phones.
		diff = diffFields(c.state.fields, remoteGetter(r))
	}
	fields := bitrix.Fields{}
	for _, fc := range diff {
		fields[fc.Field] = fc.New
	}
	if r.String(bitrix.FieldOriginatorID) == "" {
		// Claim a contact found by e-mail or phone, so that it is found
		// by ORIGIN_ID from now on, even without the database.
		o := strconv.FormatInt(c.state.customerID, 10)
		fields[bitrix.FieldOriginatorID] = e.mapper.originator()
		fields[bitrix.FieldOriginID] = o
		empty := ""
		diff = append(diff, FieldChange{Field: bitrix.FieldOriginatorID, Old: &empty, New: e.mapper.originator()},
			FieldChange{Field: bitrix.FieldOriginID, Old: &empty, New: o})
	}
	if add := bitrix.MissingValues(r.Multi(bitrix.FieldEmail), c.state.emails, e.mapper.norm.emailKey); len(add) > 0 {
		fields[bitrix.FieldEmail] = multiRows(add)
		diff = append(diff, FieldChange{Field: bitrix.FieldEmail, New: joinComma(add), Added: add})
	}
	if add := bitrix.MissingValues(r.Multi(bitrix.FieldPhone), c.state.phones, e.mapper.norm.phoneKey); len(add) > 0 {
		fields[bitrix.FieldPhone] = multiRows(add)
		diff = append(diff, FieldChange{Field: bitrix.FieldPhone, New: joinComma(add), Added: add})
	}
	sortFields(diff)
	return fields, diff
}

// applyContactResults records what each contact write did: the new
// contact's id, the action and the change, or the customer's error.
func (e *Engine) applyContactResults(custs []*customer, changes map[string]Change, results map[string]*bitrix.CmdResult) {
	for _, c := range custs {
		k := contactKey(c.state.customerID)
		ch, ok := changes[k]
		if !ok {
			continue
		}
		cr := results[k]
		if cr == nil || cr.Status != bitrix.Done {
			c.err = cmdError(cr)
			continue
		}
		if ch.Op == OpCreate {
			id, err := bitrix.DecodeID(cr.Result)
			if err != nil || id == 0 {
				c.err = fmt.Errorf("bitrix crm.contact.add: no id in answer: %v", err)
				continue
			}
			c.contactID = int64(id)
			c.action = "contact.add"
			e.sum.ContactsCreated++
		} else {
			c.action = "contact.update"
			e.sum.ContactsUpdated++
		}
		c.done = true
		e.addChange(ch)
	}
}

func multiRows(values []string) []map[string]any {
	out := make([]map[string]any, len(values))
	for i, v := range values {
		out[i] = bitrix.NewMultifield(v, "WORK")
	}
	return out
}

func remoteGetter(r bitrix.Record) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if !r.Has(k) {
			return "", false
		}
		return r.String(k), true
	}
}

// writeDeals creates or updates the deals (or leads) of the orders that
// need it, in one batch. A new deal is created with the order's contact;
// a found one only gains that link when it lacks it (planContactLinks), in
// the same batch.
func (e *Engine) writeDeals(ctx context.Context, items []*item) error {
	ent := e.mapper.entity()
	if err := e.planContactLinks(ctx, items); err != nil {
		return err
	}
	if err := e.checkHeld(ctx, items); err != nil {
		return err
	}
	b := bitrix.NewBatch(false)
	changes := map[string]Change{}
	links := map[string]FieldChange{} // by deal key: the link sent with crm.<e>.contact.add
	for _, it := range items {
		if it.err != nil || !it.needDeal {
			continue
		}
		if it.cust.contactID == 0 {
			it.err = fmt.Errorf("%w: order %s: no contact for customer %d", errBadOrder, orderName(it.order), it.cust.state.customerID)
			continue
		}
		if it.remote == nil && e.dealGone(it, nil) {
			it.dealGone, it.err = true, errDealDeleted(it, ent)
			continue
		}
		k := dealKey(it.order.ID)
		base := Change{Entity: string(ent), OrderID: it.order.ID, OrderNumber: it.order.Number, Site: it.order.Site,
			CustomerID: it.cust.state.customerID}
		if it.remote == nil {
			fields, rep := e.planDealAdd(it)
			if err := b.Add(k, bitrix.AddCmd(ent, fields, sonet())); err != nil {
				return err
			}
			base.Op, base.Fields = OpCreate, rep
			changes[k] = base
			continue
		}
		diff, changed, err := e.addDealUpdate(b, it, links)
		if err != nil {
			return err
		}
		if !changed {
			it.dealDone = true
			if len(it.comments) == 0 && len(it.actions) == 0 && !it.needRows {
				it.unchanged = true
			}
			continue
		}
		base.Op, base.EntityID, base.Fields = OpUpdate, it.dealID, diff
		changes[k] = base
	}
	companies, err := e.addCompanyWrites(b, items)
	if err != nil {
		return err
	}
	clear, oldRows, err := e.planRows(ctx, b, items, changes)
	if err != nil {
		return err
	}
	var results map[string]*bitrix.CmdResult
	if b.Len() > 0 {
		results, err = e.writeAll(ctx, b, e.resolveRequisites(e.resolveByOrigin(ent)))
		if err != nil {
			return err
		}
		e.applyDealResults(items, b, changes, links, results)
		if err := e.applyCompanyWrites(companies, results); err != nil {
			return err
		}
	}
	if err := e.rowsDone(ctx, b, results, items, clear, oldRows); err != nil {
		return err
	}
	for _, it := range items {
		if it.unchanged {
			e.sum.DealsUnchanged++
			e.report.Unchanged++
		}
	}
	return nil
}

// planDealAdd returns the fields of a new deal (or lead) for the order,
// linked to its contact, and the field changes the report shows.
func (e *Engine) planDealAdd(it *item) (bitrix.Fields, []FieldChange) {
	ent := e.mapper.entity()
	desired := map[string]string{}
	fields := bitrix.Fields{}
	for f, v := range it.deal.fields {
		desired[f] = v
		fields[f] = v
	}
	desired[bitrix.FieldContactID] = strconv.FormatInt(it.cust.contactID, 10)
	rep := createFields(desired)
	if ent == bitrix.EntityDeal {
		// CONTACT_ID is deprecated on deals; CONTACT_IDS links the list.
		fields[bitrix.FieldContactIDs] = []bitrix.ID{bitrix.ID(it.cust.contactID)}
		fields[bitrix.FieldCategoryID] = it.deal.category
		if it.deal.category != 0 {
			rep = append(rep, FieldChange{Field: bitrix.FieldCategoryID, New: strconv.Itoa(it.deal.category)})
		}
	} else {
		fields[bitrix.FieldContactID] = it.cust.contactID
	}
	if fc, ok := dealCompany(it, nil); ok {
		fields[bitrix.FieldCompanyID] = it.company.id
		rep = append(rep, fc)
	}
	sortFields(rep)
	return fields, rep
}

// addDealUpdate adds to b what the order's found deal needs: the link of
// the order's contact when it lacks it (recorded in links by deal key),
// then the update of the fields that differ. It returns the field changes
// the report shows, and false when the deal is already as desired.
func (e *Engine) addDealUpdate(b *bitrix.Batch, it *item, links map[string]FieldChange) ([]FieldChange, bool, error) {
	k := dealKey(it.order.ID)
	diff := keepAssignee(it, diffFields(it.deal.fields, remoteGetter(it.remote)))
	if fc, ok := dealCompany(it, it.remote); ok {
		diff = append(diff, fc)
		sortFields(diff)
	}
	fields := bitrix.Fields{}
	for _, fc := range diff {
		fields[fc.Field] = fc.New
	}
	moving := false
	if from, ok := e.dealMove(it); ok {
		// crm.deal.update ignores CATEGORY_ID: the move is its own command,
		// which sets the stage of the new funnel as well.
		if err := b.Add(moveKey(it.order.ID), bitrix.MoveDealCmd(bitrix.ID(it.dealID), it.deal.category, it.deal.fields[e.mapper.stageField()])); err != nil {
			return nil, false, err
		}
		delete(fields, e.mapper.stageField())
		if !hasField(diff, e.mapper.stageField()) {
			diff = append(diff, FieldChange{Field: e.mapper.stageField(), Old: ptr(it.remote.String(e.mapper.stageField())), New: it.deal.fields[e.mapper.stageField()]})
		}
		diff = append(diff, FieldChange{Field: bitrix.FieldCategoryID, Old: ptr(strconv.Itoa(from)), New: strconv.Itoa(it.deal.category)})
		sortFields(diff)
		moving = true
	}
	if it.linkNeed {
		cmd, fc := e.linkCmd(it, fields)
		if cmd != nil {
			if err := b.Add(linkKey(it.order.ID), *cmd); err != nil {
				return nil, false, err
			}
			links[k] = fc
		} else {
			diff = append(diff, fc)
			sortFields(diff)
		}
	}
	if len(fields) == 0 && !it.linkNeed && !moving {
		return nil, false, nil
	}
	if len(fields) > 0 {
		if err := b.Add(k, bitrix.UpdateCmd(e.mapper.entity(), bitrix.ID(it.dealID), fields, sonet())); err != nil {
			return nil, false, err
		}
	}
	return diff, true, nil
}

// moveKey names the command that moves an order's deal to another funnel.
func moveKey(orderID int64) string { return "mv" + strconv.FormatInt(orderID, 10) }

// dealMove reports whether the order's found deal stands in another funnel
// than the one the order goes to, and which. The deal was read with every
// field, so this costs no request.
func (e *Engine) dealMove(it *item) (int, bool) {
	if e.mapper.entity() != bitrix.EntityDeal || it.remote == nil || !it.remote.Has(bitrix.FieldCategoryID) {
		return 0, false
	}
	from := int(it.remote.IDField(bitrix.FieldCategoryID))
	return from, from != it.deal.category
}

// moveFailed checks the move of the order's deal to its funnel, when one
// was sent: a refusal parks the order with the portal's reason and takes
// the stage and funnel out of the change (the deal stays where it was).
func (e *Engine) moveFailed(it *item, b *bitrix.Batch, ch *Change, results map[string]*bitrix.CmdResult) bool {
	mk := moveKey(it.order.ID)
	if _, sent := b.Cmd(mk); !sent {
		return false
	}
	cr := results[mk]
	if cr != nil && cr.Status == bitrix.Done {
		return false
	}
	from, _ := e.dealMove(it)
	it.err = fmt.Errorf("%w: order %s: moving deal %d from funnel %d to funnel %d (%s): %w", errBadOrder, orderName(it.order),
		it.dealID, from, it.deal.category, bitrix.MethodItemUpdate, cmdError(cr))
	ch.Fields = slices.DeleteFunc(ch.Fields, func(fc FieldChange) bool {
		return fc.Field == bitrix.FieldCategoryID || fc.Field == e.mapper.stageField()
	})
	return true
}

// applyDealResults records what each deal write and link did: the new
// deal's id, the contact known to be linked, the action and the change, or
// the order's error. A failed link leaves the deal's own update standing.
func (e *Engine) applyDealResults(items []*item, b *bitrix.Batch, changes map[string]Change, links map[string]FieldChange, results map[string]*bitrix.CmdResult) {
	ent := e.mapper.entity()
	for _, it := range items {
		k := dealKey(it.order.ID)
		ch, ok := changes[k]
		if !ok {
			continue
		}
		wrote := false
		if ch.Op == OpUpdate {
			if _, sent := b.Cmd(moveKey(it.order.ID)); sent && !e.moveFailed(it, b, &ch, results) {
				wrote = true
			}
		}
		if _, sent := b.Cmd(k); sent {
			wrote = true
			cr := results[k]
			if ch.Op == OpUpdate && e.dealGone(it, cr) {
				it.dealGone, it.err = true, errDealDeleted(it, ent)
				continue
			}
			if cr == nil || cr.Status != bitrix.Done {
				it.err = fmt.Errorf("%w: order %s: %w", errBadOrder, orderName(it.order), cmdError(cr))
				continue
			}
			if ch.Op == OpCreate {
				id, err := bitrix.DecodeID(cr.Result)
				if err != nil || id == 0 {
					it.err = fmt.Errorf("%w: order %s: bitrix %s.add: no id in answer: %v", errBadOrder, orderName(it.order), ent, err)
					continue
				}
				it.dealID = int64(id)
				it.contactLinked = it.cust.contactID
			} else if hasField(ch.Fields, bitrix.FieldContactID) {
				it.contactLinked = it.cust.contactID // a lead's CONTACT_ID
			}
		}
		if fc, sent := links[k]; sent {
			lk := linkKey(it.order.ID)
			if cr := results[lk]; cr == nil || cr.Status != bitrix.Done {
				// The deal's own update stands; the link is tried again
				// on the next run (the order link does not record it).
				it.err = fmt.Errorf("%w: order %s: linking contact %d to %s %d: %w", errBadOrder, orderName(it.order),
					it.cust.contactID, ent, it.dealID, cmdError(cr))
			} else {
				wrote = true
				it.contactLinked = it.cust.contactID
				ch.Fields = append(ch.Fields, fc)
				sortFields(ch.Fields)
			}
		}
		it.dealDone = true
		if !wrote {
			continue
		}
		if ch.Op == OpCreate {
			it.action = string(ent) + ".add"
			e.sum.DealsCreated++
		} else {
			it.action = string(ent) + ".update"
			e.sum.DealsUpdated++
		}
		for _, fc := range ch.Fields {
			if fc.Field == e.mapper.stageField() {
				it.stageSet = fc.New
			}
		}
		e.addChange(ch)
	}
}

func hasField(fs []FieldChange, name string) bool {
	for _, fc := range fs {
		if fc.Field == name {
			return true
		}
	}
	return false
}

// writeComments adds the timeline comments of the chunk's orders in one
// batch. Each comment's intent is recorded before the batch and its
// success right after it, outside the page's transaction: a comment is not
// idempotent, so a crash in between is resolved by reading the timeline.
func (e *Engine) writeComments(ctx context.Context, items []*item) error {
	ent := e.mapper.entity()
	b := bitrix.NewBatch(false)
	byKey := map[string]*pendingComment{}
	itemOf := map[string]*item{}
	uncertain := map[string]bitrix.Cmd{}
	for _, it := range items {
		if it.err != nil || !it.dealDone || it.dealID == 0 {
			continue
		}
		for i := range it.comments {
			pc := &it.comments[i]
			if it.link == nil && it.remote != nil {
				// The deal existed without a local link (a lost database,
				// or a crash before the commit): its timeline may already
				// hold the comment.
				pc.uncertain = true
			}
			k := commentKey(pc.recordID)
			cmd := bitrix.TimelineCommentAddCmd(string(ent), bitrix.ID(it.dealID), pc.text)
			byKey[k], itemOf[k] = pc, it
			if pc.uncertain {
				uncertain[k] = cmd
			}
			if err := b.Add(k, cmd); err != nil {
				return err
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	results := map[string]*bitrix.CmdResult{}
	onTimeline := map[string]bool{} // found before sending: an earlier run wrote them
	if len(uncertain) > 0 {
		found, err := e.resolveComments(ctx, uncertain)
		if err != nil {
			return err
		}
		if len(found) > 0 {
			rest := bitrix.NewBatch(false)
			for _, k := range b.Keys() {
				cmd, _ := b.Cmd(k)
				if raw, ok := found[k]; ok {
					results[k] = &bitrix.CmdResult{Key: k, Cmd: cmd, Status: bitrix.Done, Result: raw}
					onTimeline[k] = true
					continue
				}
				if err := rest.Add(k, cmd); err != nil {
					return err
				}
			}
			b = rest
		}
	}
	// The ledger learns each text before it is sent, so push never carries
	// it back, even when a crash loses the comment's id.
	if err := e.markComments(ctx, b.Keys(), byKey, actionCommentIntent, nil, commentLedger(b.Keys(), byKey, itemOf, nil)); err != nil {
		return err
	}
	if b.Len() > 0 {
		sent, err := e.writeAll(ctx, b, e.resolveComments)
		if err != nil {
			return err
		}
		for k, v := range sent {
			results[k] = v
		}
	}
	var done []string
	ids := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		cr := results[k]
		it := itemOf[k]
		if cr == nil || cr.Status != bitrix.Done {
			it.err = fmt.Errorf("%w: order %s: timeline comment: %w", errBadOrder, orderName(it.order), cmdError(cr))
			continue
		}
		pc := byKey[k]
		pc.done = true
		if !onTimeline[k] {
			// A comment already there is no change of this run: it is only
			// recorded, so a dry run of a replay has nothing pending.
			e.sum.Comments++
			e.addChange(Change{Op: OpComment, Entity: "comment", EntityID: it.dealID, OrderID: it.order.ID,
				OrderNumber: it.order.Number, Site: it.order.Site, Text: pc.text})
		}
		id, _ := bitrix.DecodeID(cr.Result)
		ids[k] = id.String()
		done = append(done, k)
	}
	return e.markComments(ctx, done, byKey, actionComment, ids, commentLedger(done, byKey, itemOf, ids))
}

// commentLedger lists the ledger rows of comments crmsync writes: deal,
// text and, once known, the comment's id.
func commentLedger(keys []string, byKey map[string]*pendingComment, itemOf map[string]*item, ids map[string]string) []store.LedgerEntry {
	out := make([]store.LedgerEntry, 0, len(keys))
	for _, k := range keys {
		remote, _ := strconv.ParseInt(ids[k], 10, 64)
		out = append(out, store.LedgerEntry{Side: store.SideBitrix, Entity: ledgerComment, EntityID: itemOf[k].dealID,
			Field: ledgerCommentField, Value: byKey[k].text, RemoteID: remote})
	}
	return out
}

// Ledger names of timeline comments, as push reads them.
const (
	ledgerComment      = "comment"
	ledgerCommentField = "COMMENT"
)

// markComments records an action for comments, and their ledger rows, in a
// transaction of its own.
func (e *Engine) markComments(ctx context.Context, keys []string, byKey map[string]*pendingComment, action string, ids map[string]string, ledger []store.LedgerEntry) error {
	if len(keys) == 0 {
		return nil
	}
	return e.store.Tx(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			if _, err := tx.MarkRuleFired(ctx, store.RuleFire{RuleKey: commentRuleKey, EventKey: historyEventKey(byKey[k].recordID),
				Action: action, ResultID: ids[k]}); err != nil {
				return err
			}
			for _, id := range byKey[k].covers {
				if _, err := tx.MarkRuleFired(ctx, store.RuleFire{RuleKey: commentRuleKey, EventKey: historyEventKey(id),
					Action: action, ResultID: ids[k]}); err != nil {
					return err
				}
			}
		}
		return addLedger(ctx, tx, ledger)
	})
}

func addLedger(ctx context.Context, tx *store.Tx, rows []store.LedgerEntry) error {
	for _, l := range rows {
		if err := tx.AddLedger(ctx, l); err != nil {
			return err
		}
	}
	return nil
}
