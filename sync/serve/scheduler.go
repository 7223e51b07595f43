// Package serve is crmsync serve's core: a scheduler that runs pull and push
// on a timer and soon after a wake-up, one run at a time, and the HTTP
// endpoints that deliver the wake-ups (RetailCRM triggers, Bitrix24
// outbound events), the health check and the live metrics.
//
// An event is only a wake-up, never data: the runs poll both services as a
// timer run does, so a lost or forged event costs latency, never
// correctness (docs/operations.md, crmsync serve).
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	stdsync "sync"
	"time"
)

// Kind says which runs a wake-up asks for; kinds combine with |.
type Kind uint8

const (
	// Pull: something changed in RetailCRM.
	Pull Kind = 1 << iota
	// Push: a deal or a timeline comment changed in Bitrix24.
	Push
)

// ErrBusy is what a job returns when another process holds the database's
// run lock: the scheduler keeps the run pending and tries again later.
var ErrBusy = errors.New("another run holds the lock")

// ErrPartial is what a job returns when it finished with parked items: the
// run counts as done, not as failed.
var ErrPartial = errors.New("finished with parked items")

// Results a run can have, in the words of crmsync status.
const (
	ResultOK          = "ok"
	ResultPartial     = "partial"
	ResultFailed      = "failed"
	ResultInterrupted = "interrupted"
	ResultBusy        = "busy"
)

// Defaults of the scheduler's timing.
const (
	DefaultDebounce  = 2 * time.Second
	DefaultMaxDelay  = 10 * time.Second
	DefaultMinGap    = 3 * time.Second
	DefaultBusyRetry = 10 * time.Second
	// DefaultGrace stays under systemd's default stop timeout (90 s).
	DefaultGrace = 60 * time.Second
)

// Job is one command the scheduler runs. When serve is asked to stop, stop
// is closed: the job finishes the page in progress and returns; ctx ends
// only Timing.Grace later, for a job that does not.
type Job func(ctx context.Context, stop <-chan struct{}) error

// Timing is when the scheduler runs. The zero value of a field takes its
// default.
type Timing struct {
	// Every is the schedule: pull and push run this often whatever the
	// wake-ups say, so the schedule alone syncs everything.
	Every time.Duration
	// Debounce is the quiet time after the last wake-up before the run
	// starts: a burst of events makes one run.
	Debounce time.Duration
	// MaxDelay caps the debounce: a steady stream of events still gets a
	// run this long after the first one.
	MaxDelay time.Duration
	// MinGap is the least time from the end of one run to the start of a
	// run a wake-up asked for, so events never spend more of the APIs'
	// budget than a run every MinGap.
	MinGap time.Duration
	// BusyRetry is how long to wait when another process (a cron run)
	// holds the lock.
	BusyRetry time.Duration
	// Grace is how long a run may take to finish its page once serve is
	// asked to stop; then its context is cancelled.
	Grace time.Duration
}

func (t Timing) withDefaults() Timing {
	if t.Every <= 0 {
		t.Every = 5 * time.Minute
	}
	if t.Debounce <= 0 {
		t.Debounce = DefaultDebounce
	}
	if t.MaxDelay < t.Debounce {
		t.MaxDelay = max(DefaultMaxDelay, t.Debounce)
	}
	if t.MinGap < 0 {
		t.MinGap = 0
	} else if t.MinGap == 0 {
		t.MinGap = DefaultMinGap
	}
	if t.BusyRetry <= 0 {
		t.BusyRetry = DefaultBusyRetry
	}
	if t.Grace <= 0 {
		t.Grace = DefaultGrace
	}
	return t
}

// RunInfo is the last run of one command, for /healthz.
type RunInfo struct {
	Command string    `json:"command"`
	Result  string    `json:"result"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	Error   string    `json:"error,omitempty"`
}

// scheduler decides when pull and push run. Only its loop runs jobs, so
// there is never more than one run at a time.
type scheduler struct {
	pull, push Job
	timing     Timing
	log        *slog.Logger
	redact     func(string) string
	onRun      func(command, result string)

	notify chan struct{} // capacity 1: a wake-up never blocks its sender

	mu        stdsync.Mutex
	pending   Kind
	now       bool      // run pending kinds at once (the schedule, the start)
	first     time.Time // the first wake-up not yet run
	last      time.Time // the latest wake-up
	notBefore time.Time // no run before this (the gap after a run, a held lock)
	running   bool
	lastRuns  map[string]RunInfo
}

func newScheduler(pull, push Job, t Timing, log *slog.Logger, redact func(string) string, onRun func(string, string)) *scheduler {
	return &scheduler{pull: pull, push: push, timing: t.withDefaults(), log: log, redact: redact, onRun: onRun,
		notify: make(chan struct{}, 1), lastRuns: map[string]RunInfo{}}
}

// wake asks for a run of kinds after the debounce.
func (s *scheduler) wake(kinds Kind) {
	now := time.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	s.pending |= kinds
	s.last = now
	s.mu.Unlock()
	s.poke()
}

// due asks for a run of kinds as soon as the gap allows.
func (s *scheduler) due(kinds Kind) {
	s.mu.Lock()
	s.pending |= kinds
	s.now = true
	s.mu.Unlock()
	s.poke()
}

func (s *scheduler) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// next says which kinds to run now, or how long to wait (0: nothing pending).
func (s *scheduler) next(now time.Time) (Kind, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == 0 {
		return 0, 0
	}
	at := now
	if !s.now {
		at = s.last.Add(s.timing.Debounce)
		if capAt := s.first.Add(s.timing.MaxDelay); capAt.Before(at) {
			at = capAt
		}
	}
	if s.notBefore.After(at) {
		at = s.notBefore
	}
	if at.After(now) {
		return 0, at.Sub(now)
	}
	kinds := s.pending
	s.pending, s.now, s.first, s.last = 0, false, time.Time{}, time.Time{}
	s.running = true
	return kinds, 0
}

// loop runs until ctx ends; it returns once the run in progress (stopped by
// ctx at its next safe point) has returned.
func (s *scheduler) loop(ctx context.Context) {
	tick := time.NewTicker(s.timing.Every)
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	s.due(Pull | Push) // the first run at start: catch up what happened while stopped
	for {
		kinds, wait := s.next(time.Now())
		if kinds != 0 {
			s.runKinds(ctx, kinds)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.due(Pull | Push)
		case <-s.notify:
		case <-timer.C:
		}
	}
}

// runKinds runs pull, then push, as kinds ask.
func (s *scheduler) runKinds(ctx context.Context, kinds Kind) {
	busy := Kind(0)
	for _, j := range []struct {
		kind Kind
		name string
		job  Job
	}{{Pull, "pull", s.pull}, {Push, "push", s.push}} {
		if kinds&j.kind == 0 || j.job == nil || ctx.Err() != nil {
			continue
		}
		if s.runOne(ctx, j.name, j.job) == ResultBusy {
			busy |= j.kind
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
	s.notBefore = time.Now().Add(s.timing.MinGap)
	if busy != 0 {
		// A cron run holds the lock: try again when it has probably ended.
		s.pending |= busy
		s.now = true
		s.notBefore = time.Now().Add(s.timing.BusyRetry)
	}
}

func (s *scheduler) runOne(ctx context.Context, name string, job Job) string {
	info := RunInfo{Command: name, Started: time.Now()}
	err := s.runStoppable(ctx, job)
	info.Ended = time.Now()
	switch {
	case err == nil:
		info.Result = ResultOK
	case errors.Is(err, ErrBusy):
		info.Result = ResultBusy
	case errors.Is(err, ErrPartial):
		info.Result = ResultPartial
	case errors.Is(err, context.Canceled):
		info.Result = ResultInterrupted
	default:
		info.Result = ResultFailed
	}
	if err != nil && info.Result != ResultPartial {
		info.Error = s.redact(err.Error())
	}
	if s.onRun != nil {
		s.onRun(name, info.Result)
	}
	switch info.Result {
	case ResultBusy:
		s.log.Info("serve: the lock is held by another run; trying again later", "command", name, "retry_in", s.timing.BusyRetry)
		return info.Result // not a run: the last run's result stands
	case ResultFailed:
		s.log.Warn("serve: run failed", "command", name, "err", info.Error)
	case ResultInterrupted:
		s.log.Warn("serve: run cut short after the grace period; the next run continues from its last committed page", "command", name)
	}
	if ctx.Err() != nil && info.Result != ResultInterrupted {
		s.log.Info("serve: run stopped at a page boundary; the next run continues from there", "command", name)
	}
	s.mu.Lock()
	s.lastRuns[name] = info
	s.mu.Unlock()
	return info.Result
}

// runStoppable runs job with a context of its own: when ctx ends, the job
// is asked to stop (stop is closed) and finishes its page; its context ends
// Grace later, or when it returns.
func (s *scheduler) runStoppable(ctx context.Context, job Job) error {
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-jobCtx.Done():
			return
		case <-ctx.Done():
			close(stop)
		}
		grace := time.NewTimer(s.timing.Grace)
		defer grace.Stop()
		select {
		case <-jobCtx.Done():
		case <-grace.C:
			cancel()
		}
	}()
	err := runSafely(jobCtx, stop, job)
	cancel()
	<-watched
	return err
}

// runSafely runs job; a panic becomes the run's error, so one bad run
// never takes the service down.
func runSafely(ctx context.Context, stop <-chan struct{}, job Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in the run: %v", r)
		}
	}()
	return job(ctx, stop)
}

// runs returns the last run of each command, by command name.
func (s *scheduler) runs() []RunInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RunInfo, 0, len(s.lastRuns))
	for _, r := range s.lastRuns {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b RunInfo) int {
		if a.Command < b.Command {
			return -1
		}
		if a.Command > b.Command {
			return 1
		}
		return 0
	})
	return out
}
