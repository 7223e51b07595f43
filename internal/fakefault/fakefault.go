// Package fakefault is what the two fake servers (bitrix/bitrixtest,
// retailcrm/retailcrmtest) share to inject faults: when a rule applies and
// how a connection is dropped. Each fake keeps its own kinds and answers
// (the services fail differently) and its own lock: these functions touch
// only what they are given.
package fakefault

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// Defaults fills in what a rule left zero, as both fakes document it: with
// neither a count nor a probability the rule applies to the next request
// (count 1); a server error answers 502; a slow answer waits one second.
// A kind without a status or a delay ignores them.
func Defaults(count *int, probability float64, status *int, delay *time.Duration) {
	if *count == 0 && probability == 0 {
		*count = 1
	}
	if *status == 0 {
		*status = http.StatusBadGateway
	}
	if *delay == 0 {
		*delay = time.Second
	}
}

// Fires reports whether a rule that matched a request applies to it. A rule
// with uses left (count) applies and uses one up (spent: that was its last);
// one without applies with its probability, drawn from rng only then, so a
// seeded fake draws the same numbers whatever counted rules it holds.
func Fires(count *int, probability float64, rng *rand.Rand) (fires, spent bool) {
	if *count > 0 {
		*count--
		return true, *count == 0
	}
	return probability > 0 && rng.Float64() < probability, false
}

// Drop closes the request's connection without an answer. Where the
// connection cannot be taken over (HTTP/2, a recorder) it aborts the
// handler, which net/http also answers with a closed stream.
func Drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
