package main

import (
	"net/http"
	"sync"
	"time"
)

// busyClock measures how long at least one request to the fakes was in
// flight. The fakes are test servers sharing the machine's cores with
// crmsync, so part of its wall time is spent waiting for them; wall time
// minus this is the time crmsync itself took.
type busyClock struct {
	mu       sync.Mutex
	inflight int
	since    time.Time
	busy     time.Duration
}

func (c *busyClock) enter() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == 0 {
		c.since = time.Now()
	}
	c.inflight++
}

func (c *busyClock) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	if c.inflight == 0 {
		c.busy += time.Since(c.since)
	}
}

// total is the busy time so far.
func (c *busyClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// reset starts the count again.
func (c *busyClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = 0
}

// timed wraps a fake's handler: every request is in flight from its
// handler's start to its end.
func (c *busyClock) timed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.enter()
		defer c.leave()
		h.ServeHTTP(w, r)
	})
}
