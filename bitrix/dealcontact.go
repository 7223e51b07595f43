package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ContactBinding is one contact of a deal's (or lead's) list of contacts,
// as crm.<e>.contact.items.get returns it (docs/api-notes.md, "Deal contacts").
type ContactBinding struct {
	ContactID ID
	Sort      int
	RoleID    ID
	Primary   bool
}

// UnmarshalJSON accepts numbers or numeric strings and IS_PRIMARY "Y"/"N".
func (b *ContactBinding) UnmarshalJSON(raw []byte) error {
	return fromRecord(raw, b, func(r Record) (ContactBinding, error) {
		sort, err := parseLooseInt(r["SORT"])
		if err != nil {
			return ContactBinding{}, fmt.Errorf("bitrix: contact binding SORT: %w", err)
		}
		return ContactBinding{ContactID: r.IDField("CONTACT_ID"), Sort: int(sort), RoleID: r.IDField("ROLE_ID"),
			Primary: strings.EqualFold(r.String("IS_PRIMARY"), "Y")}, nil
	})
}

// ContactLink is what crm.<e>.contact.add links. Primary and Sort are sent
// only when set: without IS_PRIMARY the portal makes the new link primary
// only when the entity has no primary contact, so a person's choice of the
// primary contact is never flipped.
type ContactLink struct {
	ContactID ID
	Primary   *bool
	Sort      int // 0: the portal's default
}

// ContactAddCmd builds crm.<e>.contact.add (e is deal or lead): it links one
// contact and leaves the others as they are; the answer is true when the
// link was added, false when the contact was already linked. There is
// deliberately no helper for crm.<e>.contact.items.set, which unlinks every
// contact it is not given, nor for CONTACT_ID/CONTACT_IDS on crm.deal.update.
func ContactAddCmd(e Entity, id ID, l ContactLink) Cmd {
	fields := map[string]any{"CONTACT_ID": l.ContactID}
	if l.Primary != nil {
		fields["IS_PRIMARY"] = yn(*l.Primary)
	}
	if l.Sort != 0 {
		fields["SORT"] = l.Sort
	}
	return Cmd{Method: "crm." + string(e) + ".contact.add", Params: map[string]any{"id": id, "fields": fields}}
}

// ContactItemsGetCmd builds crm.<e>.contact.items.get: the entity's contacts.
func ContactItemsGetCmd(e Entity, id ID) Cmd {
	return Cmd{Method: "crm." + string(e) + ".contact.items.get", Params: map[string]any{"id": id}}
}

// DecodeContactBindings decodes a crm.<e>.contact.items.get result.
func DecodeContactBindings(raw json.RawMessage) ([]ContactBinding, error) {
	return listOf[ContactBinding]("contact bindings")(raw)
}

// DecodeAdded decodes a crm.<e>.contact.add result: true when the link was
// added, false when the contact was already linked.
func DecodeAdded(raw json.RawMessage) (bool, error) {
	switch rawText(raw) {
	case "true", "1", "Y":
		return true, nil
	case "false", "0", "N", "":
		return false, nil
	}
	return false, fmt.Errorf("%w: contact.add answered %s", ErrBadResponse, truncate(string(raw), 40))
}

// LinkedContacts reads the contacts linked to a deal or lead.
func (c *Client) LinkedContacts(ctx context.Context, e Entity, id ID) ([]ContactBinding, error) {
	return runAs(ctx, c, ContactItemsGetCmd(e, id), DecodeContactBindings)
}

// LinkContact links one more contact to a deal or lead; it reports whether
// the link is new.
func (c *Client) LinkContact(ctx context.Context, e Entity, id ID, l ContactLink) (bool, error) {
	return runAs(ctx, c, ContactAddCmd(e, id, l), DecodeAdded)
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}
