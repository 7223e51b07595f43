// Command crmsync-sandbox runs the fake RetailCRM and Bitrix24 servers on
// loopback ports with a realistic seeded shop, and prints the crmsync
// configuration that points at them. It is for people trying crmsync and for
// `make demo`; tests use the fakes directly.
//
// Signals: SIGUSR1 makes the shop's managers change some orders (new history
// for the next pull); SIGUSR2 prints what both fakes hold; SIGINT/SIGTERM
// print it and stop.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

type options struct {
	size       shop.Size
	seed       uint64
	configPath string
	dbPath     string
	rate       float64
	burst      int
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("crmsync-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.size.Orders, "orders", 300, "orders to seed")
	fs.IntVar(&o.size.Customers, "customers", 120, "customers to seed")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated shop (same seed, same shop)")
	fs.StringVar(&o.configPath, "config", "", "also write the crmsync configuration to this file")
	fs.StringVar(&o.dbPath, "db", "./crmsync-sandbox.db", "database path written into the configuration")
	fs.Float64Var(&o.rate, "bitrix-rate", 2, "the fake portal's leaky-bucket drain, requests per second")
	fs.IntVar(&o.burst, "bitrix-burst", 50, "the fake portal's leaky-bucket size")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: crmsync-sandbox [flags]\n\nRuns fake RetailCRM and Bitrix24 servers with a seeded shop and prints a crmsync.yaml for them.\nSIGUSR1: managers change some orders; SIGUSR2: print both fakes' state; SIGINT: print it and stop.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.size.Orders < 1 || o.size.Customers < 1 {
		fmt.Fprintln(stderr, "crmsync-sandbox: --orders and --customers must be at least 1")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb := start(o)
	defer sb.close()

	cfg := sb.config(o.dbPath)
	if o.configPath != "" {
		if err := os.WriteFile(o.configPath, []byte(cfg), 0o600); err != nil {
			fmt.Fprintf(stderr, "crmsync-sandbox: %v\n", err)
			return 1
		}
	}
	fmt.Fprint(stdout, cfg)
	s := sb.summary
	fmt.Fprintf(stderr, "crmsync-sandbox: RetailCRM %s and Bitrix24 %s are up: %d orders of %d customers (%d repeat customers, %d cancelled, %d returned, %d in an unmapped status), %d customers already in Bitrix24\n",
		sb.rc.URL(), sb.bx.URL(), s.Orders, s.Customers, s.RepeatCustomers, s.Cancelled, s.Returned, s.Unmapped, s.InBitrix)

	usr := make(chan os.Signal, 2)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(usr)
	for {
		select {
		case <-ctx.Done():
			sb.report(stdout)
			return 0
		case sig := <-usr:
			if sig == syscall.SIGUSR1 {
				for _, line := range sb.shop.Activity(sb.rc, o.size) {
					fmt.Fprintf(stdout, "manager: %s\n", line)
				}
			} else {
				sb.report(stdout)
			}
		}
	}
}

// sandbox is both fakes and the shop generator.
type sandbox struct {
	rc      *retailcrmtest.Server
	bx      *bitrixtest.Server
	shop    *shop.Shop
	summary shop.Summary
}

func start(o options) *sandbox {
	rc := retailcrmtest.NewServer(retailcrmtest.Options{APIKey: "sandbox-api-key-" + fmt.Sprint(o.seed), Seed: o.seed, Timezone: "Europe/Moscow"})
	bx := bitrixtest.New(bitrixtest.Options{Secret: fmt.Sprintf("sandboxhook%04d", o.seed), Rate: o.rate, Burst: o.burst, Seed: o.seed})
	sh := shop.New(o.seed, time.Now(), retailcrmtest.DefaultSite)
	sb := &sandbox{rc: rc, bx: bx, shop: sh}
	sb.summary = sh.Seed(rc, bx, o.size)
	return sb
}

func (sb *sandbox) close() {
	sb.rc.Close()
	sb.bx.Close()
}

// config is a complete crmsync.yaml for the two fakes.
func (sb *sandbox) config(db string) string {
	return fmt.Sprintf(`# crmsync configuration for the sandbox (fake servers on loopback)
db: %s
phone_region: RU
retailcrm:
  url: %s
  api_key: %s
bitrix:
  webhook_url: %s
  rate: 2
  burst: 50
mapping:
  statuses:
    new: NEW
    group:approval: PREPARATION
    group:assembling: PREPAYMENT_INVOICE
    group:delivery: EXECUTING
    group:complete: WON
    group:cancel: LOSE
    return: APOLOGY
  stages:                       # what managers' stage moves in Bitrix24 become in RetailCRM
    PREPARATION: client-confirmed
    PREPAYMENT_INVOICE: assembling
    EXECUTING: delivering
    WON: complete
    LOSE: cancel-other
  order_methods:
    phone: CALL
    shopping-cart: WEB
alerts:
  notify_user_ids: [1]
`, db, sb.rc.URL(), sb.rc.APIKey(), sb.bx.WebhookURL())
}

// report prints what the fake portal holds and what it was asked.
func (sb *sandbox) report(w io.Writer) {
	st := sb.bx.Stats()
	stages := map[string]int{}
	for _, d := range sb.bx.Deals() {
		stages[fmt.Sprint(d.Fields["STAGE_ID"])]++
	}
	keys := make([]string, 0, len(stages))
	for k := range stages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, stages[k])
	}
	fmt.Fprintf(w, "bitrix24: %d deals (%s), %d contacts, %d timeline comments, %d notifications\n",
		len(sb.bx.Deals()), strings.Join(parts, " "), len(sb.bx.Contacts()), len(sb.bx.Comments()), len(sb.bx.Notifications()))
	fmt.Fprintf(w, "bitrix24: %d HTTP requests, %d batch commands, %d answered 503 QUERY_LIMIT_EXCEEDED\n",
		st.Requests, st.BatchCommands, st.QueryLimit503)
	fmt.Fprintf(w, "retailcrm: %d orders, %d API requests\n", sb.rc.OrderCount(), sb.rc.TotalRequests())
}
