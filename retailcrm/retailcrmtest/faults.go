package retailcrmtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/crmsync/crmsync/internal/fakefault"
)

// FaultKind is a way the fake misbehaves.
type FaultKind int

// Fault kinds.
const (
	// FaultRateLimit answers 503 with a JSON error, as RetailCRM does over
	// its limit; the request is not run.
	FaultRateLimit FaultKind = iota + 1
	// FaultServerError answers Status (default 502) with an nginx HTML page;
	// the request is not run.
	FaultServerError
	// FaultTruncated runs the request and sends only the first half of the
	// JSON answer with status 200.
	FaultTruncated
	// FaultSlow waits Delay, then runs the request and answers normally (the
	// client may have timed out meanwhile; an edit still applies).
	FaultSlow
	// FaultHTML405 answers the nginx "405 Not Allowed" page a non-existent
	// account gives.
	FaultHTML405
	// FaultDrop closes the connection without an answer; the request is not
	// run.
	FaultDrop
)

func (k FaultKind) String() string {
	switch k {
	case FaultRateLimit:
		return "rate-limit"
	case FaultServerError:
		return "server-error"
	case FaultTruncated:
		return "truncated"
	case FaultSlow:
		return "slow"
	case FaultHTML405:
		return "html-405"
	case FaultDrop:
		return "drop"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault describes injected misbehaviour. It applies to the requests that
// match Path and Method: to the next Count of them, or, when Count is 0,
// to each with Probability (drawn from the seeded generator). With both
// zero it applies to the next one.
type Fault struct {
	Kind FaultKind
	// Path matches r.URL.Path exactly, or a counter key such as
	// "/api/v5/orders/{id}/edit"; "" matches every path.
	Path string
	// Method matches the HTTP method; "" matches every method.
	Method      string
	Count       int
	Probability float64
	// Status is the code of FaultServerError (default 502).
	Status int
	// Delay is the wait of FaultSlow (default 1 s).
	Delay time.Duration
}

// InjectFault adds a fault; faults are tried in the order added and at most
// one applies to a request.
func (s *Server) InjectFault(f Fault) {
	fakefault.Defaults(&f.Count, f.Probability, &f.Status, &f.Delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// FaultsServed returns how many requests got a fault of kind k (the RPS
// limit counts as FaultRateLimit).
func (s *Server) FaultsServed(k FaultKind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[k]
}

func (s *Server) countFault(k FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served[k]++
}

// pickFault returns the fault for r, consuming one use of it.
func (s *Server) pickFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.Path != "" && f.Path != r.URL.Path && f.Path != counterKey(r.URL.Path) {
			continue
		}
		fires, spent := fakefault.Fires(&f.Count, f.Probability, s.rng)
		if !fires {
			continue
		}
		if spent {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		s.served[f.Kind]++
		cp := *f
		return &cp
	}
	return nil
}

const nginxPage = "<html>\r\n<head><title>%[1]d %[2]s</title></head>\r\n<body>\r\n<center><h1>%[1]d %[2]s</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"

func writeHTML(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	text := http.StatusText(status)
	if status == http.StatusMethodNotAllowed {
		text = "Not Allowed"
	}
	_, _ = fmt.Fprintf(w, nginxPage, status, text)
}

func writeRateLimited(w http.ResponseWriter) {
	writeError(w, http.StatusServiceUnavailable, "Service temporary unavailable", nil)
}

// applyFault serves f; it returns true when the normal answer should
// follow (after a delay).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	switch f.Kind {
	case FaultRateLimit:
		writeRateLimited(w)
	case FaultServerError:
		writeHTML(w, f.Status)
	case FaultHTML405:
		writeHTML(w, http.StatusMethodNotAllowed)
	case FaultDrop:
		fakefault.Drop(w)
	case FaultSlow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			// The client gave up; the request still runs, as on a real
			// server that does not notice the disconnect.
			s.serveAPI(httptest.NewRecorder(), r)
		case <-s.closed:
		}
	case FaultTruncated:
		rec := httptest.NewRecorder()
		s.serveAPI(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
	default:
		return true
	}
	return false
}
