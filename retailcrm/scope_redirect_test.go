package retailcrm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// A key without a scope gets 403 "Access denied." from every endpoint that
// needs it; the client's error names that scope and is an auth error.
func TestAccessDeniedNamesTheScope(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		scope string
		call  func(c *retailcrm.Client) error
	}{
		{"customer_read", func(c *retailcrm.Client) error {
			_, err := c.CustomersHistory(ctx, retailcrm.HistoryFilter{})
			return err
		}},
		{"order_read", func(c *retailcrm.Client) error {
			_, err := c.OrdersHistory(ctx, retailcrm.HistoryFilter{})
			return err
		}},
		{"order_read", func(c *retailcrm.Client) error {
			_, err := c.Orders(ctx, retailcrm.OrdersFilter{})
			return err
		}},
		{"order_write", func(c *retailcrm.Client) error {
			_, err := c.EditOrder(ctx, 1, "", retailcrm.OrderPatch{Status: "complete"})
			return err
		}},
		{"reference_read", func(c *retailcrm.Client) error {
			_, err := c.Statuses(ctx)
			return err
		}},
	}
	all := []string{"order_read", "order_write", "customer_read", "reference_read"}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			var scopes []string
			for _, s := range all {
				if s != tt.scope {
					scopes = append(scopes, s)
				}
			}
			fake, c := newFake(t, retailcrmtest.Options{Scopes: scopes})
			fake.CreateOrder(retailcrm.Order{})
			creds, err := c.Credentials(ctx)
			if err != nil || creds.HasScope(tt.scope) || len(creds.Scopes) != len(scopes) {
				t.Fatalf("credentials %+v, %v", creds, err)
			}
			err = tt.call(c)
			apiErr := assertAPIError(t, err, http.StatusForbidden, "Access denied.",
				[]error{retailcrm.ErrAuth, retailcrm.ErrAccessDenied}, []error{retailcrm.ErrRateLimited, retailcrm.ErrNotFound})
			if apiErr.Scope != tt.scope || !strings.Contains(err.Error(), "scope "+tt.scope) {
				t.Errorf("error %q (scope %q) does not name %s", err, apiErr.Scope, tt.scope)
			}
			if fake.TotalRequests() != 2 {
				t.Errorf("%d requests: a refusal is not retried", fake.TotalRequests())
			}
		})
	}
	// A wrong key is an auth error too, but names no scope.
	fake := retailcrmtest.New(t, retailcrmtest.Options{})
	c, err := retailcrm.New(fake.URL(), "not-the-key", retailcrm.WithRate(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CustomersHistory(ctx, retailcrm.HistoryFilter{})
	if !errors.Is(err, retailcrm.ErrAuth) || errors.Is(err, retailcrm.ErrAccessDenied) || strings.Contains(err.Error(), "scope") {
		t.Errorf("wrong key: %v", err)
	}
}

func TestEndpointScope(t *testing.T) {
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/api/v5/orders/history", "order_read"},
		{"GET", "/api/v5/orders", "order_read"},
		{"GET", "/api/v5/orders/12", "order_read"},
		{"GET", "/api/v5/orders/statuses", "order_read"},
		{"POST", "/api/v5/orders/12/edit", "order_write"},
		{"GET", "/api/v5/customers/history", "customer_read"},
		{"GET", "/api/v5/reference/statuses", "reference_read"},
		{"GET", "/api/v5/settings", ""},
		{"GET", "/api/credentials", ""},
	} {
		if got := retailcrm.EndpointScope(tt.method, tt.path); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// seen records the requests a server received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (s *seen) add(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r.Clone(context.Background()))
	s.body = append(s.body, string(b))
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// A redirect to another host (or port) is never followed: the key stays
// home, and the error is a configuration error naming the new address
// without the key.
func TestRedirectToAnotherHostKeepsTheKey(t *testing.T) {
	ctx := context.Background()
	other := &seen{}
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.add(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"id":1,"order":{"id":1}}`)
	}))
	defer elsewhere.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path+"?apiKey=leak-"+r.Header.Get("X-API-KEY"), status)
		}))
		c, err := retailcrm.New(front.URL, "secret-key-123456", retailcrm.WithRate(0), retailcrm.WithRetry(fastRetry))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.EditOrder(ctx, 1, "shop", retailcrm.OrderPatch{Status: "complete"})
		if !errors.Is(err, retailcrm.ErrConfig) {
			t.Errorf("%d: err = %v, want ErrConfig", status, err)
		}
		u, _ := url.Parse(elsewhere.URL)
		if err != nil && (!strings.Contains(err.Error(), u.Host+"/api/v5/orders/1/edit") || strings.Contains(err.Error(), "secret-key")) {
			t.Errorf("%d: error %q should name the new address and no secret", status, err)
		}
		_, err = c.Statuses(ctx)
		if !errors.Is(err, retailcrm.ErrConfig) {
			t.Errorf("%d: GET err = %v, want ErrConfig", status, err)
		}
		front.Close()
	}
	if n := other.count(); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}
}

// https → http on the same host is refused: the key would travel in clear.
func TestRedirectToPlainHTTPRefused(t *testing.T) {
	var tlsURL string
	hits := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, strings.Replace(tlsURL, "https://", "http://", 1)+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer srv.Close()
	tlsURL = srv.URL
	c, err := retailcrm.New(srv.URL, "secret-key-123456", retailcrm.WithRate(0), retailcrm.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Statuses(context.Background())
	if !errors.Is(err, retailcrm.ErrConfig) || !strings.Contains(err.Error(), "plain http") || hits != 1 {
		t.Errorf("err = %v after %d requests", err, hits)
	}
}

// A redirect within the host (an account moved under another path) is
// followed once: an edit arrives as a POST with its body and applies.
func TestSameHostRedirectResendsThePOST(t *testing.T) {
	ctx := context.Background()
	fake := retailcrmtest.New(t, retailcrmtest.Options{})
	o := fake.CreateOrder(retailcrm.Order{})
	target, _ := url.Parse(fake.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	redirects := 0
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/old"); ok {
			redirects++
			loc := rest
			if r.URL.RawQuery != "" {
				loc += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, loc, http.StatusFound)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	c, err := retailcrm.New(front.URL+"/old", fake.APIKey(), retailcrm.WithRate(0), retailcrm.WithLocation(fake.Location()))
	if err != nil {
		t.Fatal(err)
	}
	comment := "call back"
	if _, err := c.EditOrder(ctx, o.ID, o.Site, retailcrm.OrderPatch{Status: "complete", ManagerComment: &comment}); err != nil {
		t.Fatal(err)
	}
	got, _ := fake.Order(o.ID)
	if got.Status != "complete" || got.ManagerComment != comment {
		t.Errorf("order after edit: %s %q", got.Status, got.ManagerComment)
	}
	log := fake.RequestLog()
	if len(log) != 1 || log[0].Method != http.MethodPost || log[0].Form.Get("by") != "id" ||
		!strings.Contains(log[0].Form.Get("order"), `"status":"complete"`) || log[0].Header.Get("X-API-KEY") != fake.APIKey() {
		t.Errorf("requests at the fake: %+v", log)
	}
	// Reads follow the same way, with their query.
	page, err := c.Orders(ctx, retailcrm.OrdersFilter{IDs: []int64{o.ID}})
	if err != nil || len(page.Orders) != 1 {
		t.Errorf("orders after redirect: %+v, %v", page, err)
	}
	if redirects != 2 {
		t.Errorf("%d redirects", redirects)
	}

	// A second redirect in a row is not followed.
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer loop.Close()
	c, _ = retailcrm.New(loop.URL, "secret-key-123456", retailcrm.WithRate(0))
	if _, err := c.Statuses(ctx); !errors.Is(err, retailcrm.ErrConfig) || !strings.Contains(err.Error(), "second time") {
		t.Errorf("redirect loop: %v", err)
	}
}

// A 303 after a POST means "done, look there": the edit is not sent again.
func TestSeeOtherAfterEditIsNotResent(t *testing.T) {
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts++
		http.Redirect(w, r, "/elsewhere", http.StatusSeeOther)
	}))
	defer srv.Close()
	c, _ := retailcrm.New(srv.URL, "secret-key-123456", retailcrm.WithRate(0))
	_, err := c.EditOrder(context.Background(), 1, "", retailcrm.OrderPatch{Status: "x"})
	if !errors.Is(err, retailcrm.ErrConfig) || posts != 1 {
		t.Errorf("err = %v after %d posts", err, posts)
	}
}
