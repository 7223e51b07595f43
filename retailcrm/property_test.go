package retailcrm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"pgregory.net/rapid"
)

// TestHistoryReplaysState: after any mix of manager changes, API edits and
// new orders, replaying the history's status and manager_comment records
// by sinceId gives every order's current values, and no record is seen
// twice.
func TestHistoryReplaysState(t *testing.T) {
	t.Parallel()
	statuses := []string{"new", "client-confirmed", "assembling", "complete", "cancel-other"}
	rapid.Check(t, func(rt *rapid.T) {
		fake := retailcrmtest.NewServer(retailcrmtest.Options{})
		defer fake.Close()
		c, err := retailcrm.New(fake.URL(), fake.APIKey(), retailcrm.WithRate(0))
		if err != nil {
			rt.Fatal(err)
		}
		ctx := context.Background()
		var ids []int64
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for i := range steps {
			if len(ids) == 0 || rapid.IntRange(0, 4).Draw(rt, "op") == 0 {
				ids = append(ids, fake.CreateOrder(retailcrm.Order{}).ID)
				continue
			}
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			st := rapid.SampledFrom(statuses).Draw(rt, "status")
			comment := fmt.Sprint("c", i)
			if rapid.Bool().Draw(rt, "viaAPI") {
				if _, err := c.EditOrder(ctx, id, "", retailcrm.OrderPatch{Status: st, ManagerComment: &comment}); err != nil {
					rt.Fatal(err)
				}
			} else if err := fake.UpdateOrder(id, func(o *retailcrm.Order) { o.Status, o.ManagerComment = st, comment }); err != nil {
				rt.Fatal(err)
			}
		}
		status, comment := map[int64]string{}, map[int64]string{}
		seen := map[int64]bool{}
		var cursor int64
		limit := rapid.SampledFrom([]int{20, 50, 100}).Draw(rt, "limit")
		for {
			p, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{SinceID: cursor, Limit: limit})
			if err != nil {
				rt.Fatal(err)
			}
			if len(p.History) == 0 {
				break
			}
			for _, r := range p.History {
				if seen[r.ID] {
					rt.Fatalf("record %d twice", r.ID)
				}
				seen[r.ID] = true
				switch r.Field {
				case "status":
					status[r.OrderID()] = r.NewValue.Code()
					if r.Order.Status != r.NewValue.Code() {
						rt.Fatalf("snapshot status %q != new value %q", r.Order.Status, r.NewValue.Code())
					}
				case "manager_comment":
					comment[r.OrderID()] = r.NewValue.String()
				}
			}
			cursor = p.LastID()
		}
		for _, id := range ids {
			o, _ := fake.Order(id)
			if status[id] != o.Status || comment[id] != o.ManagerComment {
				rt.Fatalf("order %d: replay %q/%q, state %q/%q", id, status[id], comment[id], o.Status, o.ManagerComment)
			}
		}
	})
}

// TestPaymentsShapesAgree: any payment list decodes the same from the
// array and the object-keyed-by-id shapes.
func TestPaymentsShapesAgree(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 8).Draw(rt, "n")
		ids := rapid.SliceOfNDistinct(rapid.Int64Range(1, 1<<40), n, n, rapid.ID[int64]).Draw(rt, "ids")
		var arr []map[string]any
		obj := map[string]any{}
		for _, id := range ids {
			cents := rapid.Int64Range(0, 1<<50).Draw(rt, "cents")
			p := map[string]any{"id": id, "amount": json.Number(fmt.Sprintf("%d.%02d", cents/100, cents%100))}
			arr = append(arr, p)
			obj[fmt.Sprint(id)] = p
		}
		var a, b retailcrm.Payments
		ab, _ := json.Marshal(arr)
		ob, _ := json.Marshal(obj)
		if err := json.Unmarshal(ab, &a); err != nil {
			rt.Fatal(err)
		}
		if err := json.Unmarshal(ob, &b); err != nil {
			rt.Fatal(err)
		}
		if len(a) != n || len(b) != n {
			rt.Fatalf("lengths %d %d want %d", len(a), len(b), n)
		}
		for i := range a {
			if a[i].ID != b[i].ID || !a[i].Amount.Equal(b[i].Amount) || (i > 0 && a[i-1].ID >= a[i].ID) {
				rt.Fatalf("at %d: %+v vs %+v", i, a[i], b[i])
			}
		}
	})
}
