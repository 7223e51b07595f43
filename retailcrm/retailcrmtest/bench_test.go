package retailcrmtest_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// BenchmarkFakeScale seeds 100k orders and walks their history and the
// order list, so engine benchmarks know what the fake itself costs.
func BenchmarkFakeScale(b *testing.B) {
	for b.Loop() {
		s := retailcrmtest.NewServer(retailcrmtest.Options{})
		for range 100_000 {
			s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "A"}})
		}
		c, err := retailcrm.New(s.URL(), s.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(s.Location()))
		if err != nil {
			b.Fatal(err)
		}
		lastHistoryID(b, c.OrdersHistory)
		for page := 1; page <= 50; page++ {
			if _, err := c.Orders(context.Background(), retailcrm.OrdersFilter{Page: page}); err != nil {
				b.Fatal(err)
			}
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heapMiB")
		s.Close()
	}
}
