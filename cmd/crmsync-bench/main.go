// Command crmsync-bench measures crmsync against its fake servers and writes
// the figures of SPEC §7 to BENCHMARKS.md: Bitrix24 and RetailCRM requests
// per operation beside a one-call-per-operation client, throughput under a
// portal's request limit, and the engine's own overhead as the order count
// grows. Every figure is a ratio measured in one run, so that a slow or
// noisy machine changes the absolute times but not the comparisons.
//
// crmsync runs as a child process (built from this module, or -crmsync
// PATH); the fakes run in this process, so the child's CPU time and peak
// RSS are crmsync's alone.
//
//	go run ./cmd/crmsync-bench                 # everything, up to 100,000 orders
//	go run ./cmd/crmsync-bench -max-orders 10000
//	go run ./cmd/crmsync-bench -quick          # tiny sizes, for CI
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the driver's flags.
type options struct {
	out       string
	crmsync   string
	maxOrders int
	quick     bool
	keep      bool
	seed      uint64
	limitTime time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("crmsync-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "write the table to this file (\"\" or - : stdout only)")
	fs.StringVar(&o.crmsync, "crmsync", "", "the crmsync binary to measure (default: build ./cmd/crmsync)")
	fs.IntVar(&o.maxOrders, "max-orders", 100_000, "largest engine-overhead size (of 1,000, 10,000, 100,000)")
	fs.BoolVar(&o.quick, "quick", false, "tiny sizes for a smoke run (seconds, not minutes)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (databases, configurations)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated shops")
	fs.DurationVar(&o.limitTime, "limit-time", 40*time.Second, "target length of each rate-limited run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.maxOrders < 1 {
		return nil, fmt.Errorf("-max-orders must be at least 1")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
		}
		return 2
	}
	t, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync-bench:", err)
		return 1
	}
	text := t.markdown()
	fmt.Fprint(stdout, text)
	if o.out != "" && o.out != "-" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "crmsync-bench: wrote %s\n", o.out)
	}
	return 0
}
