package retailcrm_test

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// Example_pull shows the pull loop: read the account zone once, walk the
// history by sinceId (never page), skip echoes of our own writes, and
// fetch the current orders of a page in one call.
func Example_pull() {
	fake := retailcrmtest.NewServer(retailcrmtest.Options{})
	defer fake.Close()
	o := fake.CreateOrder(retailcrm.Order{ExternalID: "web-1"})
	_ = fake.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "client-confirmed" })

	ctx := context.Background()
	boot, _ := retailcrm.New(fake.URL(), fake.APIKey())
	settings, _ := boot.Settings(ctx)
	loc, _ := settings.Location()
	c, _ := retailcrm.New(fake.URL(), fake.APIKey(), retailcrm.WithLocation(loc))

	// Our own edit comes back in the history marked as ours.
	_, _ = c.EditOrder(ctx, o.ID, "shop", retailcrm.OrderPatch{Status: "complete"})

	var cursor int64
	for {
		page, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: cursor})
		if err != nil || len(page.History) == 0 {
			break
		}
		var ids []int64
		for _, r := range page.History {
			if r.OwnChange() {
				fmt.Printf("skip own change %d\n", r.ID)
				continue
			}
			fmt.Printf("record %d: %s %s -> %s by %s\n", r.ID, r.Field, r.OldValue.Code(), r.NewValue.Code(), r.Source)
			ids = append(ids, r.OrderID())
		}
		orders, _ := c.Orders(ctx, retailcrm.OrdersFilter{IDs: ids[:1]})
		fmt.Println("current status:", orders.Orders[0].Status)
		cursor = page.LastID()
	}
	// Output:
	// record 1: status  -> new by api
	// record 2: status new -> client-confirmed by user
	// skip own change 3
	// current status: complete
}
