package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/crmsync/crmsync/store"
)

// holdLockEnv makes the test binary take the run lock and wait to be killed.
const holdLockEnv = "CRMSYNC_TEST_HOLD_LOCK"

// holdLock is the helper process: take the lock, say so, sleep until killed.
func holdLock(db string) {
	lock, err := store.Lock(context.Background(), db, "pull")
	if err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(9)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
	_ = lock.Release()
	os.Exit(0)
}

// startLockHolder starts a process that holds the lock of db.
func startLockHolder(t *testing.T, db string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdLockEnv+"="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "locked") {
		_ = cmd.Process.Kill()
		t.Fatalf("lock holder did not start: %q", buf[:n])
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestSecondRunExits5AndStaleLockIsTakenOver(t *testing.T) {
	t.Parallel()
	dir, db := seededDir(t)
	cfg := writeConfig(t, dir, validConfig("http://127.0.0.1:1", "http://127.0.0.1:1/rest/1/abcd1234/"))
	holder := startLockHolder(t, db)

	for _, args := range [][]string{{"pull"}, {"push"}, {"backfill"}, {"retry"}, {"skip", "1"}} {
		r := runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", db}, args...)...)
		r.mustCode(t, exitLocked)
		want := "is in use by crmsync pull (pid " + strconv.Itoa(holder.Process.Pid) + ", started "
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%v: stderr %q lacks %q", args, r.stderr, want)
		}
	}
	// status needs no lock.
	runBinary(t, dir, nil, "--config", cfg, "--db", db, "status").mustCode(t, exitOK)

	// kill -9 leaves the lock file behind; the kernel dropped the lock.
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	if _, err := os.Stat(store.LockPath(db)); err != nil {
		t.Fatalf("lock file gone: %v", err)
	}
	r := runBinary(t, dir, nil, "--config", cfg, "--db", db, "retry")
	r.mustCode(t, exitOK)
}

func TestEnvironmentPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "db: from-file.db\n")
	dbOf := func(r result) string {
		t.Helper()
		r.mustCode(t, exitOK)
		return decodeStatus(t, r).Database
	}
	if got := dbOf(runBinary(t, dir, nil, "--config", cfg, "status", "--json")); got != "from-file.db" {
		t.Errorf("file: %q", got)
	}
	env := []string{"CRMSYNC_DB=from-env.db"}
	if got := dbOf(runBinary(t, dir, env, "--config", cfg, "status", "--json")); got != "from-env.db" {
		t.Errorf("env over file: %q", got)
	}
	if got := dbOf(runBinary(t, dir, env, "--config", cfg, "--db", "from-flag.db", "status", "--json")); got != "from-flag.db" {
		t.Errorf("flag over env: %q", got)
	}
	// ./crmsync.yaml is found without --config; CRMSYNC_CONFIG names another.
	if got := dbOf(runBinary(t, dir, nil, "status", "--json")); got != "from-file.db" {
		t.Errorf("./crmsync.yaml not found: %q", got)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("db: other.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := dbOf(runBinary(t, dir, []string{"CRMSYNC_CONFIG=" + other}, "status", "--json")); got != "other.db" {
		t.Errorf("CRMSYNC_CONFIG: %q", got)
	}
	// Nested keys from the environment reach validation.
	r := runBinary(t, dir, []string{"CRMSYNC_BITRIX_WEBHOOK_URL=https://p.bitrix24.ru/rest/x/envhooksecret/", "CRMSYNC_RETAILCRM_API_KEY=k-123456", "CRMSYNC_RETAILCRM_URL=https://a.retailcrm.ru"}, "check")
	r.mustCode(t, exitConfig)
	if !strings.Contains(r.stderr, "bitrix.webhook_url: must look like") || strings.Contains(r.stderr, "envhooksecret") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestBadDatabaseFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")

	corrupt := filepath.Join(dir, "corrupt.db")
	junk := []byte(strings.Repeat("this is not an sqlite database\n", 200))
	if err := os.WriteFile(corrupt, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"retry"}} {
		r := runBinary(t, dir, nil, append([]string{"--config", cfg, "--db", corrupt}, args...)...)
		r.mustCode(t, exitError)
		if !strings.Contains(r.stderr, corrupt) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: want one line naming the file, got %q", args, r.stderr)
		}
	}
	if got, _ := os.ReadFile(corrupt); string(got) != string(junk) {
		t.Error("the corrupt file was modified")
	}

	newer := filepath.Join(dir, "newer.db")
	seedStore(t, newer)
	raw, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r := runBinary(t, dir, nil, "--config", cfg, "--db", newer, "status")
	r.mustCode(t, exitError)
	if !strings.Contains(r.stderr, "999") || !strings.Contains(r.stderr, "upgrade crmsync") {
		t.Errorf("newer schema: %q", r.stderr)
	}
}

func TestBuiltBinaryVersion(t *testing.T) {
	skipShort(t, "builds the binary")
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "crmsync")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "crmsync ") || !strings.Contains(string(out), "revision ") {
		t.Errorf("version output %q", out)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil || !strings.Contains(string(help), "Available Commands:") {
		t.Errorf("--help: %v %s", err, help)
	}
	cmd := exec.Command(bin, "pull", "--bogus")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != exitUsage {
		t.Errorf("usage error exit %v", err)
	}
}
