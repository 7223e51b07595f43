package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// BenchmarkPull measures the figures of the performance targets (BENCHMARKS.md) against unlimited fakes:
// Bitrix24 requests per new, updated and unchanged order, RetailCRM
// requests per history record, and orders per second.
//
//	go test -run '^$' -bench Pull -benchtime 1x ./sync/
func BenchmarkPull(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			for range b.N {
				benchPull(b, n)
			}
		})
	}
}

func benchPull(b *testing.B, n int) {
	e := newEnvTB(b)
	customers := n / 3
	custs := make([]*retailcrm.Customer, customers)
	var ids []int64
	for i := range n {
		k := i % customers
		c := custs[k]
		if c == nil {
			c = &retailcrm.Customer{FirstName: fmt.Sprintf("Buyer%d", k), Email: fmt.Sprintf("buyer%d@example.com", k),
				Phones: []retailcrm.Phone{{Number: fmt.Sprintf("+7 916 %03d-%02d-%02d", k%1000, k/1000%100, k%97)}}}
		}
		o := e.rc.CreateOrder(order(c, fmt.Sprintf("%d.50", 100+i)))
		if custs[k] == nil {
			custs[k] = o.Customer
		}
		ids = append(ids, o.ID)
	}

	// New orders.
	bx0, rc0 := e.bx.Stats().Requests, e.rc.TotalRequests()
	start := time.Now()
	res := e.pull()
	elapsed := time.Since(start)
	b.ReportMetric(float64(e.bx.Stats().Requests-bx0)/float64(n), "bitrix-req/new-order")
	b.ReportMetric(float64(e.rc.TotalRequests()-rc0)/float64(res.Report.Summary.HistoryRecords+res.Report.Summary.CustomerRecords), "retailcrm-req/record")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "orders/s")

	// Updated orders: a status change each.
	for _, id := range ids {
		if err := e.rc.UpdateOrder(id, func(o *retailcrm.Order) { o.Status = "complete" }); err != nil {
			b.Fatal(err)
		}
	}
	bx1, rc1 := e.bx.Stats().Requests, e.rc.TotalRequests()
	res = e.pull()
	b.ReportMetric(float64(e.bx.Stats().Requests-bx1)/float64(n), "bitrix-req/updated-order")
	b.ReportMetric(float64(e.rc.TotalRequests()-rc1)/float64(res.Report.Summary.HistoryRecords+res.Report.Summary.CustomerRecords), "retailcrm-req/record-updates")

	// Unchanged orders: a change crmsync does not map (the manager).
	for _, id := range ids {
		if err := e.rc.UpdateOrder(id, func(o *retailcrm.Order) { o.ManagerID = 42 }); err != nil {
			b.Fatal(err)
		}
	}
	bx2 := e.bx.Stats().Requests
	e.pull()
	b.ReportMetric(float64(e.bx.Stats().Requests-bx2)/float64(n), "bitrix-req/unchanged-order")
}
