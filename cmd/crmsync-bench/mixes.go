package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/crmsync/crmsync/bitrix"
)

// mixResult is the import of one shop under one configuration: the
// Bitrix24 requests its new orders took beside their write floor.
type mixResult struct {
	name, detail string
	orders       int
	requests     int
	mix          methodMix
}

// floor is the writes the orders' content needs ÷ 50 (floorOf).
func (m *mixResult) floor() (float64, string) {
	return floorOf(m.mix)
}

func (m *mixResult) ratio() float64 {
	f, _ := m.floor()
	if f == 0 {
		return 0
	}
	return float64(m.requests) / f
}

// leadMapping maps the shop's statuses to lead statuses (docs/configuration.md):
// a shop that sends orders to Bitrix24 as leads.
const leadMapping = `mapping:
  statuses:
    new: NEW
    group:approval: IN_PROCESS
    group:assembling: IN_PROCESS
    group:delivery: PROCESSED
    group:complete: CONVERTED
    group:cancel: JUNK
    return: JUNK
  stages:
    IN_PROCESS: client-confirmed
    CONVERTED: complete
    JUNK: cancel-other
  order_methods:
    phone: CALL
    shopping-cart: WEB
`

// mixes are the configurations the write floor is reported for besides
// the default (deals, companies on: the B2B mix of the requests section).
func mixes() []struct {
	name, detail string
	v            variant
} {
	return []struct {
		name, detail string
		v            variant
	}{
		{"retail", "deals, `bitrix.companies: false`: every buyer a contact, no company", variant{bitrixExtra: "  companies: false\n"}},
		{"leads", "`bitrix.entity: lead`: one lead per order, with its product rows", variant{bitrixExtra: "  entity: lead\n", mapping: leadMapping}},
	}
}

// measureMix backfills a fresh shop of n orders under variant v.
func measureMix(ctx context.Context, b *bench, name, detail string, v variant, n int) (*mixResult, error) {
	e, err := newVariantEnv(filepath.Join(b.dir, "mix-"+name), n, limit{}, b.seed, v)
	if err != nil {
		return nil, err
	}
	defer e.close()
	s0 := e.bx.Stats()
	if _, _, err := b.importOrders(ctx, e); err != nil {
		return nil, fmt.Errorf("%s mix: %w", name, err)
	}
	s1 := e.bx.Stats()
	r := &mixResult{name: name, detail: detail, orders: n, requests: s1.Requests - s0.Requests, mix: mixBetween(s0, s1)}
	b.logf("mix %s: %d orders, %d Bitrix24 requests, %.2f× the write floor", name, n, r.requests, r.ratio())
	return r, nil
}

// floorOf is the write floor of what one import asked the portal.
func floorOf(m methodMix) (floor float64, detail string) {
	c := m.commands
	deals, leads := c["crm.deal.add"], c["crm.lead.add"]
	rows := c["crm.deal.productrows.set"] + c["crm.lead.productrows.set"]
	contacts, companies := c["crm.contact.add"], c["crm.company.add"]
	writes := deals + leads + rows + contacts + 3*companies
	entity := fmt.Sprintf("%d deals", deals)
	if leads > 0 {
		entity = fmt.Sprintf("%d leads", leads)
	}
	return float64(writes) / float64(bitrix.PageSize),
		fmt.Sprintf("%s, %d product-row sets, %d contacts, %d companies × 3 (company, requisite, contact link)", entity, rows, contacts, companies)
}
