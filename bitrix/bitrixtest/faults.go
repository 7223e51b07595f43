package bitrixtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/internal/clock"
	"github.com/crmsync/crmsync/internal/fakefault"
)

// FaultKind is a kind of injected failure.
type FaultKind int

// Fault kinds. "Before" kinds answer without running the method; the others
// run it and then spoil the answer, so a write did happen.
const (
	FaultRateLimit          FaultKind = iota + 1 // 503 QUERY_LIMIT_EXCEEDED (before)
	FaultOverload                                // 503 OVERLOAD_LIMIT (before)
	FaultOperationTimeLimit                      // 429 OPERATION_TIME_LIMIT (before)
	FaultServerError                             // nginx HTML page, Status (default 502) (before)
	FaultInternalError                           // 500 INTERNAL_SERVER_ERROR JSON (before)
	FaultTruncated                               // runs, then sends half the JSON
	FaultSlow                                    // runs, then waits Delay before answering
	FaultDrop                                    // runs, then closes the connection without an answer
	FaultHTML200                                 // runs, then answers 200 with an HTML page
)

func (k FaultKind) String() string {
	return map[FaultKind]string{FaultRateLimit: "rate-limit", FaultOverload: "overload",
		FaultOperationTimeLimit: "operation-time-limit", FaultServerError: "server-error", FaultInternalError: "internal-error",
		FaultTruncated: "truncated", FaultSlow: "slow", FaultDrop: "drop", FaultHTML200: "html-200"}[k]
}

func (k FaultKind) before() bool { return k <= FaultInternalError }

const nginxPage = "<html>\r\n<head><title>%[1]d %[2]s</title></head>\r\n<body>\r\n<center><h1>%[1]d %[2]s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func (f *Fault) write(w http.ResponseWriter) {
	switch f.Kind {
	case FaultRateLimit:
		writeJSON(w, 503, map[string]any{"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}, nil)
	case FaultOverload:
		writeJSON(w, 503, map[string]any{"error": "OVERLOAD_LIMIT", "error_description": "REST API is blocked due to overload."}, nil)
	case FaultOperationTimeLimit:
		writeJSON(w, 429, map[string]any{"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}, nil)
	case FaultServerError:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = fmt.Fprintf(w, nginxPage, f.Status, http.StatusText(f.Status))
	case FaultInternalError:
		writeJSON(w, 500, map[string]any{"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}, nil)
	}
}

// Fault is one injection rule. It applies to the requests of Method (the
// REST method; a batch is method "batch"; "" matches every method): to the
// next Count of them, or, when Count is 0, to each with Probability (0..1,
// drawn from the seeded source). With both zero it applies to the next one.
type Fault struct {
	Kind        FaultKind
	Method      string
	Count       int
	Probability float64
	// Status is the code of FaultServerError (default 502).
	Status int
	// Delay is the wait of FaultSlow (default 1 s).
	Delay time.Duration
}

// InjectFault adds a rule; rules are checked in order, the first that fires
// wins.
func (s *Server) InjectFault(f Fault) {
	fakefault.Defaults(&f.Count, f.Probability, &f.Status, &f.Delay)
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
		if fires, _ := fakefault.Fires(&f.Count, f.Probability, s.rng); fires {
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
		fakefault.Drop(w)
	case FaultHTML200:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Portal is temporarily unavailable</body></html>"))
	}
}
