package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/texts"
)

// mergeRuleKey marks, among the fired rules, the timeline comment on the
// contact of a customer merged into another.
const mergeRuleKey = "builtin:merge"

// customerMerge is a customer merged in RetailCRM into another (a
// customers history record with combinedTo).
type customerMerge struct {
	from, into int64
	snapshot   *retailcrm.Customer // from as the record shows it: its last data
}

// customerMerges lists the merges of a customers history page, in order.
func customerMerges(recs []retailcrm.CustomerHistoryRecord) []customerMerge {
	var out []customerMerge
	for i := range recs {
		r := &recs[i]
		into := r.MergedInto()
		if into == 0 || r.Customer == nil || r.Customer.ID == 0 || r.Customer.ID == into {
			continue
		}
		out = append(out, customerMerge{from: r.Customer.ID, into: into, snapshot: r.Customer})
	}
	return out
}

func mergeEventKey(from int64) string { return "customer:" + strconv.FormatInt(from, 10) }

// syncMerges carries customer merges to Bitrix24 (docs/configuration.md,
// "Responsible manager, merges and deletions"). The surviving customer's
// contact gains the merged customer's e-mails and phones it lacks (from
// the record's snapshot and the merged customer's own contact); nothing is
// deleted, and the merged customer's contact gets a timeline comment
// naming the contact it was merged into. The links of the merged customer
// (its customer link, the orders linked with it) then point to the
// survivor; a survivor crmsync has no contact for takes the merged
// customer's. Every step is add-only or recorded as fired, so reading the
// page again (a crash, a lost cursor) writes nothing twice.
func (e *Engine) syncMerges(ctx context.Context, merges []customerMerge) error {
	for _, m := range merges {
		if err := e.syncMerge(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) syncMerge(ctx context.Context, m customerMerge) error {
	links, err := e.store.CustomerLinks(ctx, []int64{m.from, m.into})
	if err != nil {
		return fmt.Errorf("reading customer links: %w", err)
	}
	lf, hasFrom := links[m.from]
	li, hasInto := links[m.into]
	var oldContact, target int64
	if hasFrom {
		oldContact = lf.ContactID
	}
	switch {
	case hasInto && li.ContactID != 0:
		target = li.ContactID
	case oldContact != 0:
		target = oldContact // the survivor has no contact yet: it takes this one
	}
	msg := fmt.Sprintf("customer %d merged into customer %d", m.from, m.into)
	if target != 0 {
		res, err := e.mergeContacts(ctx, m, oldContact, target)
		if err != nil {
			return err
		}
		if res != "" {
			msg += "; " + res
		}
	}
	return e.store.Tx(ctx, func(tx *store.Tx) error {
		if target != 0 {
			if !hasInto || li.ContactID == 0 {
				if err := tx.PutCustomerLink(ctx, store.CustomerLink{CustomerID: m.into, ContactID: target, Email: lf.Email, Phone: lf.Phone}); err != nil {
					return err
				}
			}
			if hasFrom {
				lf.ContactID, lf.ContentHash, lf.SyncedAt = target, "", e.now()
				if err := tx.PutCustomerLink(ctx, lf); err != nil {
					return err
				}
			}
		}
		if err := tx.RepointCustomer(ctx, m.from, m.into); err != nil {
			return err
		}
		_, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM, SourceID: mergeEventKey(m.from),
			Action: "customer.merged", Result: e.result(), Message: msg})
		return err
	})
}

// mergeContacts adds the merged customer's e-mails and phones to the
// target contact and comments on the old one (when it is another); it
// returns what it could not do, for the event log ("" when all went well).
// A write the portal refuses is logged and left: the merge's links are
// recorded anyway, so one bad value does not hold the customers stream.
func (e *Engine) mergeContacts(ctx context.Context, m customerMerge, oldContact, target int64) (string, error) {
	ids := []int64{target}
	if oldContact != 0 && oldContact != target {
		ids = append(ids, oldContact)
	}
	found, err := e.readByIDs(ctx, "lm", ids, func(ids []int64) bitrix.Cmd { return byIDCmd(bitrix.EntityContact, ids, contactSelect()) })
	if err != nil {
		return "", err
	}
	rows := map[int64]bitrix.Record{}
	for _, r := range found {
		rows[int64(r.ID())] = r
	}
	if ov := e.gate.overlay(); ov != nil {
		for _, r := range ov.lookup(bitrix.EntityContact, func(r bitrix.Record) bool { return containsID(ids, r.String("ID")) }) {
			rows[int64(r.ID())] = r
		}
	}
	tr, ok := rows[target]
	if !ok {
		e.log.Warn("the contact a customer was merged into is gone from Bitrix24", "customer", m.into, "contact", target)
		return fmt.Sprintf("contact %d is gone from Bitrix24", target), nil
	}
	// What crmsync knows of the merged customer: the record's snapshot and
	// its old contact's values.
	var emails, phones []string
	if s := m.snapshot; s != nil {
		if v, err := e.mapper.norm.email(s.Email); err == nil && v != "" {
			emails = append(emails, v)
		}
		for _, p := range s.Phones {
			if v := e.mapper.norm.phone(p.Number); v != "" {
				phones = union(phones, []string{v})
			}
		}
	}
	or, hasOld := rows[oldContact]
	if hasOld && oldContact != target {
		for _, mf := range or.Multi(bitrix.FieldEmail) {
			if v, err := e.mapper.norm.email(mf.Value); err == nil && v != "" {
				emails = union(emails, []string{v})
			}
		}
		for _, mf := range or.Multi(bitrix.FieldPhone) {
			if v := e.mapper.norm.phone(mf.Value); v != "" {
				phones = union(phones, []string{v})
			}
		}
	}
	w := bitrix.NewBatch(false)
	fields := bitrix.Fields{}
	var diff []FieldChange
	if add := bitrix.MissingValues(tr.Multi(bitrix.FieldEmail), emails, e.mapper.norm.emailKey); len(add) > 0 {
		fields[bitrix.FieldEmail] = multiRows(add)
		diff = append(diff, FieldChange{Field: bitrix.FieldEmail, New: joinComma(add), Added: add})
	}
	if add := bitrix.MissingValues(tr.Multi(bitrix.FieldPhone), phones, e.mapper.norm.phoneKey); len(add) > 0 {
		fields[bitrix.FieldPhone] = multiRows(add)
		diff = append(diff, FieldChange{Field: bitrix.FieldPhone, New: joinComma(add), Added: add})
	}
	if len(fields) > 0 {
		if err := w.Add("mu", bitrix.UpdateCmd(bitrix.EntityContact, bitrix.ID(target), fields, sonet())); err != nil {
			return "", err
		}
	}
	var text string
	known := map[string]json.RawMessage{}
	if hasOld && oldContact != target {
		_, fired, err := e.store.RuleFired(ctx, mergeRuleKey, mergeEventKey(m.from), actionComment)
		if err != nil {
			return "", fmt.Errorf("reading fired comments: %w", err)
		}
		if !fired {
			text = mergeText(e.mapper.txt, m, tr)
			cmd := bitrix.TimelineCommentAddCmd(string(bitrix.EntityContact), bitrix.ID(oldContact), text)
			_, intended, err := e.store.RuleFired(ctx, mergeRuleKey, mergeEventKey(m.from), actionCommentIntent)
			if err != nil {
				return "", fmt.Errorf("reading fired comments: %w", err)
			}
			if intended {
				// Sent by a run that stopped before recording it: look first.
				if known, err = e.resolveComments(ctx, map[string]bitrix.Cmd{"mc": cmd}); err != nil {
					return "", err
				}
			}
			if _, found := known["mc"]; !found {
				if err := w.Add("mc", cmd); err != nil {
					return "", err
				}
			}
		}
	}
	if w.Len() == 0 && len(known) == 0 {
		return "", nil
	}
	if _, ok := w.Cmd("mc"); ok {
		if err := e.markMerge(ctx, m, actionCommentIntent, ""); err != nil {
			return "", err
		}
	}
	results := map[string]*bitrix.CmdResult{}
	if w.Len() > 0 {
		results, err = e.writeAll(ctx, w, func(ctx context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
			out, err := e.resolveMultiUpdates(ctx, cmds)
			if err != nil {
				return nil, err
			}
			if c, ok := cmds["mc"]; ok {
				found, err := e.resolveComments(ctx, map[string]bitrix.Cmd{"mc": c})
				if err != nil {
					return nil, err
				}
				for k, v := range found {
					out[k] = v
				}
			}
			return out, nil
		})
		if err != nil {
			return "", err
		}
	}
	for k, raw := range known {
		results[k] = &bitrix.CmdResult{Key: k, Status: bitrix.Done, Result: raw}
	}
	var problems []string
	if _, sent := w.Cmd("mu"); sent {
		if cr := results["mu"]; cr == nil || cr.Status != bitrix.Done {
			problems = append(problems, fmt.Sprintf("adding the merged customer's e-mails and phones to contact %d: %v", target, cmdError(cr)))
		} else {
			e.sum.ContactsUpdated++
			e.addChange(Change{Op: OpUpdate, Entity: "contact", EntityID: target, CustomerID: m.into, Fields: diff})
		}
	}
	if cr, ok := results["mc"]; ok {
		if cr.Status != bitrix.Done {
			problems = append(problems, fmt.Sprintf("comment on contact %d: %v", oldContact, cmdError(cr)))
		} else {
			id, _ := bitrix.DecodeID(cr.Result)
			if err := e.markMerge(ctx, m, actionComment, id.String()); err != nil {
				return "", err
			}
			e.sum.Comments++
			e.addChange(Change{Op: OpComment, Entity: "comment", EntityID: oldContact, CustomerID: m.from, Text: text})
		}
	}
	if len(problems) > 0 {
		e.log.Warn("carrying a customer merge to Bitrix24", "customer", m.from, "into", m.into, "problems", strings.Join(problems, "; "))
	}
	return strings.Join(problems, "; "), nil
}

// markMerge records the merge comment's intent or success.
func (e *Engine) markMerge(ctx context.Context, m customerMerge, action, resultID string) error {
	return e.store.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkRuleFired(ctx, store.RuleFire{RuleKey: mergeRuleKey, EventKey: mergeEventKey(m.from), Action: action, ResultID: resultID})
		return err
	})
}

// mergeText is the comment on the merged customer's contact.
func mergeText(txt *texts.Catalog, m customerMerge, target bitrix.Record) string {
	name := strings.TrimSpace(target.String(bitrix.FieldName) + " " + target.String(bitrix.FieldLastName))
	into := txt.F(texts.MergedContact, target.ID().String())
	if name != "" {
		into = txt.F(texts.MergedContactNamed, target.ID().String(), esc(clean(name)))
	}
	return capText(clean(txt.F(texts.CustomerMerged, m.from, m.into, into)), maxTextBytes, txt)
}
