package sync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
	pullsync "github.com/crmsync/crmsync/sync"
	"github.com/crmsync/crmsync/sync/config"
)

// A dry run against fake servers prints the diff report; a real run then
// does what it announced.
func Example() {
	ctx := context.Background()
	shop := retailcrmtest.NewServer(retailcrmtest.Options{})
	defer shop.Close()
	portal := bitrixtest.NewServer(bitrixtest.Options{Unlimited: true})
	defer portal.Close()
	shop.CreateOrder(retailcrm.Order{Number: "1042",
		Customer:  &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"},
		TotalSumm: decimal.RequireFromString("1890")})

	rc, _ := retailcrm.New(shop.URL(), shop.APIKey(), retailcrm.WithRate(0))
	bx, _ := bitrix.New(portal.WebhookURL(), bitrix.WithRate(0, 0))
	cfg := &config.Config{PhoneRegion: "RU", Bitrix: config.Bitrix{Entity: config.EntityDeal},
		Mapping: config.Mapping{Statuses: config.DefaultStatuses()}}
	dir, _ := os.MkdirTemp("", "crmsync-example")
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "crmsync.db")

	for _, dry := range []bool{true, false} {
		st, err := store.Open(ctx, db, store.Options{Scratch: dry})
		if err != nil {
			fmt.Println(err)
			return
		}
		eng, _ := pullsync.New(pullsync.Options{Config: cfg, RetailCRM: rc, Bitrix: bx, Store: st, DryRun: dry})
		res, err := eng.Pull(ctx)
		st.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		if dry {
			_ = res.Report.WriteText(os.Stdout)
		} else {
			fmt.Println(res.Report.Summary.Line())
		}
	}
	// Output:
	// + contact customer 1              NAME="Anna" EMAIL=anna@example.com
	// + deal    order 1042 (site shop)  TITLE="Заказ №1042" STAGE_ID=NEW OPPORTUNITY=1890.00 RUB CONTACT_ID=(new)
	// = 0 orders unchanged
	// orders seen 1; contacts created 1, updated 0, reused 0; deals created 1, updated 0, unchanged 0; comments 0; parked 0; requests: bitrix 3, retailcrm 7
}
