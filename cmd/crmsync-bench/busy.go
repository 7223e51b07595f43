package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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

// timedProxy forwards to one fake, timing every request on a shared clock.
func timedProxy(clock *busyClock, target string) (*httptest.Server, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target %q: %w", target, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	rp.Transport = tr
	// crmsync's clients may drop a connection before reading an answer to
	// its end; the proxy would log each as an error that is none.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clock.enter()
		defer clock.leave()
		rp.ServeHTTP(w, r)
	})), nil
}
