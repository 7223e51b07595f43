package bitrixtest

import (
	"sort"
	"strconv"
)

// Binding is one contact linked to a deal or lead: the list the
// crm.<e>.contact.* methods manage. Exactly one binding of a non-empty list
// is primary, and the entity's CONTACT_ID field shows it.
type Binding struct {
	ContactID int64
	Sort      int
	Primary   bool
}

// registerContactHandlers adds the crm.<e>.contact.* methods of deals and leads.
func registerContactHandlers() {
	for _, kind := range []string{"deal", "lead"} {
		k := kind
		handlers["crm."+k+".contact.add"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.contactAdd(k, p) }
		handlers["crm."+k+".contact.delete"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.contactDelete(k, p) }
		handlers["crm."+k+".contact.items.get"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.contactItemsGet(k, p) }
		handlers["crm."+k+".contact.items.set"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.contactItemsSet(k, p) }
		handlers["crm."+k+".contact.items.delete"] = func(s *Server, p map[string]any) (*result, *apiErr) { return s.contactItemsDelete(k, p) }
		handlers["crm."+k+".contact.fields"] = func(s *Server, p map[string]any) (*result, *apiErr) { return contactFields() }
	}
}

// setBindings stores a list of contacts by the binding rules (normalBindings)
// and shows the primary contact in CONTACT_ID (absent when none).
func (d *store) setBindings(r *Row, list []Binding) {
	out, primary := normalBindings(list)
	r.Contacts = out
	delete(r.Fields, "CONTACT_ID")
	if primary != 0 {
		r.Fields["CONTACT_ID"] = strconv.FormatInt(primary, 10)
	}
}

// binding is what a contact's link (Binding) and a company's
// (CompanyBinding) have alike: the linked id, SORT and the primary flag.
type binding[B any] interface {
	*B
	boundID() int64
	sortKey() *int
	primaryFlag() *bool
}

func (b *Binding) boundID() int64     { return b.ContactID }
func (b *Binding) sortKey() *int      { return &b.Sort }
func (b *Binding) primaryFlag() *bool { return &b.Primary }

func (b *CompanyBinding) boundID() int64     { return b.CompanyID }
func (b *CompanyBinding) sortKey() *int      { return &b.Sort }
func (b *CompanyBinding) primaryFlag() *bool { return &b.Primary }

// normalBindings is a list of links as the portal keeps it: one per id
// (ids > 0), the first marked primary stays primary, else the first one
// becomes it, in SORT order. It returns the primary's id, 0 when none.
func normalBindings[B any, P binding[B]](list []B) (out []B, primaryID int64) {
	out = make([]B, 0, len(list))
	seen := map[int64]bool{}
	primary := false
	for _, b := range list {
		id := P(&b).boundID()
		if id <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		f := P(&b).primaryFlag()
		*f = *f && !primary
		primary = primary || *f
		out = append(out, b)
	}
	if !primary && len(out) > 0 {
		*P(&out[0]).primaryFlag() = true
	}
	sort.SliceStable(out, func(i, j int) bool { return *P(&out[i]).sortKey() < *P(&out[j]).sortKey() })
	for i := range out {
		if *P(&out[i]).primaryFlag() {
			primaryID = P(&out[i]).boundID()
		}
	}
	return out, primaryID
}

// withBinding adds nb to list: SORT 0 puts it after the others (their
// highest SORT + 10); a primary nb goes first and the others lose the flag.
func withBinding[B any, P binding[B]](list []B, nb B) []B {
	if s := P(&nb).sortKey(); *s == 0 {
		for _, b := range list {
			*s = max(*s, *P(&b).sortKey())
		}
		*s += 10
	}
	out := make([]B, 0, len(list)+1)
	if !*P(&nb).primaryFlag() {
		return append(append(out, list...), nb)
	}
	out = append(out, nb)
	for _, b := range list {
		*P(&b).primaryFlag() = false
		out = append(out, b)
	}
	return out
}

// idsField reads the ids of a list field (CONTACT_IDS) or, when it is not
// given, of its single form (CONTACT_ID).
func idsField(values map[string]any, many, one string) []any {
	if v, ok := values[many]; ok {
		return List(v)
	}
	return List(values[one])
}

// applyContactFields handles CONTACT_IDS and the deprecated CONTACT_ID of
// crm.deal.add/update (and the lead's). CONTACT_IDS replaces the whole list
// (the first id becomes primary). CONTACT_ID is read harshly: it replaces
// the list with that one contact, so that nothing may rely on it keeping
// contacts a person linked. Ids of contacts that do not exist are dropped.
func (d *store) applyContactFields(r *Row, values map[string]any) {
	ids := idsField(values, "CONTACT_IDS", "CONTACT_ID")
	list := make([]Binding, 0, len(ids))
	for _, v := range ids {
		id, ok := intParam(v)
		if !ok || id <= 0 || d.entities["contact"].rows[id] == nil {
			continue
		}
		list = append(list, Binding{ContactID: id, Sort: (len(list) + 1) * 10})
	}
	d.setBindings(r, list)
}

// ownerParam finds the deal or lead of a crm.<e>.contact.* call.
func (s *Server) ownerParam(kind string, p map[string]any) (*Row, *apiErr) {
	return s.ownerRow(kind, p, "The parameter 'ownerEntityID' is invalid or not defined.", "Not found.")
}

// ownerRow finds the row of kind a call's "id" names. The portal words the
// two refusals differently from one method to another, so the caller
// gives them.
func (s *Server) ownerRow(kind string, p map[string]any, invalid, notFound string) (*Row, *apiErr) {
	raw, _ := getCI(p, "id")
	id, valid := intParam(raw)
	if !valid || id <= 0 {
		return nil, legacyErr(invalid)
	}
	r := s.data.entities[kind].rows[id]
	if r == nil {
		return nil, legacyErr(notFound)
	}
	return r, nil
}

// bindingFields reads the "fields" of a link's add or delete
// (crm.<e>.contact.add/delete, crm.contact.company.add/delete, ...) and the
// id of the linked entity, idField (CONTACT_ID, COMPANY_ID).
func bindingFields(p map[string]any, idField string) (map[string]any, int64, *apiErr) {
	fields, e := fieldsParam(p, fieldsNotArrayLink)
	if e != nil {
		return nil, 0, e
	}
	id, ok := intParam(fields[idField])
	if !ok || id <= 0 {
		return nil, 0, legacyErr("The parameter 'fields' is not valid.")
	}
	return fields, id, nil
}

func (s *Server) commitBindings(kind string, r *Row, list []Binding) {
	s.data.setBindings(r, list)
	r.Fields["DATE_MODIFY"] = s.data.nowString()
	s.data.entities[kind].reindex(r)
}

// contactAdd links one contact: false (and no change) when it is linked
// already. Without IS_PRIMARY the link is primary only when the entity has
// no primary contact; IS_PRIMARY=Y takes the flag from the current one.
func (s *Server) contactAdd(kind string, p map[string]any) (*result, *apiErr) {
	return s.rebind(kind, p, func(r *Row) ([]Binding, bool, *apiErr) {
		fields, cid, e := bindingFields(p, "CONTACT_ID")
		if e != nil {
			return nil, false, e
		}
		if s.data.entities["contact"].rows[cid] == nil {
			return nil, false, legacyErr("Not found.")
		}
		maxSort := 0
		for _, b := range r.Contacts {
			if b.ContactID == cid {
				return nil, false, nil
			}
			maxSort = max(maxSort, b.Sort)
		}
		nb := Binding{ContactID: cid, Sort: maxSort + 10}
		if sv, has := fields["SORT"]; has {
			if n, valid := intParam(sv); valid {
				nb.Sort = int(n)
			}
		}
		list := make([]Binding, 0, len(r.Contacts)+1)
		if Str(fields["IS_PRIMARY"]) == "Y" {
			nb.Primary = true
			list = append(list, nb)
			for _, b := range r.Contacts {
				b.Primary = false
				list = append(list, b)
			}
		} else {
			list = append(append(list, r.Contacts...), nb)
		}
		return list, true, nil
	})
}

// contactDelete unlinks one contact; when it was the primary one, the first
// remaining contact becomes primary.
func (s *Server) contactDelete(kind string, p map[string]any) (*result, *apiErr) {
	return s.rebind(kind, p, func(r *Row) ([]Binding, bool, *apiErr) {
		_, cid, e := bindingFields(p, "CONTACT_ID")
		if e != nil {
			return nil, false, e
		}
		var list []Binding
		for _, b := range r.Contacts {
			if b.ContactID != cid {
				list = append(list, b)
			}
		}
		return list, true, nil
	})
}

// rebind changes the contacts of the entity p names: next reads the
// request and gives the new list, or changed false to answer false and
// leave the list as it is.
func (s *Server) rebind(kind string, p map[string]any, next func(r *Row) (list []Binding, changed bool, e *apiErr)) (*result, *apiErr) {
	r, e := s.ownerParam(kind, p)
	if e != nil {
		return nil, e
	}
	list, changed, e := next(r)
	if e != nil {
		return nil, e
	}
	if !changed {
		return ok(false)
	}
	s.commitBindings(kind, r, list)
	return ok(true)
}

func (s *Server) contactItemsGet(kind string, p map[string]any) (*result, *apiErr) {
	r, e := s.ownerParam(kind, p)
	if e != nil {
		return nil, e
	}
	out := make([]any, len(r.Contacts))
	for i, b := range r.Contacts {
		out[i] = map[string]any{"CONTACT_ID": b.ContactID, "SORT": b.Sort, "ROLE_ID": 0, "IS_PRIMARY": yn(b.Primary)}
	}
	return ok(out)
}

// contactItemsSet replaces the whole list: contacts not given are unlinked.
func (s *Server) contactItemsSet(kind string, p map[string]any) (*result, *apiErr) {
	return s.rebind(kind, p, func(*Row) ([]Binding, bool, *apiErr) {
		iv, has := getCI(p, "items")
		items, isList := iv.([]any)
		if m := asMap(iv); m != nil {
			items, isList = List(m), true
		}
		if !has || !isList {
			return nil, false, legacyErr("The parameter items must be array.")
		}
		list := make([]Binding, 0, len(items))
		for i, it := range items {
			m := asMap(it)
			cid, valid := intParam(m["CONTACT_ID"])
			if m == nil || !valid || cid <= 0 {
				return nil, false, codeErr(400, "ERROR_CORE", "")
			}
			b := Binding{ContactID: cid, Sort: (i + 1) * 10, Primary: Str(m["IS_PRIMARY"]) == "Y"}
			if n, valid := intParam(m["SORT"]); valid {
				b.Sort = int(n)
			}
			list = append(list, b)
		}
		return list, true, nil
	})
}

func (s *Server) contactItemsDelete(kind string, p map[string]any) (*result, *apiErr) {
	return s.rebind(kind, p, func(*Row) ([]Binding, bool, *apiErr) { return nil, true, nil })
}

func contactFields() (*result, *apiErr) {
	f := func(typ, title string, required bool) map[string]any {
		return map[string]any{"type": typ, "isRequired": required, "isReadOnly": false, "isImmutable": false,
			"isMultiple": false, "isDynamic": false, "title": title}
	}
	return ok(map[string]any{"CONTACT_ID": f("integer", "Contact ID", true), "SORT": f("integer", "Sort index", false),
		"ROLE_ID": f("integer", "Role ID", false), "IS_PRIMARY": f("char", "Primary", false)})
}

// DealContacts returns a deal's linked contacts in SORT order.
func (s *Server) DealContacts(id int64) []Binding { return s.bindings("deal", id) }

// LeadContacts returns a lead's linked contacts in SORT order.
func (s *Server) LeadContacts(id int64) []Binding { return s.bindings("lead", id) }

func (s *Server) bindings(kind string, id int64) []Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.data.entities[kind].rows[id]
	if r == nil {
		return nil
	}
	return append([]Binding(nil), r.Contacts...)
}
