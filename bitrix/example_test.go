package bitrix_test

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// A contact and its deal in one request; the deal refers to the new
// contact's id, so the batch halts on the first failure.
func ExampleClient_Batch() {
	srv := bitrixtest.NewServer(bitrixtest.Options{})
	defer srv.Close()
	c, _ := bitrix.New(srv.WebhookURL())
	ctx := context.Background()

	b := bitrix.NewBatch(true)
	_ = b.Add("c311", bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{
		"NAME": "Anna", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "311",
		"EMAIL": []any{bitrix.NewMultifield("anna@example.com", "WORK")},
	}, bitrix.Params{"REGISTER_SONET_EVENT": "N"}))
	_ = b.Add("d1042", bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{
		"TITLE": "Order 1042", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "1042",
		"CONTACT_IDS": []any{bitrix.ResultRef("c311")}, "OPPORTUNITY": 1890, "CURRENCY_ID": "RUB",
	}, nil))
	res, err := c.Batch(ctx, b)
	if err != nil {
		fmt.Println("batch:", err)
		return
	}
	for _, k := range res.Keys {
		r := res.Get(k)
		id, _ := bitrix.DecodeID(r.Result)
		fmt.Println(k, r.Status, id)
	}
	deal, _ := c.Get(ctx, bitrix.EntityDeal, 1)
	fmt.Println(deal.String(bitrix.FieldContactID), deal.String(bitrix.FieldOpportunity))
	// Output:
	// c311 done 1
	// d1042 done 1
	// 1 1890.00
}
