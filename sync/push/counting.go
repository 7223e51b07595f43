package push

import (
	"context"
	"sync/atomic"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
)

// countingRetailCRM counts the requests the engine makes (one per call, one
// per 100 ids of OrdersByID; the client's own retries are not counted).
type countingRetailCRM struct {
	next RetailCRM
	n    atomic.Int64
}

func (c *countingRetailCRM) OrdersByID(ctx context.Context, ids []int64) ([]retailcrm.Order, error) {
	c.n.Add(int64((len(ids) + retailcrm.MaxOrderIDs - 1) / retailcrm.MaxOrderIDs))
	return c.next.OrdersByID(ctx, ids)
}

func (c *countingRetailCRM) EditOrder(ctx context.Context, id int64, site string, p retailcrm.OrderPatch) (*retailcrm.EditResult, error) {
	c.n.Add(1)
	return c.next.EditOrder(ctx, id, site, p)
}

func (c *countingRetailCRM) Settings(ctx context.Context) (*retailcrm.Settings, error) {
	c.n.Add(1)
	return c.next.Settings(ctx)
}

func (c *countingRetailCRM) Statuses(ctx context.Context) (map[string]retailcrm.Status, error) {
	c.n.Add(1)
	return c.next.Statuses(ctx)
}

// countingBitrix counts HTTP requests (a batch of up to 50 commands is one).
type countingBitrix struct {
	next Bitrix
	n    atomic.Int64
}

func (c *countingBitrix) StageHistoryList(ctx context.Context, et int, req bitrix.ListRequest) (*bitrix.StageHistoryPage, error) {
	c.n.Add(1)
	return c.next.StageHistoryList(ctx, et, req)
}

func (c *countingBitrix) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	res, err := c.next.Batch(ctx, b)
	if res != nil {
		c.n.Add(int64(res.Requests))
	}
	return res, err
}
