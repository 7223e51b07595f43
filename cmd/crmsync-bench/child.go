package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Exit codes of crmsync the driver tells apart.
const (
	exitOK     = 0
	exitError  = 1
	exitParked = 3 // the shop parks a couple of orders on purpose (awaiting-stock)
)

// childRun is one crmsync process: what it cost and what it said.
type childRun struct {
	code   int
	wall   time.Duration
	cpu    time.Duration // user + sys of the child alone
	maxRSS int64         // bytes, VmHWM; the fakes live in the driver, so this is crmsync's
	stderr string
	seen   int // "orders seen N" from the summary line, -1 when absent
}

// buildCrmsync compiles the binary under test into dir, with its VCS
// revision (as `make build` does) so that the table names what it measured;
// outside a checkout it builds without.
func buildCrmsync(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "crmsync")
	var err error
	for _, vcs := range []string{"-buildvcs=true", "-buildvcs=false"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", vcs, "-o", bin, "github.com/crmsync/crmsync/cmd/crmsync")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if rerr := cmd.Run(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("go build %s ./cmd/crmsync: %w\n%s", vcs, rerr, out.String()))
			continue
		}
		return bin, nil
	}
	return "", err
}

// runCrmsync runs one command of the binary against an env. Exit 3 (some
// orders parked) is a finished run; anything else but 0 is an error.
func runCrmsync(ctx context.Context, bin string, e *env, args ...string) (childRun, error) {
	full := append([]string{"--config", e.cfg, "--db", e.db}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Dir = e.dir
	cmd.Env = append(childEnv(), fmt.Sprintf("GOMAXPROCS=%d", childProcs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return childRun{}, fmt.Errorf("crmsync %s: %w", strings.Join(args, " "), err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	r := childRun{wall: time.Since(start), stderr: stderr.String(), seen: ordersSeen(stderr.String()), maxRSS: peak.finish()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
	default:
		return r, fmt.Errorf("crmsync %s: %w", strings.Join(args, " "), err)
	}
	ps := cmd.ProcessState
	r.code = ps.ExitCode()
	r.cpu = ps.UserTime() + ps.SystemTime()
	if r.code != exitOK && r.code != exitParked {
		return r, fmt.Errorf("crmsync %s: exit %d: %s", strings.Join(args, " "), r.code, tail(r.stderr, 800))
	}
	return r, nil
}

// childEnv keeps CRMSYNC_* settings of the person running the benchmark
// from steering the child away from the fakes, and the Go runtime's tuning
// (GOGC=400 raised the child's peak RSS from 77 to 151 MB) from changing
// what is measured: crmsync runs as a shop runs it, with the defaults.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "CRMSYNC_"), name == "GOGC", name == "GOMEMLIMIT", name == "GODEBUG", name == "GOMAXPROCS":
			continue
		}
		out = append(out, kv)
	}
	return out
}

var seenRE = regexp.MustCompile(`orders seen (\d+)`)

func ordersSeen(stderr string) int {
	m := seenRE.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		return -1
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	if err != nil {
		return -1
	}
	return n
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// childProcs is the cores the engine-overhead target in BENCHMARKS.md is stated for.
const childProcs = 2
