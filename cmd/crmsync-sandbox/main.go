// Command crmsync-sandbox runs the fake RetailCRM and Bitrix24 servers on
// loopback ports with a realistic seeded shop, and prints the crmsync
// configuration that points at them. It is for people trying crmsync and for
// `make demo`; tests use the fakes directly.
//
// Commands, one a line on stdin: retailcrm (the shop's managers change some
// orders: new history for the next pull), bitrix (managers in Bitrix24 move
// deals and write comments: work for the next push), orders (the RetailCRM
// orders behind those deals: status and manager comment), state (what both
// fakes hold). Signals do the same for scripts without a pipe: SIGUSR1 is
// retailcrm, SIGUSR2 state; SIGINT/SIGTERM print the state and stop.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/internal/counts"
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
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the sandbox; stdin carries commands (nil: none).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
		fmt.Fprintf(stderr, "Usage: crmsync-sandbox [flags]\n\nRuns fake RetailCRM and Bitrix24 servers with a seeded shop and prints a crmsync.yaml for them.\n%s\nSIGUSR1: as retailcrm; SIGUSR2: as state; SIGINT: print the state and stop.\n\n", commandHelp)
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
	fmt.Fprintf(stderr, "crmsync-sandbox: %d RetailCRM users (managers with e-mails), %d corporate customers with %d orders, %d orders of individuals buying as a legal entity\n",
		s.Users, s.Corporate, s.B2BOrders, s.LegalBuyers)

	usr := make(chan os.Signal, 2)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(usr)
	var cmds chan string
	if stdin != nil {
		cmds = make(chan string)
		go readCommands(stdin, cmds)
	}
	for {
		select {
		case <-ctx.Done():
			sb.report(stdout)
			return 0
		case sig := <-usr:
			if sig == syscall.SIGUSR1 {
				sb.command("retailcrm", stdout, stderr)
			} else {
				sb.command("state", stdout, stderr)
			}
		case line, ok := <-cmds:
			if !ok {
				cmds = nil // stdin closed (or /dev/null): signals still work
				continue
			}
			sb.command(line, stdout, stderr)
		}
	}
}

// commandHelp lists the commands read from stdin.
const commandHelp = `Commands on stdin, one a line:
  retailcrm  managers in RetailCRM change some orders and take a new one (history for the next pull)
  bitrix     managers in Bitrix24 move some deals on and write comments (work for the next push)
  orders     status and manager comment of the RetailCRM orders behind those deals
  state      what both fakes hold`

func readCommands(r io.Reader, out chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out <- strings.TrimSpace(sc.Text())
	}
	close(out)
}

// command runs one command; its answer goes out in one write, so a script
// that sees its first line has all of it.
func (sb *sandbox) command(cmd string, stdout, stderr io.Writer) {
	var b bytes.Buffer
	switch cmd {
	case "":
		return
	case "retailcrm":
		for _, line := range sb.shop.Activity(sb.rc, sb.size) {
			fmt.Fprintf(&b, "retailcrm manager: %s\n", line)
		}
	case "bitrix":
		done, orders := sb.shop.BitrixActivity(sb.bx, sb.rc)
		if len(done) == 0 {
			fmt.Fprintln(&b, "bitrix24 manager: no deal to move yet (crmsync pull creates them)")
		}
		for _, line := range done {
			fmt.Fprintf(&b, "bitrix24 manager: %s\n", line)
		}
		for _, id := range orders {
			if !slices.Contains(sb.touched, id) {
				sb.touched = append(sb.touched, id)
			}
		}
	case "orders":
		sb.orders(&b)
	case "state":
		sb.report(&b)
	case "help":
		fmt.Fprintln(&b, commandHelp)
	default:
		fmt.Fprintf(stderr, "crmsync-sandbox: unknown command %q\n%s\n", cmd, commandHelp)
		return
	}
	_, _ = stdout.Write(b.Bytes())
}

// orders prints the RetailCRM orders behind the deals Bitrix24 managers
// touched: their status and manager comment, which push writes.
func (sb *sandbox) orders(w io.Writer) {
	if len(sb.touched) == 0 {
		fmt.Fprintln(w, "retailcrm order: none touched in Bitrix24 yet (command bitrix)")
	}
	for _, id := range sb.touched {
		o, ok := sb.rc.Order(id)
		if !ok {
			fmt.Fprintf(w, "retailcrm order id %d: not found\n", id)
			continue
		}
		comment := strings.Join(strings.Fields(strings.ReplaceAll(o.ManagerComment, "\n", " ⏎ ")), " ")
		if comment == "" {
			comment = "(empty)"
		} else {
			comment = strconv.Quote(comment)
		}
		fmt.Fprintf(w, "retailcrm order %s: status %s; managerComment %s\n", o.Number, o.Status, comment)
	}
}

// sandbox is both fakes and the shop generator.
type sandbox struct {
	rc      *retailcrmtest.Server
	bx      *bitrixtest.Server
	shop    *shop.Shop
	summary shop.Summary
	size    shop.Size
	touched []int64 // orders behind the deals Bitrix24 managers touched
}

func start(o options) *sandbox {
	rc := retailcrmtest.NewServer(retailcrmtest.Options{APIKey: "sandbox-api-key-" + fmt.Sprint(o.seed), Seed: o.seed, Timezone: "Europe/Moscow"})
	bx := bitrixtest.NewServer(bitrixtest.Options{Secret: fmt.Sprintf("sandboxhook%04d", o.seed), Rate: o.rate, Burst: o.burst, Seed: o.seed})
	sh := shop.New(o.seed, time.Now(), retailcrmtest.DefaultSite)
	sb := &sandbox{rc: rc, bx: bx, shop: sh, size: o.size}
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
%salerts:
  notify_user_ids: [1]
`, db, sb.rc.URL(), sb.rc.APIKey(), sb.bx.WebhookURL(), shop.MappingYAML)
}

// report prints what the fake portal holds and what it was asked.
func (sb *sandbox) report(w io.Writer) {
	st := sb.bx.Stats()
	stages := map[string]int{}
	for _, d := range sb.bx.Deals() {
		stages[fmt.Sprint(d.Fields["STAGE_ID"])]++
	}
	fmt.Fprintf(w, "bitrix24: %d deals (%s), %d contacts, %d timeline comments, %d notifications\n",
		len(sb.bx.Deals()), counts.Line(stages), len(sb.bx.Contacts()), len(sb.bx.Comments()), len(sb.bx.Notifications()))
	fmt.Fprintf(w, "bitrix24: %d HTTP requests, %d batch commands, %d answered 503 QUERY_LIMIT_EXCEEDED\n",
		st.Requests, st.BatchCommands, st.QueryLimit503)
	fmt.Fprintf(w, "retailcrm: %d orders, %d API requests\n", sb.rc.OrderCount(), sb.rc.TotalRequests())
}
