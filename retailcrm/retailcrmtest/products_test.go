package retailcrmtest_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

func TestItemStatusChangesAreHistoryRecords(t *testing.T) {
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	c, err := retailcrm.New(s.URL(), s.APIKey(), retailcrm.WithRate(0))
	if err != nil {
		t.Fatal(err)
	}
	o := s.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Ann"}, Items: []retailcrm.Item{
		{ID: 31, Quantity: decimal.NewFromInt(1), Status: "new", Offer: &retailcrm.Offer{ID: 7, ExternalID: "ext-7", XMLID: "x7", Name: "Kettle"}},
		{ID: 32, Quantity: decimal.NewFromInt(1), Status: "new"},
	}})
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Items[0].Status = "returned" }); err != nil {
		t.Fatal(err)
	}
	page, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []retailcrm.HistoryRecord
	for _, r := range page.History {
		if r.Field == "order_product.status" {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		t.Fatalf("order_product.status records: %+v", got)
	}
	r := got[0]
	if r.OldValue.Code() != "new" || r.NewValue.Code() != "returned" || r.Item == nil || r.Item.ID != 31 ||
		r.Item.Offer == nil || r.Item.Offer.ID != 7 || r.Item.Offer.ExternalID != "ext-7" || r.Item.Offer.Name != "" || r.OrderID() != o.ID {
		t.Errorf("record %+v item %+v", r, r.Item)
	}
	ps, err := c.ProductStatuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ps["returned"].CancelStatus || ps["shipped"].CancelStatus || ps["returned"].Name == "" {
		t.Errorf("product statuses %+v", ps)
	}
}
