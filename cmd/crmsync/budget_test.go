package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
)

// TestBudgetAcrossRuns: on a small portal (2 rps, burst 5) a pull, a push
// started right after it and a second pull provoke no QUERY_LIMIT_EXCEEDED:
// each run starts from the request counter the previous one left in the
// database. Started with a full burst instead, the push opens with requests
// the portal has already counted from the pull and is refused. A dry run
// reads the level but does not store it.
func TestBudgetAcrossRuns(t *testing.T) {
	t.Parallel()
	rc := retailcrmtest.New(t, retailcrmtest.Options{})
	bx := bitrixtest.New(t, bitrixtest.Options{Rate: 2, Burst: 5})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`retailcrm:
  url: %s
  api_key: %s
  rate: 50
bitrix:
  webhook_url: %s
  rate: 2
  burst: 5
mapping:
  statuses:
    new: NEW
    group:approval: PREPARATION
    group:complete: WON
    group:cancel: LOSE
`, rc.URL(), rc.APIKey(), bx.WebhookURL()))
	db := filepath.Join(dir, "c.db")
	run := func(args ...string) result {
		t.Helper()
		r := runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
		r.mustCode(t, exitOK)
		return r
	}
	orders := func(from int) {
		for i := from; i < from+8; i++ {
			rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: fmt.Sprint("Buyer", i), Email: fmt.Sprintf("b%d@example.com", i)},
				TotalSumm: decimal.NewFromInt(int64(100 + i)), Currency: "RUB"})
		}
	}
	budget := func() (level float64, at time.Time) {
		t.Helper()
		ctx := context.Background()
		st, err := store.Open(ctx, db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		level, at, ok, err := st.BitrixBudget(ctx, strings.TrimPrefix(bx.URL(), "http://"))
		if err != nil || !ok {
			t.Fatalf("no budget stored for the portal (%v)", err)
		}
		return level, at
	}
	var before int
	step := func(args ...string) {
		t.Helper()
		run(args...)
		st := bx.Stats()
		t.Logf("%v: %d Bitrix24 requests, %d × 503 so far", args, st.Requests-before, st.QueryLimit503)
		if st.Requests == before {
			t.Fatalf("%v sent no Bitrix24 request: nothing to measure", args)
		}
		before = st.Requests
	}
	orders(0)
	step("pull")
	step("push")
	level, at := budget()
	if level <= 0 || level > 5 {
		t.Fatalf("stored level %.2f, want the portal's counter after a run", level)
	}
	orders(8)
	// The dry run plans the new orders (lookups on the portal) but leaves
	// the stored level alone.
	run("pull", "--dry-run")
	if l, a := budget(); l != level || !a.Equal(at) {
		t.Fatalf("a dry run stored the budget: %.2f at %v, was %.2f at %v", l, a, level, at)
	}
	before = bx.Stats().Requests
	step("pull")
	step("push")
	if n := bx.Stats().QueryLimit503; n != 0 {
		t.Fatalf("%d × 503 QUERY_LIMIT_EXCEEDED across back-to-back runs, want 0", n)
	}
}
