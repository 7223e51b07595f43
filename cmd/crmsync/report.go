package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	pullsync "github.com/crmsync/crmsync/sync"
)

// diffReport is a dry run's report, of pull, backfill or push.
type diffReport interface {
	WriteJSON(w io.Writer) error
	WriteText(w io.Writer) error
}

// printReport writes a dry run's diff report to stdout: text, or the
// stable JSON document with --json. Secrets are masked either way.
func (a *app) printReport(r diffReport, asJSON bool) error {
	var buf bytes.Buffer
	var err error
	if asJSON {
		err = r.WriteJSON(&buf)
	} else {
		err = r.WriteText(&buf)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(a.out, a.redactor.String(buf.String()))
	return err
}

// progress prints one updating status line on stderr when it is a
// terminal, and nothing otherwise (cron, pipes, tests).
type progress struct {
	w       io.Writer
	command string
	on      bool
	printed bool
	last    time.Time
}

func (a *app) newProgress(command string) *progress {
	p := &progress{w: a.err, command: command}
	if f, ok := a.err.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !a.global.quiet {
		p.on = true
	}
	return p
}

func (p *progress) update(pr pullsync.Progress) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.printed = true
	fmt.Fprintf(p.w, "\r\033[K%s: page %d, %d orders, cursor %d, backlog ~%d, failed %d, %d requests, %s",
		p.command, pr.Pages, pr.Orders, pr.Cursor, pr.Backlog, pr.Parked, pr.Requests, pr.Elapsed.Round(time.Second))
}

func (p *progress) done() {
	if p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
