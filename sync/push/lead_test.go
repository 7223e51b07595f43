package push_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/push"
)

func TestLeadsPushLikeDeals(t *testing.T) {
	h := newTest(t)
	o := h.rc.CreateOrder(retailcrm.Order{Site: "shop", Status: "new"})
	lead := h.bx.SeedLead(map[string]any{"TITLE": "Order", "STATUS_ID": "NEW", "ORIGINATOR_ID": "retailcrm",
		"ORIGIN_ID": strconv.FormatInt(o.ID, 10)})
	if err := h.st.Tx(h.ctx, func(tx *store.Tx) error {
		return tx.PutOrderLink(h.ctx, store.OrderLink{OrderID: o.ID, Site: "shop", EntityType: store.EntityLead,
			EntityID: lead, SyncedAt: h.clk.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	if err := h.bxc.Update(h.ctx, bitrix.EntityLead, bitrix.ID(lead), bitrix.Fields{"STATUS_ID": "CONVERTED"}, nil); err != nil {
		t.Fatal(err)
	}
	h.bx.AddComment("lead", lead, 7, "Converted after a call")
	e := h.engine(h.st, func(d *push.Deps) {
		d.Entity = config.EntityLead
		d.Mapping = config.Mapping{Statuses: map[string]string{"new": "NEW"}, Stages: map[string]string{"CONVERTED": "complete"}}
	})
	rep, err := e.Run(h.ctx, push.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := h.order(o.ID)
	if got.Status != "complete" || !strings.Contains(got.ManagerComment, "Converted after a call") {
		t.Errorf("order %+v; report %+v", got, rep.Summary)
	}
}
