package bitrixtest

import (
	"net/http"
	"net/http/httptest"
)

// OldWebhookURL returns the webhook URL of the portal's former address: a
// second listener that answers every request with 302 and the same path on
// the current address, as a renamed portal does. A client that follows the
// redirect the Go way loses the POST body.
func (s *Server) OldWebhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.old == nil {
		s.old = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.stats.Redirects++
			s.mu.Unlock()
			target := s.ts.URL + r.URL.Path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusFound)
		}))
	}
	return s.old.URL + "/rest/" + itoa(s.opts.UserID) + "/" + s.opts.Secret + "/"
}
