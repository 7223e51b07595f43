package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Import modes: how new orders reach Bitrix24 in the measured runs.
const (
	modeBackfill  = "backfill"
	modeFirstPull = "first pull"
)

// bench is one benchmark run: the binary under test, a scratch directory
// and where progress goes.
type bench struct {
	bin   string
	dir   string
	seed  uint64
	log   io.Writer
	start time.Time
	// mode is found once per run: backfill when this build has the engine,
	// else pull over fresh history.
	mode string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "crmsync-bench: [%5.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) crmsync(ctx context.Context, e *env, args ...string) (childRun, error) {
	return runCrmsync(ctx, b.bin, e, args...)
}

// importOrders brings a fresh shop's orders into Bitrix24 the way a new
// installation does: backfill, or where this build answers that its
// backfill engine is not built, a first pull over the whole history.
func (b *bench) importOrders(ctx context.Context, e *env) (childRun, string, error) {
	if b.mode != modeFirstPull {
		r, err := b.crmsync(ctx, e, "backfill")
		if err == nil {
			b.mode = modeBackfill
			return r, modeBackfill, nil
		}
		if r.code != exitError || !strings.Contains(r.stderr, "engine is not built") {
			return r, "", err
		}
		b.mode = modeFirstPull
	}
	r, err := b.crmsync(ctx, e, "pull")
	return r, modeFirstPull, err
}
