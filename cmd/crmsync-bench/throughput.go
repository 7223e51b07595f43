package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"
)

// throughputResult is one import against a rate-limited portal.
type throughputResult struct {
	limit    limit
	orders   int
	mode     string
	wall     time.Duration
	requests int
	refused  int // 503 QUERY_LIMIT_EXCEEDED answers
}

func (t throughputResult) perMinute() float64 {
	return float64(t.orders) / t.wall.Minutes()
}

// share is the part of the portal's allowance the run used: what it sent
// over what the bucket lets through in its wall time (burst + rate × s).
func (t throughputResult) share() float64 {
	return float64(t.requests) / (float64(t.limit.burst) + t.limit.rate*t.wall.Seconds())
}

// ideal is the shortest time the limit allows for the requests sent.
func (t throughputResult) ideal() time.Duration {
	s := math.Max(0, float64(t.requests-t.limit.burst)/t.limit.rate)
	return time.Duration(s * float64(time.Second))
}

// ordersForLimit sizes a run so that it takes about target at the limit,
// from the requests per new order measured on the unlimited portal: the
// burst plus rate × target, over requests per order.
func ordersForLimit(l limit, perOrder float64, target time.Duration, lo, hi int) int {
	if perOrder <= 0 {
		return hi
	}
	budget := float64(l.burst) + l.rate*target.Seconds()
	return min(hi, max(lo, int(budget/perOrder)))
}

// measureThroughput imports a shop of n orders through a portal limited to l
// with crmsync configured for that same limit.
func measureThroughput(ctx context.Context, b *bench, l limit, n int) (*throughputResult, error) {
	e, err := newEnv(filepath.Join(b.dir, fmt.Sprintf("limit-%g-%d", l.rate, l.burst)), n, l, b.seed)
	if err != nil {
		return nil, err
	}
	defer e.close()
	st0 := e.bx.Stats()
	r, mode, err := b.importOrders(ctx, e)
	if err != nil {
		return nil, err
	}
	st := e.bx.Stats()
	res := &throughputResult{limit: l, orders: n, mode: mode, wall: r.wall,
		requests: st.Requests - st0.Requests, refused: st.QueryLimit503 - st0.QueryLimit503}
	b.logf("limit %s: %d orders in %s, %d requests, %d refused", l, n, r.wall.Round(time.Millisecond), res.requests, res.refused)
	return res, nil
}
