package retailcrm_test

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/shopspring/decimal"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, c := newFake(t, retailcrmtest.Options{})
	o := fake.CreateOrder(retailcrm.Order{TotalSumm: decimal.RequireFromString("10.50"), Customer: &retailcrm.Customer{FirstName: "Anna"}})
	if err := fake.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" }); err != nil {
		t.Fatal(err)
	}
	p, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", p)
	res, err := c.EditOrder(ctx, o.ID, "", retailcrm.OrderPatch{Status: "cancel-other"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res.Order)
	p, err = c.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: p.LastID()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", p)
}
