package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/shop"
)

func TestSeededShopIsRealisticAndRepeatable(t *testing.T) {
	t.Parallel()
	o := options{size: shop.Size{Orders: 200, Customers: 80}, seed: 7, rate: 2, burst: 50}
	a, b := start(o), start(o)
	defer a.close()
	defer b.close()
	if a.summary != b.summary {
		t.Errorf("same seed, different shops: %+v vs %+v", a.summary, b.summary)
	}
	s := a.summary
	if s.Orders != 200 || s.Customers != 80 || s.RepeatCustomers < 10 || s.Cancelled == 0 || s.Returned == 0 || s.InBitrix < 3 {
		t.Errorf("shop lacks variety: %+v", s)
	}
	if got := a.rc.OrderCount(); got != 200 {
		t.Errorf("fake holds %d orders", got)
	}
	if got := len(a.bx.Contacts()); got != s.InBitrix {
		t.Errorf("bitrix contacts %d, want %d", got, s.InBitrix)
	}
	o1, _ := a.rc.Order(1)
	o2, _ := b.rc.Order(1)
	if o1.Number != o2.Number || !o1.TotalSumm.Equal(o2.TotalSumm) || o1.Status != o2.Status {
		t.Errorf("order 1 differs between runs: %+v vs %+v", o1, o2)
	}
}

func TestConfigIsValidForCrmsync(t *testing.T) {
	t.Parallel()
	sb := start(options{size: shop.Size{Orders: 5, Customers: 3}, seed: 1, rate: 2, burst: 50})
	defer sb.close()
	p := filepath.Join(t.TempDir(), "crmsync.yaml")
	if err := os.WriteFile(p, []byte(sb.config("x.db")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(viper.New(), config.Options{File: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.RequireAPIs(); err != nil {
		t.Fatal(err)
	}
	if stage, ok := cfg.Mapping.StageFor("delivering", "delivery"); !ok || stage != "EXECUTING" {
		t.Errorf("delivery group not mapped: %q", stage)
	}
	if _, ok := cfg.Mapping.StageFor("awaiting-stock", "hold"); ok {
		t.Error("the sandbox's unmapped status must stay unmapped: it shows parking")
	}
}

func TestActivityWritesHistory(t *testing.T) {
	t.Parallel()
	rc := retailcrmtest.NewServer(retailcrmtest.Options{})
	defer rc.Close()
	bx := bitrixtest.NewServer(bitrixtest.Options{})
	defer bx.Close()
	sh := shop.New(3, time.Now(), retailcrmtest.DefaultSite)
	size := shop.Size{Orders: 60, Customers: 20}
	sh.Seed(rc, bx, size)
	before := rc.LastHistoryID()
	done := sh.Activity(rc, size)
	if len(done) < 3 {
		t.Fatalf("too little activity: %v", done)
	}
	if rc.LastHistoryID() <= before {
		t.Error("activity wrote no history")
	}
	// One new order, one order deleted by a manager.
	if _, ok := rc.Order(61); !ok || rc.OrderCount() != 60 {
		t.Errorf("no new order, or none deleted: %d orders", rc.OrderCount())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run([]string{"--orders", "0"}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "at least 1") {
		t.Errorf("bad flags: %d %q", code, errb.String())
	}
	if code := run([]string{"--bogus"}, nil, &out, &errb); code != 2 {
		t.Errorf("unknown flag: %d", code)
	}
}

// The bitrix command acts as Bitrix24 managers on the deals crmsync
// created: stage moves (with stage-history rows) and timeline comments by a
// user other than the webhook's, and orders then shows those orders.
func TestBitrixCommandMovesDealsAndComments(t *testing.T) {
	t.Parallel()
	sb := start(options{size: shop.Size{Orders: 30, Customers: 10}, seed: 2, rate: 100, burst: 50})
	defer sb.close()
	var out, errb bytes.Buffer
	sb.command("bitrix", &out, &errb)
	if !strings.Contains(out.String(), "no deal to move yet") {
		t.Errorf("before any pull: %q", out.String())
	}

	// What a pull leaves: deals keyed by their order's id.
	stages := map[int64]string{}
	for id := int64(1); id <= 10; id++ {
		stage := []string{"NEW", "PREPARATION", "EXECUTING", "WON"}[id%4]
		deal := sb.bx.SeedDeal(map[string]any{"TITLE": "Order", "ORIGIN_ID": strconv.FormatInt(id, 10), "STAGE_ID": stage})
		stages[deal] = stage
	}
	rows := len(sb.bx.StageHistory())
	out.Reset()
	sb.command("bitrix", &out, &errb)
	moves := strings.Count(out.String(), ": stage ")
	comments := strings.Count(out.String(), ": comment ")
	if moves != 3 || comments != 2 || strings.Count(out.String(), "bitrix24 manager: ") != 5 || errb.Len() != 0 {
		t.Fatalf("bitrix command said:\n%s%s", out.String(), errb.String())
	}
	moved := 0
	for _, d := range sb.bx.Deals() {
		if d.Str("STAGE_ID") != stages[d.ID] {
			moved++
			if stages[d.ID] == "WON" {
				t.Errorf("deal %d moved out of WON", d.ID)
			}
		}
	}
	if moved != 3 {
		t.Errorf("%d deals moved", moved)
	}
	hist := sb.bx.StageHistory()[rows:]
	if len(hist) != 3 {
		t.Errorf("%d stage-history rows for 3 moves", len(hist))
	}
	for _, c := range sb.bx.Comments() {
		if c.AuthorID != shop.BitrixManager || c.EntityType != "deal" {
			t.Errorf("comment %+v", c)
		}
	}
	if len(sb.bx.Comments()) != 2 || len(sb.touched) != 4 {
		t.Errorf("%d comments, %d orders touched", len(sb.bx.Comments()), len(sb.touched))
	}

	out.Reset()
	sb.command("orders", &out, &errb)
	if n := strings.Count(out.String(), "retailcrm order "); n != 4 || !strings.Contains(out.String(), "managerComment (empty)") {
		t.Errorf("orders:\n%s", out.String())
	}
	sb.command("nonsense", &out, &errb)
	if !strings.Contains(errb.String(), `unknown command "nonsense"`) {
		t.Errorf("stderr %q", errb.String())
	}
}
