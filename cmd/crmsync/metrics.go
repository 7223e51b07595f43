package main

import (
	"context"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/metrics"
)

// apiCounters count what each API answered during this invocation, by
// wrapping the clients' HTTP transports.
type apiCounters struct {
	mu   stdsync.Mutex
	apis map[string]*metrics.API
}

func newAPICounters() *apiCounters { return &apiCounters{apis: map[string]*metrics.API{}} }

// transport wraps next so that requests to api are counted.
func (c *apiCounters) transport(api string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return countingTransport{api: api, next: next, c: c}
}

func (c *apiCounters) snapshot() map[string]metrics.API {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]metrics.API, len(c.apis))
	for k, v := range c.apis {
		out[k] = *v
	}
	return out
}

type countingTransport struct {
	api  string
	next http.RoundTripper
	c    *apiCounters
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	a := t.c.apis[t.api]
	if a == nil {
		a = &metrics.API{}
		t.c.apis[t.api] = a
	}
	a.Requests++
	if err == nil {
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable:
			a.RateLimited++
		case resp.StatusCode == http.StatusTooManyRequests:
			a.TimeLimited++
		case resp.StatusCode >= 500:
			a.ServerError++
		}
	}
	return resp, err
}

// isSyncCommand tells the commands that record runs and get a metrics file.
func isSyncCommand(name string) bool {
	return name == "pull" || name == "push" || name == "backfill"
}

// writeMetrics writes --metrics-file after a pull, push or backfill, from
// the run the engine recorded and what the APIs answered. A failure to write
// is logged, never turned into the run's result.
func (a *app) writeMetrics(ctx context.Context, cmd *cobra.Command, code int, started time.Time) {
	if a.global.metricsFile == "" || cmd == nil || !isSyncCommand(cmd.Name()) || !a.ran {
		return
	}
	run := metrics.Run{Command: cmd.Name(), Started: started, Ended: time.Now(), ExitCode: code,
		Result: resultFor(code), APIs: a.apis.snapshot(), Backlog: -1}
	if st, ok, err := a.openStoreReadOnly(context.WithoutCancel(ctx)); err == nil && ok {
		defer st.Close()
		if runs, err := st.Runs(ctx, cmd.Name(), 1); err == nil && len(runs) == 1 && !runs[0].StartedAt.Before(started.Add(-time.Second)) {
			r := runs[0]
			run.Started, run.Counters = r.StartedAt, r.Counters
			if !r.EndedAt.IsZero() {
				run.Ended = r.EndedAt
			}
			if n, ok := r.Counters[backlogCounter]; ok {
				run.Backlog = n
			}
		}
		if counts, err := st.CountFailures(ctx); err == nil {
			run.Parked, run.Retrying = counts.Parked, counts.Retrying
		}
	}
	if err := metrics.WriteFile(a.global.metricsFile, run); err != nil {
		a.log.Warn("could not write the metrics file", "path", a.global.metricsFile, "err", err)
	}
}

func resultFor(code int) string {
	switch code {
	case exitOK:
		return string(store.RunOK)
	case exitParked:
		return string(store.RunPartial)
	case exitInterrupted:
		return string(store.RunInterrupted)
	default:
		return string(store.RunFailed)
	}
}
