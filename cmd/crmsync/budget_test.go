package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
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
	p.buyers(0, 8)
	step("pull")
	step("push")
	level, at := budget()
	if level <= 0 || level > 5 {
		t.Fatalf("stored level %.2f, want the portal's counter after a run", level)
	}
	p.buyers(8, 8)
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

// TestPushRightAfterABusyPull: on a 2 rps / 5 burst portal, a pull that
// leaves the portal's bucket about full and a push started right after it
// provoke no QUERY_LIMIT_EXCEEDED: the push starts from the level the pull
// stored, not from a full burst (which the portal has already spent).
func TestPushRightAfterABusyPull(t *testing.T) {
	t.Parallel()
	p := newSmallPortal(t)
	p.buyers(0, 150)
	if n := p.step(t, "pull"); n < 5 {
		t.Fatalf("the pull sent %d Bitrix24 requests: too few to fill the burst of 5", n)
	}
	p.step(t, "push")
	if n := p.bx.Stats().QueryLimit503; n != 0 {
		t.Fatalf("%d × 503 QUERY_LIMIT_EXCEEDED across a back-to-back pull and push, want 0", n)
	}
}

// smallPortal is a RetailCRM account and a small Bitrix24 portal (2 rps,
// burst 5) with the config and database the binary's runs share.
type smallPortal struct {
	fakes
	dir, cfg, db string
}

func newSmallPortal(t *testing.T) *smallPortal {
	t.Helper()
	p := &smallPortal{fakes: fakes{rc: retailcrmtest.New(t, retailcrmtest.Options{}), bx: bitrixtest.New(t, bitrixtest.Options{Rate: 2, Burst: 5})}}
	p.dir, p.cfg, p.db = workFiles(t, p.pullConfigLimits("rate: 2\n  burst: 5"))
	return p
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
