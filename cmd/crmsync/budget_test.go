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
	p := newSmallPortal(t)
	budget := func() (level float64, at time.Time) {
		t.Helper()
		ctx := context.Background()
		st, err := store.Open(ctx, p.db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		level, at, ok, err := st.BitrixBudget(ctx, strings.TrimPrefix(p.bx.URL(), "http://"))
		if err != nil || !ok {
			t.Fatalf("no budget stored for the portal (%v)", err)
		}
		return level, at
	}
	step := func(args ...string) {
		t.Helper()
		if p.step(t, args...) == 0 {
			t.Fatalf("%v sent no Bitrix24 request: nothing to measure", args)
		}
	}
	p.orders(0, 8)
	step("pull")
	step("push")
	level, at := budget()
	if level <= 0 || level > 5 {
		t.Fatalf("stored level %.2f, want the portal's counter after a run", level)
	}
	p.orders(8, 8)
	// The dry run plans the new orders (lookups on the portal) but leaves
	// the stored level alone.
	p.run(t, "pull", "--dry-run")
	if l, a := budget(); l != level || !a.Equal(at) {
		t.Fatalf("a dry run stored the budget: %.2f at %v, was %.2f at %v", l, a, level, at)
	}
	step("pull")
	step("push")
	if n := p.bx.Stats().QueryLimit503; n != 0 {
		t.Fatalf("%d × 503 QUERY_LIMIT_EXCEEDED across back-to-back runs, want 0", n)
	}
}

// smallPortal is a RetailCRM account and a small Bitrix24 portal (2 rps,
// burst 5) with the config and database the binary's runs share.
type smallPortal struct {
	rc       *retailcrmtest.Server
	bx       *bitrixtest.Server
	dir, cfg string
	db       string
}

func newSmallPortal(t *testing.T) *smallPortal {
	t.Helper()
	rc := retailcrmtest.New(t, retailcrmtest.Options{})
	bx := bitrixtest.New(t, bitrixtest.Options{Rate: 2, Burst: 5})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, pullConfigLimits(rc, bx, "rate: 2\n  burst: 5"))
	return &smallPortal{rc: rc, bx: bx, dir: dir, cfg: cfg, db: filepath.Join(dir, "c.db")}
}

// run runs the binary with args on the portal and wants it to exit 0.
func (p *smallPortal) run(t *testing.T, args ...string) {
	t.Helper()
	r := runBinary(t, p.dir, nil, append([]string{"--config", p.cfg, "--db", p.db}, args...)...)
	r.mustCode(t, exitOK)
}

// step runs the binary with args and returns how many Bitrix24 requests
// the run sent (logged with the 503s so far).
func (p *smallPortal) step(t *testing.T, args ...string) int {
	t.Helper()
	before := p.bx.Stats().Requests
	p.run(t, args...)
	st := p.bx.Stats()
	n := st.Requests - before
	t.Logf("%v: %d Bitrix24 requests, %d × 503 so far", args, n, st.QueryLimit503)
	return n
}

// orders creates n RetailCRM orders of distinct buyers, numbered from from.
func (p *smallPortal) orders(from, n int) {
	for i := from; i < from+n; i++ {
		p.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: fmt.Sprint("Buyer", i), Email: fmt.Sprintf("b%d@example.com", i)},
			TotalSumm: decimal.NewFromInt(int64(100 + i)), Currency: "RUB"})
	}
}
