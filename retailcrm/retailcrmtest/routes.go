package retailcrmtest

import (
	"net/http"
	"strings"
)

const (
	ordersPrefix    = "/api/v5/orders/"
	usersPrefix     = "/api/v5/users/"
	corporatePrefix = "/api/v5/customers-corporate/"
)

// orderPath splits /api/v5/orders/{id}[/edit] into id and tail.
func orderPath(path string) (id, tail string, ok bool) {
	rest, ok := strings.CutPrefix(path, ordersPrefix)
	if !ok || rest == "" {
		return "", "", false
	}
	id, tail, _ = strings.Cut(rest, "/")
	if tail != "" {
		tail = "/" + tail
	}
	return id, tail, true
}

type handler = func(w http.ResponseWriter, r *http.Request, key string)

type route struct {
	method  string
	handler handler
}

// entityRoute is the GET route of one entity, named by the path segment
// seg.
func entityRoute(h func(w http.ResponseWriter, r *http.Request, seg string), seg string) route {
	return route{http.MethodGet, func(w http.ResponseWriter, r *http.Request, _ string) { h(w, r, seg) }}
}

// listHandler is the handler of a fixed path (every one is read with GET),
// or nil.
func (s *Server) listHandler(path string) handler {
	switch path {
	case "/api/credentials":
		return s.handleCredentials
	case "/api/v5/settings":
		return s.handleSettings
	case "/api/v5/orders":
		return s.handleOrders
	case "/api/v5/orders/history":
		return s.handleOrdersHistory
	case "/api/v5/customers/history":
		return s.handleCustomersHistory
	case "/api/v5/orders/statuses":
		return s.handleOrderStatuses
	case "/api/v5/users":
		return s.handleUsers
	case "/api/v5/customers":
		return s.handleCustomers
	case "/api/v5/customers-corporate":
		return s.handleCorporates
	case "/api/v5/customers-corporate/history":
		return s.handleCorporateHistory
	}
	return nil
}

// resolve finds the handler of a path; ok is false for unknown paths.
func (s *Server) resolve(path string) (route, bool) {
	if h := s.listHandler(path); h != nil {
		return route{http.MethodGet, h}, true
	}
	if id, ok := strings.CutPrefix(path, usersPrefix); ok && id != "" && !strings.Contains(id, "/") {
		return entityRoute(s.handleUserGet, id), true
	}
	if rest, ok := strings.CutPrefix(path, corporatePrefix); ok {
		if id, found := strings.CutSuffix(rest, "/companies"); found && id != "" && !strings.Contains(id, "/") {
			return entityRoute(s.handleCorporateCompanies, id), true
		}
	}
	if ref, ok := strings.CutPrefix(path, "/api/v5/reference/"); ok {
		if _, known := references[ref]; known {
			return entityRoute(s.handleReference, ref), true
		}
		return route{}, false
	}
	if id, tail, ok := orderPath(path); ok && id != "" {
		switch tail {
		case "":
			return entityRoute(s.handleOrderGet, id), true
		case "/edit":
			return route{http.MethodPost, func(w http.ResponseWriter, r *http.Request, key string) {
				s.handleOrderEdit(w, r, id, key)
			}}, true
		}
	}
	return route{}, false
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	if s.limiter != nil && !s.limiter.AllowN(s.opts.Now(), 1) {
		s.countFault(FaultRateLimit)
		writeRateLimited(w)
		return
	}
	if f := s.pickFault(r); f != nil {
		if !s.applyFault(w, r, f) {
			return
		}
	}
	s.serveAPI(w, r)
}

// serveAPI is the fault-free behaviour.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt, ok := s.resolve(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "API method not found", nil)
		return
	}
	if r.Method != rt.method {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", nil)
		return
	}
	key, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	rt.handler(w, r, key)
}

// authenticate accepts the key from the header or, like the real service,
// from an apiKey parameter (tests check the client never uses the latter).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.Header.Get("X-API-KEY")
	if key == "" {
		key = r.Form.Get("apiKey")
	}
	if key == "" {
		writeError(w, http.StatusForbidden, `"apiKey" is missing.`, nil)
		return "", false
	}
	if key == s.opts.APIKey {
		return key, true
	}
	for _, k := range s.opts.ExtraKeys {
		if key == k {
			return key, true
		}
	}
	writeError(w, http.StatusForbidden, `Wrong "apiKey" value.`, nil)
	return "", false
}
