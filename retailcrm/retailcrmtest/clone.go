package retailcrmtest

import (
	"maps"
	"slices"

	"github.com/crmsync/crmsync/retailcrm"
)

// The fake hands out and stores deep copies so a test's later edits of a
// value never change server state behind its back.

func cloneCustomer(c *retailcrm.Customer) *retailcrm.Customer {
	if c == nil {
		return nil
	}
	cp := *c
	cp.Phones = slices.Clone(c.Phones)
	cp.CustomFields = maps.Clone(c.CustomFields)
	cp.Contragent = cloneContragent(c.Contragent)
	return &cp
}

func cloneOrder(o *retailcrm.Order) *retailcrm.Order {
	cp := *o
	cp.Customer = cloneCustomer(o.Customer)
	cp.Contact = cloneCustomer(o.Contact)
	cp.Items = slices.Clone(o.Items)
	for i := range cp.Items {
		cp.Items[i].Prices = slices.Clone(cp.Items[i].Prices)
		if off := cp.Items[i].Offer; off != nil {
			o2 := *off
			if off.Unit != nil {
				u := *off.Unit
				o2.Unit = &u
			}
			cp.Items[i].Offer = &o2
		}
	}
	if o.Source != nil {
		src := *o.Source
		cp.Source = &src
	}
	cp.Contragent = cloneContragent(o.Contragent)
	if o.Company != nil {
		c := *o.Company
		c.Contragent = cloneContragent(c.Contragent)
		if c.Address != nil {
			a := *c.Address
			c.Address = &a
		}
		c.CustomFields = maps.Clone(c.CustomFields)
		cp.Company = &c
	}
	// The fake keeps no document of its own: answers are encoded from the
	// typed fields.
	cp.Raw = nil
	if o.Delivery != nil {
		d := *o.Delivery
		if d.Address != nil {
			a := *d.Address
			d.Address = &a
		}
		cp.Delivery = &d
	}
	cp.Payments = slices.Clone(o.Payments)
	cp.CustomFields = maps.Clone(o.CustomFields)
	return &cp
}

func cloneContragent(c *retailcrm.Contragent) *retailcrm.Contragent {
	if c == nil {
		return nil
	}
	cp := *c
	return &cp
}
