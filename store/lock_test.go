package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a second crmsync process that takes
// the lock named by the variable and holds it until killed.
const helperEnv = "CRMSYNC_STORE_LOCK_HELPER"

func lockHelper() {
	l, err := Lock(context.Background(), os.Getenv(helperEnv), "pull")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_ = l
	time.Sleep(time.Minute) // the test kills us long before
	os.Exit(2)
}

func TestLockInProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "crmsync.db")
	l1, err := Lock(ctx, db, "pull")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(LockPath(db)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
	_, err = Lock(ctx, db, "push")
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("second Lock = %v, want *LockedError", err)
	}
	if le.PID != os.Getpid() || le.Command != "pull" || time.Since(le.Started) > time.Minute {
		t.Errorf("LockedError = %+v", le)
	}
	want := fmt.Sprintf("database %s is in use by crmsync pull (pid %d, started %s); wait for it to finish",
		db, os.Getpid(), le.Started.Format(time.RFC3339))
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := Lock(ctx, db, "push")
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockedErrorWithoutInfo(t *testing.T) {
	t.Parallel()
	err := error(&LockedError{Path: "./crmsync.db"})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "in use by another crmsync process") {
		t.Errorf("err = %v", err)
	}
}

func TestLockAcrossProcessesAndKilledHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "crmsync.db")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	_, err = Lock(ctx, db, "push")
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock while helper holds it = %v", err)
	}
	if le.PID != cmd.Process.Pid || le.Command != "pull" {
		t.Errorf("LockedError = %+v, want pid %d", le, cmd.Process.Pid)
	}

	// SIGKILL gives the holder no chance to clean up; the kernel drops
	// its flock, so the next run proceeds.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true
	l, err := Lock(ctx, db, "push")
	if err != nil {
		t.Fatalf("Lock after holder was killed: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}
