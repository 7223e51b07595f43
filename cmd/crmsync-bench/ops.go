package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

// count is a number of requests over a number of operations.
type count struct {
	requests, ops int
}

func (c count) per() float64 {
	if c.ops == 0 {
		return 0
	}
	return float64(c.requests) / float64(c.ops)
}

// opsResult holds the requests-per-operation figures of crmsync and of the
// plain client over the same shop.
type opsResult struct {
	orders  int
	newMode string // "backfill" or "first pull"

	newOrder, plainNewOrder   count
	changed, plainChanged     count
	unchanged, plainUnchanged count
	pushed, plainPushed       count
	record, plainRecord       count // RetailCRM requests per history record

	// What crmsync asked the portal in each measured run.
	newMix, changedMix, pushMix methodMix
	// b2b and legal count the shop's orders of corporate customers and
	// those of private customers buying for an organisation.
	b2b, legal int
	// idlePush is a push with nothing moved (the run that takes the stage
	// history's head): what every scheduled push costs at rest.
	idlePush    int
	idlePushMix methodMix
}

// nextStatus is how managers move an order on in RetailCRM.
func nextStatus() map[string]string {
	return map[string]string{"new": "client-confirmed", "client-confirmed": "assembling", "prepayed": "assembling",
		"assembling": "send-to-delivery", "send-to-delivery": "delivering", "delivering": "complete"}
}

// nextStage is how managers move a deal on in Bitrix24, and statusOf what
// crmsync's mapping.stages makes of the new stage.
func nextStage() map[string]string {
	return map[string]string{"NEW": "PREPARATION", "PREPARATION": "PREPAYMENT_INVOICE",
		"PREPAYMENT_INVOICE": "EXECUTING", "EXECUTING": "WON"}
}

func statusOf() map[string]string {
	return map[string]string{"PREPARATION": "client-confirmed", "PREPAYMENT_INVOICE": "assembling",
		"EXECUTING": "delivering", "WON": "complete", "LOSE": "cancel-other"}
}

// measureOps runs crmsync and the plain client through one shop's life:
// import, managers changing K orders, a repeat pull over the same history,
// and managers moving K deals.
func measureOps(ctx context.Context, b *bench, orders, k int) (*opsResult, error) {
	e, err := newEnv(filepath.Join(b.dir, "ops"), orders, limit{}, b.seed)
	if err != nil {
		return nil, err
	}
	defer e.close()
	// The plain client's portal holds the same hand-typed contacts.
	plainBx := bitrixtest.NewServer(bitrixtest.Options{Unlimited: true, Seed: b.seed})
	defer plainBx.Close()
	scratch := retailcrmtest.NewServer(retailcrmtest.Options{Seed: b.seed})
	shop.New(b.seed, e.now, retailcrmtest.DefaultSite).Seed(scratch, plainBx, e.size)
	scratch.Close()
	pl, err := newPlain(e.rc.URL(), e.rc.APIKey(), plainBx.WebhookURL())
	if err != nil {
		return nil, err
	}
	res := &opsResult{orders: orders, b2b: e.mix.B2BOrders, legal: e.mix.LegalBuyers}
	bxReq := func() int { return e.bx.Stats().Requests }
	plainReq := func() int { return plainBx.Stats().Requests }
	// compare runs command in crmsync, then the plain client's work for the
	// same change, and counts the Bitrix24 requests each sent (crmsync's by
	// method too).
	compare := func(command string, plainRun func() error) (crm, plain int, mix methodMix, err error) {
		n0, s0 := bxReq(), e.bx.Stats()
		if _, err := b.crmsync(ctx, e, command); err != nil {
			return 0, 0, mix, err
		}
		crm, mix = bxReq()-n0, mixBetween(s0, e.bx.Stats())
		p0 := plainReq()
		if err := plainRun(); err != nil {
			return 0, 0, mix, err
		}
		return crm, plainReq() - p0, mix, nil
	}

	// New orders.
	n0, s0 := bxReq(), e.bx.Stats()
	r, mode, err := b.importOrders(ctx, e)
	if err != nil {
		return nil, err
	}
	res.newMode = mode
	res.newOrder = count{bxReq() - n0, orders}
	res.newMix = mixBetween(s0, e.bx.Stats())
	p0 := plainReq()
	if err := pl.sync(ctx, false); err != nil {
		return nil, err
	}
	res.plainNewOrder = count{plainReq() - p0, orders}
	b.logf("ops: %d new orders by %s: %d Bitrix24 requests (plain client %d), %s", orders, mode, res.newOrder.requests, res.plainNewOrder.requests, r.wall)

	// Changed orders.
	changed, err := changeOrders(e.rc, orders, k)
	if err != nil {
		return nil, err
	}
	crm, plain, mix, err := compare("pull", func() error { return pl.sync(ctx, false) })
	if err != nil {
		return nil, err
	}
	res.changed, res.changedMix, res.plainChanged = count{crm, changed}, mix, count{plain, changed}

	// Unchanged orders: the same history once more.
	if err := e.resetHistoryCursor(ctx); err != nil {
		return nil, err
	}
	records := int(e.rc.LastHistoryID())
	n0, rc0 := bxReq(), e.rc.TotalRequests()
	r, err = b.crmsync(ctx, e, "pull")
	if err != nil {
		return nil, err
	}
	distinct := e.rc.OrderCount()
	if r.seen >= 0 {
		distinct = r.seen
	}
	res.unchanged = count{bxReq() - n0, distinct}
	res.record = count{e.rc.TotalRequests() - rc0, records}
	p0, rc0 = plainReq(), e.rc.TotalRequests()
	if err := pl.sync(ctx, true); err != nil {
		return nil, err
	}
	res.plainUnchanged = count{plainReq() - p0, distinct}
	res.plainRecord = count{e.rc.TotalRequests() - rc0, records}

	// Pushed stage changes. A first push takes the stage history's head, so
	// that the measured run carries only the managers' moves.
	n0, s0 = bxReq(), e.bx.Stats()
	if _, err := b.crmsync(ctx, e, "push"); err != nil {
		return nil, err
	}
	res.idlePush, res.idlePushMix = bxReq()-n0, mixBetween(s0, e.bx.Stats())
	if err := pl.markStages(ctx); err != nil {
		return nil, err
	}
	moved, err := moveDeals(e.bx, plainBx, pl.deals, k)
	if err != nil {
		return nil, err
	}
	crm, plain, mix, err = compare("push", func() error { return pl.push(ctx, statusOf()) })
	if err != nil {
		return nil, err
	}
	res.pushed, res.pushMix, res.plainPushed = count{crm, moved}, mix, count{plain, moved}
	return res, nil
}

// changeOrders moves up to k orders one status on, as managers do.
func changeOrders(rc *retailcrmtest.Server, orders, k int) (int, error) {
	next := nextStatus()
	done := 0
	for id := int64(1); id <= int64(orders) && done < k; id++ {
		o, ok := rc.Order(id)
		if !ok {
			continue
		}
		to, ok := next[o.Status]
		if !ok {
			continue
		}
		if err := rc.UpdateOrder(id, func(o *retailcrm.Order) { o.Status = to }); err != nil {
			return done, fmt.Errorf("changing order %d: %w", id, err)
		}
		done++
	}
	if done == 0 {
		return 0, fmt.Errorf("no order of the shop could be moved on")
	}
	return done, nil
}

// moveDeals moves up to k of crmsync's deals one stage on, and the plain
// client's deals of the same orders to the same stages.
func moveDeals(bx, plainBx *bitrixtest.Server, plainDeals map[int64]bitrix.ID, k int) (int, error) {
	next := nextStage()
	done := 0
	for _, d := range bx.Deals() {
		if done == k {
			break
		}
		to, ok := next[d.Str("STAGE_ID")]
		order, err := strconv.ParseInt(d.Str("ORIGIN_ID"), 10, 64)
		if !ok || err != nil || !strings.EqualFold(d.Str("ORIGINATOR_ID"), "retailcrm") {
			continue
		}
		plainDeal, ok := plainDeals[order]
		if !ok {
			continue
		}
		if err := bx.MoveDeal(d.ID, to, managerID); err != nil {
			return done, fmt.Errorf("moving deal %d: %w", d.ID, err)
		}
		if err := plainBx.MoveDeal(int64(plainDeal), to, managerID); err != nil {
			return done, fmt.Errorf("moving the plain client's deal %d: %w", plainDeal, err)
		}
		done++
	}
	if done == 0 {
		return 0, fmt.Errorf("no deal of the shop could be moved on")
	}
	return done, nil
}

// managerID is the portal user who moves deals (not the webhook's user 1,
// whose moves crmsync takes for its own).
const managerID = 7
