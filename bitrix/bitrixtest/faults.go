package bitrixtest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/internal/clock"
)

// FaultKind is a kind of injected failure.
type FaultKind int

// Fault kinds. "Before" kinds answer without running the method; the others
// run it and then spoil the answer, so a write did happen.
const (
	FaultQueryLimit         FaultKind = iota + 1 // 503 QUERY_LIMIT_EXCEEDED (before)
	FaultOverload                                // 503 OVERLOAD_LIMIT (before)
	FaultOperationTimeLimit                      // 429 OPERATION_TIME_LIMIT (before)
	FaultHTML502                                 // 502 nginx HTML page (before)
	FaultInternalError                           // 500 INTERNAL_SERVER_ERROR JSON (before)
	FaultTruncated                               // runs, then sends half the JSON
	FaultSlow                                    // runs, then waits Delay before answering
	FaultDrop                                    // runs, then closes the connection without an answer
	FaultHTML200                                 // runs, then answers 200 with an HTML page
)

func (k FaultKind) String() string {
	return map[FaultKind]string{FaultQueryLimit: "query-limit", FaultOverload: "overload",
		FaultOperationTimeLimit: "operation-time-limit", FaultHTML502: "html-502", FaultInternalError: "internal-error",
		FaultTruncated: "truncated", FaultSlow: "slow", FaultDrop: "drop", FaultHTML200: "html-200"}[k]
}

func (k FaultKind) before() bool { return k <= FaultInternalError }

const html502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func (k FaultKind) write(w http.ResponseWriter) {
	switch k {
	case FaultQueryLimit:
		writeJSON(w, 503, map[string]any{"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}, nil)
	case FaultOverload:
		writeJSON(w, 503, map[string]any{"error": "OVERLOAD_LIMIT", "error_description": "REST API is blocked due to overload."}, nil)
	case FaultOperationTimeLimit:
		writeJSON(w, 429, map[string]any{"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}, nil)
	case FaultHTML502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = w.Write([]byte(html502))
	case FaultInternalError:
		writeJSON(w, 500, map[string]any{"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}, nil)
	}
}

// Fault is one injection rule. Method "" matches every method (a batch is
// method "batch"). Next > 0 fires on the next Next matching requests;
// otherwise Probability (0..1) decides per request with the seeded source.
type Fault struct {
	Kind        FaultKind
	Method      string
	Next        int
	Probability float64
	Delay       time.Duration // FaultSlow
}

// AddFault installs a rule; rules are checked in order, the first that fires wins.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Method = strings.ToLower(f.Method)
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) pickFault(method string) *Fault {
	for _, f := range s.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		if f.Next > 0 {
			f.Next--
			return f
		}
		if f.Probability > 0 && s.rng.Float64() < f.Probability {
			return f
		}
	}
	return nil
}

// after sends a spoiled answer for a method that ran.
func (f *Fault) after(ctx context.Context, w http.ResponseWriter, status int, out map[string]any) {
	b, _ := json.Marshal(out)
	switch f.Kind {
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b[:len(b)/2])
	case FaultSlow:
		if clock.Sleep(ctx, f.Delay) != nil {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		w.WriteHeader(500)
	case FaultHTML200:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Portal is temporarily unavailable</body></html>"))
	}
}
