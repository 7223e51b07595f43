package main

import (
	"context"
	"os"
	"os/signal"
	stdsync "sync"
	"syscall"
)

// signals turns the first SIGINT/SIGTERM into a cancelled context, so the run
// stops cleanly (the current page is committed or abandoned, never half
// written), and a second one into an immediate exit with 130.
type signals struct {
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal
	done   chan struct{}
	exit   func(int)

	mu       stdsync.Mutex
	received os.Signal
}

func newSignals() *signals {
	s := newSignalHandler(context.Background(), os.Exit)
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	return s
}

// newSignalHandler is the testable core: signals arrive on s.ch and exit is
// called on the second one.
func newSignalHandler(parent context.Context, exit func(int)) *signals {
	ctx, cancel := context.WithCancel(parent)
	s := &signals{ctx: ctx, cancel: cancel, ch: make(chan os.Signal, 2), done: make(chan struct{}), exit: exit}
	go s.loop()
	return s
}

func (s *signals) loop() {
	for {
		select {
		case <-s.done:
			return
		case sig := <-s.ch:
			s.mu.Lock()
			first := s.received == nil
			if first {
				s.received = sig
			}
			s.mu.Unlock()
			if !first {
				os.Stderr.WriteString("crmsync: second signal, exiting at once\n")
				s.exit(exitInterrupted)
				return
			}
			s.cancel()
		}
	}
}

// interrupted reports whether a signal asked the run to stop.
func (s *signals) interrupted() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received != nil
}

func (s *signals) stop() {
	signal.Stop(s.ch)
	close(s.done)
	s.cancel()
}
