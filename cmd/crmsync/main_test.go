package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// asMainEnv makes the test binary behave as the crmsync binary, so tests can
// run it as a subprocess (exit codes, signals, environment) without a build.
const asMainEnv = "CRMSYNC_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	if db := os.Getenv(holdLockEnv); db != "" {
		holdLock(db)
		return
	}
	goleak.VerifyTestMain(m,
		// modernc.org/sqlite and net/http keep idle workers around.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

// result is one finished invocation.
type result struct {
	stdout, stderr string
	code           int
}

// runInProcess runs crmsync with args in this process. The environment is
// the process's; tests that set CRMSYNC_* use runBinary.
func runInProcess(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	sig := newSignalHandler(context.Background(), func(int) { t.Error("unexpected exit") })
	defer sig.stop()
	code := run(sig.ctx, args, streams{in: strings.NewReader(""), out: &out, err: &errb}, sig)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// runBinary runs the test binary as crmsync in dir with only env (plus PATH
// and HOME) in its environment.
func runBinary(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append([]string{asMainEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "xdg"), raceEnv()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// raceEnv spares each run of the race-built binary the race runtime's
// one-second pause at exit (its atexit_sleep_ms), which would otherwise
// dominate a campaign of short runs.
func raceEnv() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "crmsync.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (r result) mustCode(t *testing.T, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}

// mustSay wants exit code want and says in stderr.
func (r result) mustSay(t *testing.T, want int, says string) {
	t.Helper()
	r.mustCode(t, want)
	if !strings.Contains(r.stderr, says) {
		t.Errorf("stderr lacks %q:\n%s", says, r.stderr)
	}
}

// skipShort skips a test that takes long (why) under -short.
func skipShort(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
}

// binaryCommand is the test binary as crmsync with args in dir, not
// started yet, in the test's environment.
func binaryCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asMainEnv+"=1", raceEnv())
	return cmd
}

// waitExit waits for cmd to exit; after within it kills it and ends the
// test with failed.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration, failed string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(within):
		_ = cmd.Process.Kill()
		t.Fatal(failed)
	}
}

// workFiles is a fresh directory with a configuration file holding body and
// the path of a database next to it.
func workFiles(t *testing.T, body string) (dir, cfg, db string) {
	t.Helper()
	dir = t.TempDir()
	return dir, writeConfig(t, dir, body), filepath.Join(dir, "c.db")
}

// decodeJSON decodes the output of a command run with --json.
func decodeJSON[T any](t *testing.T, r result, command string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%s --json: %v\n%s\n%s", command, err, r.stdout, r.stderr)
	}
	return v
}

// decodeStatus decodes the output of status --json.
func decodeStatus(t *testing.T, r result) statusReport {
	t.Helper()
	return decodeJSON[statusReport](t, r, "status")
}

// statusOf runs status --json in this process on db and decodes it.
func statusOf(t *testing.T, cfg, db string) statusReport {
	t.Helper()
	r := runInProcess(t, "--config", cfg, "--db", db, "status", "--json")
	r.mustCode(t, exitOK)
	return decodeStatus(t, r)
}

// statusFields decodes the output of status --json as an object and wants
// each of fields in it (they are a contract); a field missing ends the test.
func statusFields(t *testing.T, r result, fields ...string) map[string]any {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	missing := 0
	for _, k := range fields {
		if _, ok := raw[k]; !ok {
			t.Errorf("status --json lacks %q", k)
			missing++
		}
	}
	if missing > 0 {
		t.FailNow()
	}
	return raw
}

// fakes are both fake services for one test.
type fakes struct {
	rc *retailcrmtest.Server
	bx *bitrixtest.Server
}

// newFakes are both fakes with the options given and an unlimited portal.
func newFakes(t *testing.T, rcOpts retailcrmtest.Options, bxOpts bitrixtest.Options) fakes {
	t.Helper()
	bxOpts.Unlimited = true
	return fakes{rc: retailcrmtest.New(t, rcOpts), bx: bitrixtest.New(t, bxOpts)}
}

// defaultFakes are both fakes with their default options and an unlimited
// portal.
func defaultFakes(t *testing.T) fakes {
	t.Helper()
	return newFakes(t, retailcrmtest.Options{}, bitrixtest.Options{})
}

// config is the two services' section of a configuration, then extra.
func (f fakes) config(extra string) string {
	return fmt.Sprintf("retailcrm:\n  url: %s\n  api_key: %s\nbitrix:\n  webhook_url: %s\n", f.rc.URL(), f.rc.APIKey(), f.bx.WebhookURL()) + extra
}

// order creates an order in roubles of a new customer.
func (f fakes) order(firstName, email string, total int64) retailcrm.Order {
	return f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: firstName, Email: email},
		TotalSumm: decimal.NewFromInt(total), Currency: "RUB"})
}

// buyers creates n orders of distinct buyers, numbered from from.
func (f fakes) buyers(from, n int) {
	for i := from; i < from+n; i++ {
		f.order(fmt.Sprint("Buyer", i), fmt.Sprintf("b%d@example.com", i), int64(100+i))
	}
}

// setTotal changes the total of order id.
func (f fakes) setTotal(t *testing.T, id, total int64) {
	t.Helper()
	if err := f.rc.UpdateOrder(id, func(o *retailcrm.Order) { o.TotalSumm = decimal.NewFromInt(total) }); err != nil {
		t.Fatal(err)
	}
}

// itoa is an id as the services and the status text write it.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// wantAll wants every one of wants in out; what names out in the error.
func wantAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}
