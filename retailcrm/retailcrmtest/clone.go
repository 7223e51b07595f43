package retailcrmtest

import (
	"maps"
	"slices"

	"github.com/crmsync/crmsync/retailcrm"
)

// The fake hands out and stores deep copies so a test's later edits of a
// value never change server state behind its back.

// storedCopy returns a copy (made by clone) of the entity id of m, read
// under the server's lock.
func storedCopy[T any](s *Server, m map[int64]*T, id int64, clone func(*T) *T) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := m[id]; v != nil {
		return *clone(v), true
	}
	var zero T
	return zero, false
}

func cloneUser(u *retailcrm.User) *retailcrm.User {
	cp := *u
	cp.Groups = slices.Clone(u.Groups)
	return &cp
}

func cloneCustomer(c *retailcrm.Customer) *retailcrm.Customer {
	if c == nil {
		return nil
	}
	cp := *c
	cp.Phones = slices.Clone(c.Phones)
	cp.CustomFields = maps.Clone(c.CustomFields)
	cp.Contragent = clonePtr(c.Contragent)
	return &cp
}

func cloneOrder(o *retailcrm.Order) *retailcrm.Order {
	cp := *o
	cp.Customer = cloneCustomer(o.Customer)
	cp.Contact = cloneCustomer(o.Contact)
	cp.Items = slices.Clone(o.Items)
	for i := range cp.Items {
		it := &cp.Items[i]
		it.Prices = slices.Clone(it.Prices)
		if it.Offer = clonePtr(it.Offer); it.Offer != nil {
			it.Offer.Unit = clonePtr(it.Offer.Unit)
		}
	}
	cp.Source = clonePtr(o.Source)
	cp.Contragent = clonePtr(o.Contragent)
	if cp.Company = clonePtr(o.Company); cp.Company != nil {
		cp.Company.Contragent = clonePtr(cp.Company.Contragent)
		cp.Company.Address = clonePtr(cp.Company.Address)
		cp.Company.CustomFields = maps.Clone(cp.Company.CustomFields)
	}
	// The fake keeps no document of its own: answers are encoded from the
	// typed fields.
	cp.Raw = nil
	if cp.Delivery = clonePtr(o.Delivery); cp.Delivery != nil {
		cp.Delivery.Address = clonePtr(cp.Delivery.Address)
	}
	cp.Payments = slices.Clone(o.Payments)
	cp.CustomFields = maps.Clone(o.CustomFields)
	return &cp
}

// clonePtr copies the value p points to (a block without pointers of its
// own, or whose pointers the caller copies next); nil stays nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	cp := *p
	return &cp
}
