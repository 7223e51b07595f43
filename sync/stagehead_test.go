package sync

import (
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// lookups is a batch of n reads of deals by id.
func lookups(t *testing.T, n int) *bitrix.Batch {
	t.Helper()
	b := bitrix.NewBatch(false)
	for i := range n {
		if err := b.Add("d"+strconv.Itoa(i), byIDCmd(bitrix.EntityDeal, []int64{int64(i + 1)}, []string{"ID"})); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// The stage history's head is read before pull's first write or not at
// all: it rides in the first lookup batch even when that batch is full
// (one more request), and a write before any lookup gives it up (push then
// starts at the stored run start). A head read after a write could skip a
// move a person made on a deal the write linked.
func TestStageHeadIsReadBeforeTheFirstWriteOrNotAtAll(t *testing.T) {
	t.Parallel()
	t.Run("full first lookup batch", func(t *testing.T) {
		t.Parallel()
		ctx, env := t.Context(), newEnv(t)
		env.bx.SeedDeal(map[string]any{"TITLE": "old", "STAGE_ID": "NEW"})
		head := env.bx.StageHistory()[0].ID
		eng, st := env.engine(false)
		eng.markStageHead(ctx, env.clock.Now())
		if _, err := eng.read(ctx, lookups(t, bitrix.MaxBatchCommands)); err != nil {
			t.Fatal(err)
		}
		got, ok, err := st.CursorInt(ctx, store.CursorStageHistory)
		if err != nil || !ok || got != head {
			t.Errorf("stage cursor %d (set %v, %v), want the head %d read in the full first batch", got, ok, err, head)
		}
	})
	t.Run("write before any lookup", func(t *testing.T) {
		t.Parallel()
		ctx, env := t.Context(), newEnv(t)
		eng, st := env.engine(false)
		eng.markStageHead(ctx, env.clock.Now())
		w := bitrix.NewBatch(false)
		if err := w.Add("a", bitrix.Cmd{Method: "crm.deal.add", Params: map[string]any{"fields": map[string]any{"TITLE": "x"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.gate.write(ctx, w); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.read(ctx, lookups(t, 1)); err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := st.CursorInt(ctx, store.CursorStageHistory); ok {
			t.Errorf("stage cursor set to %d by a head read after a write", v)
		}
		if _, ok, _ := st.Cursor(ctx, store.CursorStageHistorySince); !ok {
			t.Error("the run's start is not stored for push")
		}
	})
}
