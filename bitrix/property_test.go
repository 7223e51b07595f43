package bitrix_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"pgregory.net/rapid"
)

type outcome struct {
	Status bitrix.CmdStatus
	Result string
	Err    string
}

// Splitting a batch into requests does not change any command's outcome.
func TestBatchChunkingInvariant(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		seeded := rapid.IntRange(0, 8).Draw(rt, "deals")
		n := rapid.IntRange(1, 70).Draw(rt, "commands")
		size := rapid.IntRange(3, 49).Draw(rt, "chunk")
		b := bitrix.NewBatch(false)
		for i := range n {
			id := bitrix.ID(rapid.IntRange(1, 12).Draw(rt, "id"))
			var cmd bitrix.Cmd
			switch rapid.IntRange(0, 3).Draw(rt, "kind") {
			case 0:
				cmd = bitrix.GetCmd(bitrix.EntityDeal, id)
			case 1:
				cmd = bitrix.UpdateCmd(bitrix.EntityDeal, id, bitrix.Fields{"TITLE": fmt.Sprintf("t%d", i)}, nil)
			case 2:
				cmd = bitrix.ListCmd(bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{">ID": id}, Select: []string{"ID", "TITLE"}})
			case 3:
				cmd = bitrix.AddCmd(bitrix.EntityDeal, bitrix.Fields{"TITLE": fmt.Sprintf("new%d", i)}, nil)
			}
			if err := b.Add(fmt.Sprintf("k%d", i), cmd); err != nil {
				rt.Fatal(err)
			}
		}
		run := func(max int) (map[string]outcome, int) {
			p := newPair(rt, bitrixtest.Options{Unlimited: true}, bitrix.WithRate(0, 0), bitrix.WithMaxBatchCommands(max))
			for i := range seeded {
				p.srv.SeedDeal(map[string]any{"TITLE": fmt.Sprint(i)})
			}
			res, err := p.c.Batch(context.Background(), b)
			if err != nil {
				rt.Fatal(err)
			}
			out := map[string]outcome{}
			for _, k := range res.Keys {
				r := res.Get(k)
				o := outcome{Status: r.Status, Result: string(r.Result)}
				if r.Err != nil {
					o.Err = r.Err.Error()
				}
				out[k] = o
			}
			return out, res.Requests
		}
		whole, _ := run(50)
		split, reqs := run(size)
		if want := (n + size - 1) / size; reqs != want {
			rt.Fatalf("%d requests for %d commands by %d, want %d", reqs, n, size, want)
		}
		for k, o := range whole {
			if split[k] != o {
				rt.Fatalf("%s: whole %+v, split %+v", k, o, split[k])
			}
		}
	})
}
