package runs

import (
	"context"
	"errors"
	"time"

	"github.com/crmsync/crmsync/store"
)

// Run is one recorded run of a command (pull, backfill, push): Start
// writes its row to the runs table, Finish its end, outcome and counters.
type Run struct {
	ID      int64
	Command string
	Started time.Time
	st      *store.Store
}

// Start records the start of a run of command by process pid at now.
func Start(ctx context.Context, st *store.Store, command string, pid int, now time.Time) (*Run, error) {
	id, err := st.StartRun(ctx, command, pid)
	if err != nil {
		return nil, err
	}
	return &Run{ID: id, Command: command, Started: now, st: st}, nil
}

// Outcome is how a run ended: its result and, unless it finished, the
// error that stopped it.
type Outcome struct {
	Result  store.RunResult
	Message string
}

// OutcomeOf classifies a run by the error its body returned, the run's
// context and how many items it parked (waiting for a retry or out of
// attempts):
//   - interrupted: stopped while its context ended (a signal, a deadline),
//     or by an error saying it was cancelled;
//   - failed: stopped by any other error;
//   - partial: finished, with parked items;
//   - ok: finished, nothing parked.
func OutcomeOf(ctx context.Context, err error, parked int) Outcome {
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled)):
		return Outcome{Result: store.RunInterrupted, Message: err.Error()}
	case err != nil:
		return Outcome{Result: store.RunFailed, Message: err.Error()}
	case parked > 0:
		return Outcome{Result: store.RunPartial}
	}
	return Outcome{Result: store.RunOK}
}

// Finished reports a run that went to its end (ok or partial), as opposed
// to one an error or a signal stopped.
func (o Outcome) Finished() bool { return o.Result == store.RunOK || o.Result == store.RunPartial }

// Finish records the run's end with its outcome, counters and the state it
// leaves. It is written even when ctx was cancelled: an interrupted run is
// recorded as such.
func (r *Run) Finish(ctx context.Context, o Outcome, counters map[string]int64, leaves store.RunLeaves) error {
	return r.st.FinishRunLeaving(context.WithoutCancel(ctx), r.ID, o.Result, counters, o.Message, leaves)
}

// Stopped reports whether a run's Stop channel is closed, the way pull,
// backfill and push check it before their next page or batch (a nil
// channel never is).
func Stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
