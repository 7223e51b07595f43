package bitrix_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// pair is a client and a fake portal sharing a virtual clock.
type pair struct {
	c     *bitrix.Client
	srv   *bitrixtest.Server
	clock *bitrixtest.Clock
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tb is what newPair needs; *testing.T, *testing.B and *rapid.T have it.
type tb interface {
	Fatal(args ...any)
	Cleanup(func())
}

func newPair(t tb, sopts bitrixtest.Options, copts ...bitrix.Option) *pair {
	clock := bitrixtest.NewClock(time.Time{})
	if sopts.Now == nil {
		sopts.Now = clock.Now
	}
	srv := bitrixtest.New(t, sopts)
	logs := &syncBuffer{}
	base := []bitrix.Option{
		bitrix.WithClock(clock),
		bitrix.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bitrix.WithRetry(bitrix.RetryPolicy{InitialDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}),
		bitrix.WithTimeout(5 * time.Second),
	}
	c, err := bitrix.New(srv.WebhookURL(), append(base, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &pair{c: c, srv: srv, clock: clock, logs: logs}
}

// parallelT is what parallelPair needs: a *testing.T.
type parallelT interface {
	tb
	Parallel()
}

// parallelPair is the start of most tests here: run in parallel with the
// others, against a fake with the default options.
func parallelPair(t parallelT) (context.Context, *pair) {
	t.Parallel()
	return context.Background(), newPair(t, bitrixtest.Options{})
}

func newTextLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
