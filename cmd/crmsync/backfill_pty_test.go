package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/shop"
)

// TestBackfillProgressBarOnATerminal runs the real binary on a
// pseudo-terminal: stderr shows the progress bar (orders done of total,
// rate, time left), redrawn in place, and no progress log lines. Without a
// terminal TestBackfillThenPull sees log lines and no bar.
func TestBackfillProgressBarOnATerminal(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	shop.New(5, time.Now(), retailcrmtest.DefaultSite).Seed(f.rc, f.bx, shop.Size{Orders: 400, Customers: 130})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, f.unlimitedConfig())

	cmd := binaryCommand(dir, "--config", cfg, "--db", filepath.Join(dir, "tty.db"), "backfill")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		// Reading the pty fails with EIO once the process has gone.
		_, _ = io.Copy(&out, tty)
		close(copied)
	}()
	waitExit(t, cmd, 60*time.Second, "backfill on a terminal did not finish")
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if code := cmd.ProcessState.ExitCode(); code != exitParked {
		t.Errorf("exit code %d, want 3 (the shop's unmapped orders)\n%s", code, out.String())
	}
	s := out.String()
	for _, want := range []string{"backfill", "/400", "orders/s", "\r"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "backfill progress") {
		t.Errorf("log lines on a terminal too:\n%q", s)
	}
	if !strings.Contains(s, "crmsync: backfill: 400 of 400 orders") {
		t.Errorf("no summary line:\n%q", s)
	}
}
