package push

import (
	"context"

	"github.com/crmsync/crmsync/retailcrm"
)

// gate is the one door every RetailCRM write goes through. The live gate
// sends; the dry-run gate records nothing remotely and answers as RetailCRM
// would, so planning and bookkeeping run unchanged in a dry run.
type gate interface {
	edit(ctx context.Context, o *retailcrm.Order, patch retailcrm.OrderPatch) error
}

type liveGate struct{ rc RetailCRM }

func (g liveGate) edit(ctx context.Context, o *retailcrm.Order, patch retailcrm.OrderPatch) error {
	_, err := g.rc.EditOrder(ctx, o.ID, o.Site, patch)
	return err
}

// dryGate pretends every edit succeeded.
type dryGate struct{}

func (dryGate) edit(context.Context, *retailcrm.Order, retailcrm.OrderPatch) error { return nil }
