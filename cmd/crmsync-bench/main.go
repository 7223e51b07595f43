// Command crmsync-bench measures crmsync against its fake servers and writes
// the figures of the performance targets to BENCHMARKS.md: Bitrix24 and RetailCRM requests
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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
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
	parts     map[string]bool
	profile   string
	// profileDir, when set, skips the measurements: a backfill of
	// profileOrders runs in this process with CPU and allocation profiles
	// written there.
	profileDir    string
	profileOrders int
	// breakdown splits an existing CPU profile by cost and exits.
	breakdown string
	readme    string
}

// The parts of a run, for -parts.
const (
	partOps      = "ops"
	partLimits   = "limits"
	partOverhead = "overhead"
	partMixes    = "mixes"
	partSchedule = "schedule"
	partProfile  = "profile"
)

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
	parts := fs.String("parts", "ops,mixes,schedule,limits,overhead,profile", "which parts to run (limits needs ops for its sizing)")
	fs.StringVar(&o.readme, "readme", "", "rewrite the Figures section of this README from the run")
	fs.StringVar(&o.profile, "cpuprofile", "", "write the driver's CPU profile (the fakes' side) to this file")
	fs.StringVar(&o.profileDir, "profile", "", "only profile: backfill -profile-orders in process, profiles to this directory")
	fs.IntVar(&o.profileOrders, "profile-orders", 10_000, "shop size of -profile")
	fs.StringVar(&o.breakdown, "breakdown", "", "only split this CPU profile (of -profile) by cost")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case partOps, partLimits, partOverhead, partMixes, partSchedule, partProfile:
			o.parts[p] = true
		default:
			return nil, fmt.Errorf("-parts: unknown part %q (ops, mixes, schedule, limits, overhead, profile)", p)
		}
	}
	if o.parts[partLimits] && !o.parts[partOps] {
		return nil, fmt.Errorf("-parts: limits needs ops (its runs are sized from the requests per new order)")
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
	if o.profile != "" {
		stopProfile, err := startProfile(o.profile)
		if err != nil {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		defer stopProfile()
	}
	if o.breakdown != "" {
		total, rows, err := breakdown(ctx, o.breakdown)
		if err != nil {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		for _, c := range rows {
			fmt.Fprintf(stdout, "%6.2f s %5.1f%%  %s\n", c.cpu.Seconds(), 100*c.cpu.Seconds()/total.Seconds(), c.what)
		}
		fmt.Fprintf(stdout, "%6.2f s total\n", total.Seconds())
		return 0
	}
	if o.profileDir != "" {
		if err := profileOnly(ctx, o, stderr); err != nil {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		return 0
	}
	t, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync-bench:", err)
		return 1
	}
	text := t.markdown()
	fmt.Fprint(stdout, text)
	if o.out != "" && o.out != "-" {
		prev, err := os.ReadFile(o.out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		if err := os.WriteFile(o.out, []byte(keepHandWritten(string(prev), text)), 0o644); err != nil {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "crmsync-bench: wrote %s\n", o.out)
	}
	if o.readme != "" {
		if err := rewriteFigures(o.readme, t.figures(o.out)); err != nil {
			fmt.Fprintln(stderr, "crmsync-bench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "crmsync-bench: wrote the Figures of %s\n", o.readme)
	}
	return 0
}

// startProfile profiles this process: the fakes, which is where the time
// goes when the child's CPU is well below its wall time.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// handWritten marks where the figures other tests measure (serve's latency,
// say) begin in BENCHMARKS.md: make bench keeps everything from that line on.
const handWritten = "<!-- Written by hand from tests, not by make bench: kept when it rewrites this file. -->"

// keepHandWritten is the new text with the hand-written part of the old one.
func keepHandWritten(prev, text string) string {
	i := strings.Index(prev, handWritten)
	if i < 0 {
		return text
	}
	return strings.TrimRight(text, "\n") + "\n\n" + prev[i:]
}
