package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
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
