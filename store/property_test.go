package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// model is what the cursors and order links should hold.
type model struct {
	cursors map[string]string
	links   map[int64]OrderLink
}

func (m model) clone() model {
	return model{cursors: maps.Clone(m.cursors), links: maps.Clone(m.links)}
}

type op struct {
	kind  int // 0 set cursor, 1 delete cursor, 2 put link, 3 delete link
	name  string
	value string
	link  OrderLink
}

func (o op) apply(ctx context.Context, tx *Tx) error {
	switch o.kind {
	case 0:
		return tx.SetCursor(ctx, o.name, o.value)
	case 1:
		return tx.DeleteCursor(ctx, o.name)
	case 2:
		return tx.PutOrderLink(ctx, o.link)
	default:
		return tx.DeleteOrderLink(ctx, o.link.OrderID)
	}
}

func (o op) model(m model) {
	switch o.kind {
	case 0:
		m.cursors[o.name] = o.value
	case 1:
		delete(m.cursors, o.name)
	case 2:
		m.links[o.link.OrderID] = o.link
	default:
		delete(m.links, o.link.OrderID)
	}
}

// TestTxMatchesModel: any sequence of transactions of cursor and link
// writes, some of them failing midway, leaves the store equal to a map
// model in which only the committed transactions happened.
func TestTxMatchesModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	ids := []int64{1, 2, 3, 1 << 40}
	allIDs := append([]int64{99}, ids...)
	errAbort := errors.New("abort")

	drawOp := rapid.Custom(func(t *rapid.T) op {
		o := op{kind: rapid.IntRange(0, 3).Draw(t, "kind")}
		o.name = rapid.SampledFrom([]string{CursorOrdersHistory, CursorBackfill, "comments:1"}).Draw(t, "name")
		o.value = rapid.StringN(0, 8, -1).Draw(t, "value")
		o.link = OrderLink{
			OrderID:     rapid.SampledFrom(ids).Draw(t, "order"),
			Site:        rapid.SampledFrom([]string{"", "shop", "b2b"}).Draw(t, "site"),
			Number:      rapid.StringN(0, 6, -1).Draw(t, "number"),
			EntityType:  rapid.SampledFrom([]EntityType{EntityDeal, EntityLead}).Draw(t, "type"),
			EntityID:    rapid.Int64Range(1, 1<<53).Draw(t, "entity"),
			ContactID:   rapid.Int64Range(0, 50).Draw(t, "contact"),
			CustomerID:  rapid.Int64Range(0, 50).Draw(t, "customer"),
			ContentHash: rapid.StringMatching(`[0-9a-f]{0,8}`).Draw(t, "hash"),
			SyncedAt:    at.Add(time.Duration(rapid.IntRange(0, 1e6).Draw(t, "ms")) * time.Millisecond),
		}
		return o
	})

	// One file for all iterations, emptied at the start of each: opening
	// a fresh database per iteration would dominate the run time.
	s, err := Open(ctx, filepath.Join(t.TempDir(), "model.db"), Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rapid.Check(t, func(rt *rapid.T) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM cursors; DELETE FROM order_links`); err != nil {
			rt.Fatal(err)
		}
		want := model{cursors: map[string]string{}, links: map[int64]OrderLink{}}
		txs := rapid.IntRange(1, 6).Draw(rt, "txs")
		for i := range txs {
			ops := rapid.SliceOfN(drawOp, 1, 5).Draw(rt, fmt.Sprintf("ops%d", i))
			fail := rapid.Bool().Draw(rt, fmt.Sprintf("fail%d", i))
			next := want.clone()
			err := s.Tx(ctx, func(tx *Tx) error {
				for _, o := range ops {
					if err := o.apply(ctx, tx); err != nil {
						return err
					}
					o.model(next)
				}
				if fail {
					return errAbort
				}
				return nil
			})
			switch {
			case fail && !errors.Is(err, errAbort):
				rt.Fatalf("tx %d: %v, want abort", i, err)
			case !fail && err != nil:
				rt.Fatalf("tx %d: %v", i, err)
			case !fail:
				want = next
			}

			got := model{cursors: map[string]string{}}
			cursors, err := s.Cursors(ctx)
			if err != nil {
				rt.Fatal(err)
			}
			for _, c := range cursors {
				got.cursors[c.Name] = c.Value
			}
			if got.links, err = s.OrderLinks(ctx, allIDs); err != nil {
				rt.Fatal(err)
			}
			if diff := cmp.Diff(want.cursors, got.cursors); diff != "" {
				rt.Fatalf("after tx %d cursors (-model +store):\n%s", i, diff)
			}
			if diff := cmp.Diff(want.links, got.links); diff != "" {
				rt.Fatalf("after tx %d links (-model +store):\n%s", i, diff)
			}
		}
	})
}
