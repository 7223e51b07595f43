package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/metrics"
	"github.com/crmsync/crmsync/sync/serve"
)

type serveOptions struct {
	listen string
	every  time.Duration
}

func (a *app) serveCmd() *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run pull and push continuously, on a schedule and soon after RetailCRM and Bitrix24 events",
		Long: `serve is one long-running process that runs pull and push every --every
(serve.every, default 5m) and about two seconds after a wake-up: a RetailCRM
trigger calling POST /hooks/retailcrm/<serve.retailcrm_token> wakes pull, a
Bitrix24 outbound webhook (deal, lead or timeline-comment events) calling
POST /hooks/bitrix with serve.bitrix_token as its application token wakes push.
A burst of events makes one run; runs never overlap and a run woken by events
starts at least 3 s after the previous one ended. Events are only wake-ups:
every run polls both services as a timer run does, so a lost or forged event
costs latency, never correctness.

Each run takes the database's run lock like a cron run: a pull or push started
from cron while serve runs exits 5; serve, finding the lock held, tries again
10 s later. GET /healthz answers 503 when the last pull or push failed;
GET /metrics serves the --metrics-file metrics live with serve's own.
SIGTERM or SIGINT stops accepting, lets the run in progress finish its page
(at most 60 s) and exits 0; a second signal exits at once with 130.`,
		Example: `  crmsync serve
  crmsync serve --listen 127.0.0.1:8080 --every 10m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runServe(cmd.Context()) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", "", "address to listen on, HOST:PORT (default from serve.listen: "+config.DefaultServeListen+")")
	f.DurationVar(&opts.every, "every", 0, "run pull and push this often whatever the events say (default from serve.every: 5m)")
	// Flag > env > file > default: config.Load reads the flags through a.v.
	_ = a.v.BindPFlag("serve.listen", f.Lookup("listen"))
	_ = a.v.BindPFlag("serve.every", f.Lookup("every"))
	return cmd
}

// runServe serves until the signal: then it returns nil (exit 0).
func (a *app) runServe(ctx context.Context) error {
	cfg, err := a.config(true)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	live := &metrics.Live{}
	srv := serve.New(serve.Options{
		Pull: a.serveJob("pull", live, func(ctx context.Context, stop <-chan struct{}) error {
			return a.withRun(ctx, &runOptions{stop: stop}, a.runPull)
		}),
		Push: a.serveJob("push", live, func(ctx context.Context, stop <-chan struct{}) error {
			return a.withRun(ctx, &runOptions{stop: stop}, a.runPush)
		}),
		Timing:         serve.Timing{Every: cfg.Serve.Every},
		RetailCRMToken: cfg.Serve.RetailCRMToken,
		BitrixToken:    cfg.Serve.BitrixToken,
		Metrics:        live,
		Page:           a.statusPage(),
		Logger:         a.log,
		Redact:         a.redactor.String,
	})
	// A signal is how serve is meant to stop: exit 0, not 130.
	a.stopsOnSignal = true
	a.log.Info("serve: listening", "addr", ln.Addr().String(), "every", cfg.Serve.Every,
		"retailcrm_hook", cfg.Serve.RetailCRMToken != "", "bitrix_hook", cfg.Serve.BitrixToken != "")
	err = srv.Serve(ctx, ln)
	a.log.Info("serve: stopped")
	return err
}

// serveJob runs one pull or push inside serve the way the command does from
// cron: under the database's run lock, with the run recorded by the engine,
// and its metrics kept for /metrics (not --metrics-file: one file would
// hold pull's figures and push's by turns).
func (a *app) serveJob(command string, live *metrics.Live, run serve.Job) serve.Job {
	return func(ctx context.Context, stop <-chan struct{}) error {
		// "serve (pull)": a cron run refused with exit 5 names serve.
		release, err := a.lock(ctx, "serve ("+command+")")
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w: %w", serve.ErrBusy, err)
		}
		if err != nil {
			return err
		}
		defer release()
		before, started := a.apis.Snapshot(), time.Now()
		err = run(ctx, stop)
		live.Set(a.runMetrics(ctx, command, exitCode(err, errors.Is(err, context.Canceled)), started, apiDelta(a.apis.Snapshot(), before)))
		if errors.Is(err, errParked) {
			return fmt.Errorf("%w: %w", serve.ErrPartial, err)
		}
		return err
	}
}

// apiDelta is what one run of a long-lived process sent: the counts after
// it less those before.
func apiDelta(after, before map[string]metrics.API) map[string]metrics.API {
	out := make(map[string]metrics.API, len(after))
	for name, a := range after {
		b := before[name]
		out[name] = metrics.API{Requests: a.Requests - b.Requests, RateLimited: a.RateLimited - b.RateLimited,
			TimeLimited: a.TimeLimited - b.TimeLimited, ServerError: a.ServerError - b.ServerError}
	}
	return out
}
