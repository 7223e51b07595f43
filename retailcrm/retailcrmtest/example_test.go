package retailcrmtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// Example seeds the fake, plays a manager, injects two rate-limit answers
// and reads the request counters.
func Example() {
	fake := retailcrmtest.NewServer(retailcrmtest.Options{Seed: 1})
	defer fake.Close()
	fake.AddStatus(retailcrm.Status{Code: "returned", Name: "Возврат", Group: "cancel", Active: true})
	o := fake.CreateOrder(retailcrm.Order{ExternalID: "web-1", Customer: &retailcrm.Customer{FirstName: "Anna"}})
	_ = fake.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "returned" })

	fake.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultRateLimit, Path: "/api/v5/orders/history", Count: 2})
	c, _ := retailcrm.New(fake.URL(), fake.APIKey(), retailcrm.WithRate(0),
		retailcrm.WithRetry(retailcrm.RetryPolicy{InitialDelay: time.Millisecond}))
	page, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{})
	fmt.Println(len(page.History), err)
	fmt.Println(fake.Requests("/api/v5/orders/history"), fake.FaultsServed(retailcrmtest.FaultRateLimit))
	got, _ := fake.Order(o.ID)
	fmt.Println(got.Status)
	// Output:
	// 2 <nil>
	// 3 2
	// returned
}
