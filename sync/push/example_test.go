package push_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

// A deal linked to an order is won in Bitrix24 and a manager comments on
// it; one push run carries both to the order.
func Example() {
	ctx := context.Background()
	rc := retailcrmtest.NewServer(retailcrmtest.Options{})
	defer rc.Close()
	bx := bitrixtest.NewServer(bitrixtest.Options{Unlimited: true})
	defer bx.Close()
	dir, _ := os.MkdirTemp("", "push-example")
	defer os.RemoveAll(dir)
	st, _ := store.Open(ctx, filepath.Join(dir, "crmsync.db"), store.Options{})
	defer st.Close()

	// An order and its deal, linked as pull links them.
	o := rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new"})
	deal := bx.SeedDeal(map[string]any{"STAGE_ID": "NEW", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(o.ID, 10)})
	_ = st.Tx(ctx, func(tx *store.Tx) error {
		return tx.PutOrderLink(ctx, store.OrderLink{OrderID: o.ID, Site: "shop", EntityID: deal})
	})
	// People at work in Bitrix24.
	_ = bx.MoveDeal(deal, "WON", 7)
	bx.AddComment("deal", deal, 7, "Paid and delivered")

	rcc, _ := retailcrm.New(rc.URL(), rc.APIKey())
	bxc, _ := bitrix.New(bx.WebhookURL())
	hook, _ := bitrix.ParseWebhook(bx.WebhookURL()) // its user authors crmsync's own comments
	eng, err := push.New(push.Deps{RetailCRM: rcc, Bitrix: bxc, Store: st,
		Mapping:       config.Mapping{Statuses: map[string]string{"new": "NEW", "complete": "WON"}},
		WebhookUserID: hook.UserID})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := eng.Run(ctx, push.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	got, _ := rc.Order(o.ID)
	fmt.Println("statuses pushed:", rep.Summary.StatusesPushed, "comments pushed:", rep.Summary.CommentsPushed)
	fmt.Println("order status:", got.Status)
	// Output:
	// statuses pushed: 1 comments pushed: 1
	// order status: complete
}
