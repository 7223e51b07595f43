package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestPushRightAfterABusyPull: on a 2 rps / 5 burst portal, a pull that
// leaves the portal's bucket about full and a push started right after it
// provoke no QUERY_LIMIT_EXCEEDED: the push starts from the level the pull
// stored, not from a full burst (which the portal has already spent).
func TestPushRightAfterABusyPull(t *testing.T) {
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
	run := func(args ...string) int {
		t.Helper()
		before := bx.Stats().Requests
		r := runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
		r.mustCode(t, exitOK)
		n := bx.Stats().Requests - before
		t.Logf("%v: %d Bitrix24 requests, %d × 503 so far", args, n, bx.Stats().QueryLimit503)
		return n
	}
	for i := range 150 {
		rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: fmt.Sprint("Buyer", i), Email: fmt.Sprintf("b%d@example.com", i)},
			TotalSumm: decimal.NewFromInt(int64(100 + i)), Currency: "RUB"})
	}
	if n := run("pull"); n < 5 {
		t.Fatalf("the pull sent %d Bitrix24 requests: too few to fill the burst of 5", n)
	}
	run("push")
	if n := bx.Stats().QueryLimit503; n != 0 {
		t.Fatalf("%d × 503 QUERY_LIMIT_EXCEEDED across a back-to-back pull and push, want 0", n)
	}
}
