package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// A deal's contacts belong to its managers: crmsync links the order's
// contact when it creates the deal (CONTACT_IDS) and afterwards only adds
// that link when it is missing (crm.deal.contact.add), never sending
// CONTACT_ID or CONTACT_IDS on crm.deal.update, which replace the list. A
// lead is linked through its own CONTACT_ID field when it has no contact.
// See docs/api-notes.md, "Deal contacts".

// linkState is what a found deal (or lead) needs so that the order's
// contact is among its contacts.
type linkState int

const (
	linkKnown linkState = iota // linked: nothing to send
	linkAdd                    // the entity has no contact at all: link it
	linkCheck                  // another contact is primary: read the list first
)

func linkKey(orderID int64) string     { return "k" + strconv.FormatInt(orderID, 10) }
func linkReadKey(orderID int64) string { return "lk" + strconv.FormatInt(orderID, 10) }

// linkStateOf decides from what crmsync already knows, without a request:
// the order link says which contact crmsync linked to this very entity, and
// the entity's CONTACT_ID shows its primary contact (empty only when it has
// none: a non-empty list always has a primary one).
func (e *Engine) linkStateOf(it *item) linkState {
	cid := it.cust.contactID
	if l := it.link; l != nil && l.EntityID == it.dealID && l.ContactID == cid && l.ContactID != 0 {
		et := store.EntityDeal
		if l.EntityType != "" {
			et = l.EntityType
		}
		if et == store.EntityType(e.mapper.entity()) {
			// Linked by an earlier run; a person may have unlinked it since,
			// and that choice stands.
			return linkKnown
		}
	}
	switch primary := int64(it.remote.IDField(bitrix.FieldContactID)); {
	case primary == cid:
		return linkKnown
	case primary == 0 || it.dealID >= dryIDBase:
		return linkAdd
	}
	return linkCheck
}

// planContactLinks sets linkNeed on the found deals that lack the order's
// contact. Only deals whose primary contact is another one, and that
// crmsync did not link before, cost a read: one batch of
// crm.<e>.contact.items.get for the chunk.
func (e *Engine) planContactLinks(ctx context.Context, items []*item) error {
	ent := e.mapper.entity()
	var check []*item
	for _, it := range items {
		if it.err != nil || !it.needDeal || it.remote == nil || it.cust == nil || it.cust.contactID == 0 {
			continue
		}
		switch e.linkStateOf(it) {
		case linkKnown:
			it.contactLinked = it.cust.contactID
		case linkAdd:
			it.linkNeed = true
		case linkCheck:
			check = append(check, it)
		}
	}
	if len(check) == 0 {
		return nil
	}
	b := bitrix.NewBatch(false)
	for _, it := range check {
		if err := b.Add(linkReadKey(it.order.ID), bitrix.ContactItemsGetCmd(ent, bitrix.ID(it.dealID))); err != nil {
			return err
		}
	}
	res, err := e.bx.Batch(ctx, b)
	if err != nil {
		return fmt.Errorf("bitrix lookup: %w", err)
	}
	for _, it := range check {
		k := linkReadKey(it.order.ID)
		cr := res.Get(k)
		if cr == nil || cr.Status != bitrix.Done {
			if cr != nil && errors.Is(cr.Err, bitrix.ErrNotFound) {
				// Deleted since the lookup: this order's problem only.
				it.err = fmt.Errorf("%w: order %s: reading the contacts of %s %d: %w", errBadOrder, orderName(it.order), ent, it.dealID, cmdError(cr))
				continue
			}
			return fmt.Errorf("bitrix lookup %s: %w", k, cmdError(cr))
		}
		list, err := bitrix.DecodeContactBindings(cr.Result)
		if err != nil {
			return fmt.Errorf("bitrix lookup %s: %w", k, err)
		}
		if slices.ContainsFunc(list, func(b bitrix.ContactBinding) bool { return int64(b.ContactID) == it.cust.contactID }) {
			it.contactLinked = it.cust.contactID
		} else {
			it.linkNeed = true
		}
	}
	return nil
}

// linkCmd returns the command that links the order's contact to a found
// deal or lead, or, for a lead without any contact, adds CONTACT_ID to its
// update fields (the lead's documented link field, which also makes it a
// repeat lead as crm.lead.add with CONTACT_ID does). The FieldChange reports
// the link.
func (e *Engine) linkCmd(it *item, fields bitrix.Fields) (*bitrix.Cmd, FieldChange) {
	ent := e.mapper.entity()
	cid := strconv.FormatInt(it.cust.contactID, 10)
	if ent == bitrix.EntityLead && it.remote.IDField(bitrix.FieldContactID) == 0 {
		fields[bitrix.FieldContactID] = it.cust.contactID
		empty := ""
		return nil, FieldChange{Field: bitrix.FieldContactID, Old: &empty, New: cid}
	}
	// No IS_PRIMARY: the link becomes primary only when there is none.
	cmd := bitrix.ContactAddCmd(ent, bitrix.ID(it.dealID), bitrix.ContactLink{ContactID: bitrix.ID(it.cust.contactID)})
	return &cmd, FieldChange{Field: bitrix.FieldContactID, New: cid, Added: []string{cid}}
}
