package runs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/runs"
)

// TestRecorderOutcome: a recorded run ends ok, partial, failed or
// interrupted by the error it stopped with, its context and its parked
// items, and that is what the runs table keeps, with the counters and the
// message. Interrupted is one rule for pull, backfill and push: the context
// ended (cancelled or past its deadline), or the error says it was
// cancelled.
func TestRecorderOutcome(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	late, cancelLate := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancelLate()
	boom := errors.New("reading RetailCRM order history after id 17: boom")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		err     error
		parked  int
		want    store.RunResult
		message string
	}{
		{"ok", ctx, nil, 0, store.RunOK, ""},
		{"partial", ctx, nil, 2, store.RunPartial, ""},
		{"failed", ctx, boom, 0, store.RunFailed, boom.Error()},
		{"failed with parked items", ctx, boom, 3, store.RunFailed, boom.Error()},
		{"interrupted by a signal", cancelled, context.Canceled, 0, store.RunInterrupted, "context canceled"},
		{"interrupted, whatever the error", cancelled, boom, 1, store.RunInterrupted, boom.Error()},
		{"interrupted by a deadline", late, fmt.Errorf("page: %w", context.DeadlineExceeded), 0, store.RunInterrupted, "page: context deadline exceeded"},
		{"a cancelled call inside a live run", ctx, fmt.Errorf("bitrix: %w", context.Canceled), 0, store.RunInterrupted, "bitrix: context canceled"},
		{"a signal after the run finished", cancelled, nil, 0, store.RunOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			run, err := runs.Start(ctx, st, "pull", 4242, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			out := runs.OutcomeOf(tc.ctx, tc.err, tc.parked)
			if out.Result != tc.want || out.Message != tc.message {
				t.Fatalf("OutcomeOf = %+v, want %s %q", out, tc.want, tc.message)
			}
			if got, want := out.Finished(), tc.want == store.RunOK || tc.want == store.RunPartial; got != want {
				t.Errorf("Finished() = %v", got)
			}
			// The end is recorded even through a cancelled context.
			if err := run.Finish(tc.ctx, out, map[string]int64{"bitrix_requests": 3}, store.RunLeaves{}); err != nil {
				t.Fatal(err)
			}
			got, err := st.Runs(ctx, "pull", 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("runs: %v %v", got, err)
			}
			r := got[0]
			if r.ID != run.ID || r.Result != tc.want || r.Message != tc.message || r.Counters["bitrix_requests"] != 3 || r.EndedAt.IsZero() {
				t.Errorf("recorded %+v, want %s %q", r, tc.want, tc.message)
			}
		})
	}
}

// TestClassify: the clients' own classes are the run's, configuration
// first; the exit-code ladder, the engines and the alerts read these.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want runs.Class
	}{
		{nil, runs.ClassNone},
		{errors.New("disk full"), runs.ClassNone},
		{fmt.Errorf("load: %w", config.ErrInvalid), runs.ClassConfig},
		{fmt.Errorf("x: %w", bitrix.ErrAuth), runs.ClassConfig},
		{&bitrix.APIError{Code: bitrix.CodeMethodNotFound, HTTPStatus: 404}, runs.ClassConfig},
		{&bitrix.APIError{Code: "INSUFFICIENT_SCOPE", HTTPStatus: 401}, runs.ClassConfig},
		{&bitrix.APIError{Code: bitrix.CodeOverloadLimit, HTTPStatus: 503}, runs.ClassThrottled},
		{&bitrix.APIError{Code: bitrix.CodeQueryLimitExceeded, HTTPStatus: 503}, runs.ClassTransient},
		{&bitrix.APIError{Code: bitrix.CodeOperationTimeLimit, HTTPStatus: 429}, runs.ClassTransient},
		{&bitrix.APIError{Code: "ERROR_CORE", HTTPStatus: 500}, runs.ClassTransient},
		{&bitrix.APIError{Code: "", Description: "Not found"}, runs.ClassPermanent},
		{fmt.Errorf("x: %w", bitrix.ErrTimeout), runs.ClassTransient},
		{fmt.Errorf("x: %w", retailcrm.ErrAuth), runs.ClassConfig},
		{fmt.Errorf("x: %w", retailcrm.ErrConfig), runs.ClassConfig},
		{&retailcrm.APIError{HTTPStatus: 403, Msg: "Access denied."}, runs.ClassConfig},
		// An answer that reads both ways is configuration: every order of
		// the account would fail alike.
		{&retailcrm.APIError{HTTPStatus: 404, Msg: "Account does not exist."}, runs.ClassConfig},
		{&retailcrm.APIError{HTTPStatus: 404, Msg: "Not found"}, runs.ClassPermanent},
		{&retailcrm.APIError{HTTPStatus: 400, Msg: "Validation error"}, runs.ClassPermanent},
		{&retailcrm.APIError{HTTPStatus: 503}, runs.ClassThrottled},
		{&retailcrm.APIError{HTTPStatus: 502}, runs.ClassTransient},
		{fmt.Errorf("x: %w", retailcrm.ErrTransport), runs.ClassTransient},
		{fmt.Errorf("x: %w", context.Canceled), runs.ClassInterrupted},
	} {
		if got := runs.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestStopped: a run stops once its Stop channel is closed; an open one
// and a nil one (no Stop given) never stop it.
func TestStopped(t *testing.T) {
	open, shut := make(chan struct{}), make(chan struct{})
	close(shut)
	for _, tc := range []struct {
		name string
		ch   chan struct{}
		want bool
	}{{"nil", nil, false}, {"open", open, false}, {"closed", shut, true}} {
		if got := runs.Stopped(tc.ch); got != tc.want {
			t.Errorf("%s: Stopped = %v, want %v", tc.name, got, tc.want)
		}
	}
}
