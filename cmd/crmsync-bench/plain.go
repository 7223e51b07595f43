package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// plain is what a hand-written integration does: one API call per operation.
// It reads the same RetailCRM history as crmsync and writes to a portal of
// its own (seeded like crmsync's), so both are measured on the same work in
// the same run. It keeps the order → deal links in memory, as such an
// integration keeps them in a table.
type plain struct {
	rc          *retailcrm.Client
	bx          *bitrix.Client
	stages      map[string]string // status or group:<code> → stage, as crmsync's mapping
	groups      map[string]string // status → group
	cursor      int64
	deals       map[int64]bitrix.ID // order id → deal id
	stageCursor bitrix.ID
}

func newPlain(rcURL, rcKey, webhook string) (*plain, error) {
	rc, err := retailcrm.New(rcURL, rcKey, retailcrm.WithRate(100))
	if err != nil {
		return nil, fmt.Errorf("plain RetailCRM client: %w", err)
	}
	bx, err := bitrix.New(webhook, bitrix.WithRate(0, 0))
	if err != nil {
		return nil, fmt.Errorf("plain Bitrix24 client: %w", err)
	}
	return &plain{rc: rc, bx: bx, deals: map[int64]bitrix.ID{}, stages: map[string]string{
		"new": "NEW", "group:approval": "PREPARATION", "group:assembling": "PREPAYMENT_INVOICE",
		"group:delivery": "EXECUTING", "group:complete": "WON", "group:cancel": "LOSE", "return": "APOLOGY",
	}}, nil
}

func (p *plain) stage(status string) string {
	if s, ok := p.stages[status]; ok {
		return s
	}
	return p.stages["group:"+p.groups[status]]
}

// sync reads the order history from its cursor (from the start when replay
// is set) and, per order on each page, fetches the order and creates or
// updates its deal.
func (p *plain) sync(ctx context.Context, replay bool) error {
	if p.groups == nil {
		st, err := p.rc.Statuses(ctx)
		if err != nil {
			return fmt.Errorf("plain: statuses: %w", err)
		}
		p.groups = map[string]string{}
		for code, s := range st {
			p.groups[code] = s.Group
		}
	}
	if replay {
		p.cursor = 0
	}
	for {
		page, err := p.rc.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: p.cursor})
		if err != nil {
			return fmt.Errorf("plain: history: %w", err)
		}
		if len(page.History) == 0 {
			return nil
		}
		var ids []int64
		seen := map[int64]bool{}
		for _, r := range page.History {
			if id := r.OrderID(); id > 0 && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			if err := p.order(ctx, id); err != nil {
				return err
			}
		}
		p.cursor = page.LastID()
	}
}

func (p *plain) order(ctx context.Context, id int64) error {
	o, err := p.rc.Order(ctx, id)
	if err != nil {
		return fmt.Errorf("plain: order %d: %w", id, err)
	}
	fields := bitrix.Fields{"TITLE": "Order " + o.Number, "STAGE_ID": p.stage(o.Status),
		"OPPORTUNITY": o.TotalSumm.String(), "CURRENCY_ID": "RUB"}
	if deal, ok := p.deals[id]; ok {
		// It cannot tell what changed, so it writes the deal again.
		if err := p.bx.Update(ctx, bitrix.EntityDeal, deal, fields, nil); err != nil {
			return fmt.Errorf("plain: deal %d: %w", deal, err)
		}
		return nil
	}
	contact, err := p.contact(ctx, o)
	if err != nil {
		return err
	}
	fields["CONTACT_ID"] = contact
	fields["ORIGINATOR_ID"], fields["ORIGIN_ID"] = "plain", strconv.FormatInt(id, 10)
	deal, err := p.bx.Add(ctx, bitrix.EntityDeal, fields, nil)
	if err != nil {
		return fmt.Errorf("plain: adding the deal of order %d: %w", id, err)
	}
	p.deals[id] = deal
	if o.CustomerComment != "" {
		if _, err := p.bx.TimelineCommentAdd(ctx, "deal", deal, o.CustomerComment); err != nil {
			return fmt.Errorf("plain: comment on deal %d: %w", deal, err)
		}
	}
	return nil
}

// contact finds the buyer by e-mail, then by phone, and adds them when
// neither matches.
func (p *plain) contact(ctx context.Context, o *retailcrm.Order) (bitrix.ID, error) {
	for _, q := range []struct{ kind, value string }{{"EMAIL", o.Email}, {"PHONE", o.Phone}} {
		if q.value == "" {
			continue
		}
		found, err := p.bx.FindByComm(ctx, q.kind, []string{q.value}, "CONTACT")
		if err != nil {
			return 0, fmt.Errorf("plain: finding a contact by %s: %w", q.kind, err)
		}
		if ids := found["CONTACT"]; len(ids) > 0 {
			return ids[0], nil
		}
	}
	fields := bitrix.Fields{"NAME": o.FirstName, "LAST_NAME": o.LastName}
	if o.Email != "" {
		fields["EMAIL"] = []map[string]any{bitrix.NewMultifield(o.Email, "WORK")}
	}
	if o.Phone != "" {
		fields["PHONE"] = []map[string]any{bitrix.NewMultifield(o.Phone, "MOBILE")}
	}
	id, err := p.bx.Add(ctx, bitrix.EntityContact, fields, nil)
	if err != nil {
		return 0, fmt.Errorf("plain: adding a contact: %w", err)
	}
	return id, nil
}

// markStages remembers the head of the portal's stage history, so that
// push measures only the moves made afterwards.
func (p *plain) markStages(ctx context.Context) error {
	rows, err := p.bx.StageHistorySince(ctx, dealTypeID, p.stageCursor, nil, 0)
	if err != nil {
		return fmt.Errorf("plain: stage history: %w", err)
	}
	if len(rows) > 0 {
		p.stageCursor = rows[len(rows)-1].ID
	}
	return nil
}

// push reads the stage moves since the mark, fetches each moved deal to
// learn its order, and writes the order's status.
func (p *plain) push(ctx context.Context, statusOf map[string]string) error {
	rows, err := p.bx.StageHistorySince(ctx, dealTypeID, p.stageCursor, nil, 0)
	if err != nil {
		return fmt.Errorf("plain: stage history: %w", err)
	}
	for _, r := range rows {
		p.stageCursor = r.ID
		deal, err := p.bx.Get(ctx, bitrix.EntityDeal, r.OwnerID)
		if err != nil {
			return fmt.Errorf("plain: deal %d: %w", r.OwnerID, err)
		}
		status, ok := statusOf[r.StageID]
		id, perr := strconv.ParseInt(deal.String("ORIGIN_ID"), 10, 64)
		if !ok || perr != nil {
			continue
		}
		if _, err := p.rc.EditOrder(ctx, id, retailcrmtest.DefaultSite, retailcrm.OrderPatch{Status: status}); err != nil {
			return fmt.Errorf("plain: order %d: %w", id, err)
		}
	}
	return nil
}

// dealTypeID is the CRM entity type of deals in crm.stagehistory.list.
const dealTypeID = 2
