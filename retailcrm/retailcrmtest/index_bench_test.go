package retailcrmtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// BenchmarkLists times the reads crmsync's pull and backfill make, straight
// on the handlers (no network), as the shop grows: a page of 100 orders by
// id, a page deep in a createdAt window (backfill), and a page of order and
// customer history after a sinceId (pull). Each should cost the same at
// 1,000 and at 100,000 orders: the page's encoding, not the shop's size.
//
//	go test -run '^$' -bench Lists ./retailcrm/retailcrmtest
func BenchmarkLists(b *testing.B) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1_000, 10_000, 100_000} {
		now := start
		s := NewServer(Options{Sites: []string{"shop", "outlet"}, Now: func() time.Time { return now }})
		// Orders over 100 days, every tenth moved on once, so history has
		// creates and changes interleaved.
		step := 100 * 24 * time.Hour / time.Duration(n)
		for i := range n {
			now = now.Add(step)
			site := "shop"
			if i%5 == 0 {
				site = "outlet"
			}
			s.CreateOrder(retailcrm.Order{ExternalID: fmt.Sprintf("web-%d", i), Site: site, Customer: &retailcrm.Customer{FirstName: "A"}})
			if i%10 == 9 {
				_ = s.UpdateOrder(int64(i-5), func(o *retailcrm.Order) { o.Status = "assembling" })
			}
		}
		get := func(b *testing.B, path string, q url.Values) {
			r := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
			r.Header.Set("X-API-KEY", s.APIKey())
			rec := httptest.NewRecorder()
			s.serveAPI(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", r.URL, rec.Code, rec.Body)
			}
		}
		b.Run(fmt.Sprintf("ids/orders=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				q := url.Values{"limit": {"100"}, "filter[sites][]": {"shop", "outlet"}}
				for j := range 100 {
					q.Add("filter[ids][]", strconv.Itoa((i*7919+j*104729)%n+1))
				}
				get(b, "/api/v5/orders", q)
			}
		})
		b.Run(fmt.Sprintf("window/orders=%d", n), func(b *testing.B) {
			// Backfill's window: all but the first and last days, one store,
			// read page after page.
			q := url.Values{"limit": {"100"}, "filter[sites][]": {"shop"},
				"filter[createdAtFrom]": {start.AddDate(0, 0, 1).Format(retailcrm.LayoutDate)},
				"filter[createdAtTo]":   {start.AddDate(0, 0, 99).Format(retailcrm.LayoutDateTime)}}
			pages := n * 4 / 5 * 98 / 100 / 100
			i := 0
			for b.Loop() {
				i++
				q.Set("page", strconv.Itoa(i%pages+1))
				get(b, "/api/v5/orders", q)
			}
		})
		for _, entity := range []string{"orders", "customers"} {
			b.Run(fmt.Sprintf("%s-history/orders=%d", entity, n), func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					q := url.Values{"limit": {"100"}, "filter[sinceId]": {strconv.Itoa((i * 100) % (n / 2))}}
					get(b, "/api/v5/"+entity+"/history", q)
				}
			})
		}
		s.Close()
	}
}
