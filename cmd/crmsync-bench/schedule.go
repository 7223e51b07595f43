package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// calls is what one run asked each API.
type calls struct{ retailcrm, bitrix int }

func (c calls) minus(o calls) calls { return calls{c.retailcrm - o.retailcrm, c.bitrix - o.bitrix} }

// scheduleResult is what scheduled runs cost a quiet shop: a pull and a
// push with nothing to do, and the extra of a run that carries one new order.
type scheduleResult struct {
	orders             int
	idlePull, idlePush calls
	orderPull          calls // a pull with one new order
	orderPush          calls // the push after it
	streams            int   // history streams a pull follows
	// What the idle runs asked the portal.
	idlePullMix, idlePushMix methodMix
}

// quietLag is how long ago the quiet shop's last activity was.
const quietLag = 2 * time.Hour

// Timer intervals the schedule table shows, and the quiet shop's new orders
// per hour in its busier row.
var (
	scheduleIntervals = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}
	quietOrdersHour   = 3
)

// measureSchedule imports a small shop whose activity is quietLag old
// (the fakes' clocks run that far behind), settles it with a pull and a
// push, and then times what the scheduled runs cost.
func measureSchedule(ctx context.Context, b *bench, n int) (*scheduleResult, error) {
	e, err := newVariantEnv(filepath.Join(b.dir, "quiet"), n, limit{}, b.seed, variant{lag: quietLag})
	if err != nil {
		return nil, err
	}
	defer e.close()
	if _, _, err := b.importOrders(ctx, e); err != nil {
		return nil, err
	}
	for _, cmd := range []string{"pull", "push", "pull", "push"} {
		if _, err := b.crmsync(ctx, e, cmd); err != nil {
			return nil, err
		}
	}
	now := func() calls { return calls{e.rc.TotalRequests(), e.bx.Stats().Requests} }
	run := func(cmd string) (calls, error) {
		c0 := now()
		_, err := b.crmsync(ctx, e, cmd)
		return now().minus(c0), err
	}
	r := &scheduleResult{orders: n, streams: 3}
	s0 := e.bx.Stats()
	if r.idlePull, err = run("pull"); err != nil {
		return nil, err
	}
	s1 := e.bx.Stats()
	if r.idlePush, err = run("push"); err != nil {
		return nil, err
	}
	r.idlePullMix, r.idlePushMix = mixBetween(s0, s1), mixBetween(s1, e.bx.Stats())
	// One new order, as a shop's web form creates it.
	o, ok := e.rc.Order(1)
	if !ok {
		return nil, fmt.Errorf("the quiet shop has no order 1")
	}
	o.ID, o.Number, o.ExternalID, o.Raw = 0, "", "", nil
	e.rc.CreateOrder(o)
	if r.orderPull, err = run("pull"); err != nil {
		return nil, err
	}
	if r.orderPush, err = run("push"); err != nil {
		return nil, err
	}
	b.logf("schedule: idle pull %+v, idle push %+v, pull of one order %+v, push after it %+v", r.idlePull, r.idlePush, r.orderPull, r.orderPush)
	return r, nil
}

// perDay is the requests a timer of interval i costs in a day, with
// ordersHour new orders an hour each in a run of its own (an upper bound
// when several share a run).
func (r *scheduleResult) perDay(i time.Duration, ordersHour int) calls {
	runs := int(24 * time.Hour / i)
	orders := 24 * ordersHour
	extra := r.orderPull.minus(r.idlePull)
	extraPush := r.orderPush.minus(r.idlePush)
	return calls{
		retailcrm: runs*(r.idlePull.retailcrm+r.idlePush.retailcrm) + orders*(extra.retailcrm+extraPush.retailcrm),
		bitrix:    runs*(r.idlePull.bitrix+r.idlePush.bitrix) + orders*(extra.bitrix+extraPush.bitrix),
	}
}
