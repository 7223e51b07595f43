package bitrix_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// Reads are retried after server and transport faults; writes are not
// replayed and report ErrOutcomeUnknown. The timeout leaves a fault-free
// answer a second even on a busy machine (a spurious timeout would add a
// request); a slow answer waits far longer, but the fake stops waiting as
// soon as the client hangs up.
func TestFaultsReadRetriedWriteUnknown(t *testing.T) {
	t.Parallel()
	kinds := []bitrixtest.FaultKind{bitrixtest.FaultServerError, bitrixtest.FaultInternalError, bitrixtest.FaultTruncated,
		bitrixtest.FaultDrop, bitrixtest.FaultHTML200, bitrixtest.FaultSlow}
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, bitrixtest.Options{}, bitrix.WithTimeout(time.Second))
			ctx := context.Background()
			f := bitrixtest.Fault{Kind: kind, Count: 2, Delay: time.Minute}
			f.Method = "crm.deal.list"
			p.srv.InjectFault(f)
			if _, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{}); err != nil {
				t.Fatalf("read not retried: %v", err)
			}
			if n := p.srv.Stats().PerMethod["crm.deal.list"]; n != 3 {
				t.Fatalf("read sent %d times, want 3", n)
			}
			f.Method, f.Count = "crm.deal.add", 1
			p.srv.InjectFault(f)
			_, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "x"}, nil)
			if !errors.Is(err, bitrix.ErrOutcomeUnknown) {
				t.Fatalf("write: %v", err)
			}
			var ou *bitrix.OutcomeUnknownError
			if !errors.As(err, &ou) || ou.Method != "crm.deal.add" {
				t.Fatalf("not typed: %#v", err)
			}
			if kind == bitrixtest.FaultSlow && (!errors.Is(err, bitrix.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)) {
				// The client's own timeout must not read as the run's deadline.
				t.Fatalf("slow answer: %v, want ErrTimeout and not context.DeadlineExceeded", err)
			}
			if n := p.srv.Stats().PerMethod["crm.deal.add"]; n != 1 {
				t.Fatalf("write sent %d times", n)
			}
			if strings.Contains(err.Error(), p.srv.Secret()) {
				t.Fatalf("secret leaked: %v", err)
			}
		})
	}
}

func TestReadRetriesAreBounded(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultServerError, Probability: 1})
	_, err := p.c.StatusList(context.Background(), nil)
	if !errors.Is(err, bitrix.ErrServer) || !errors.Is(err, bitrix.ErrBadResponse) {
		t.Fatalf("err %v", err)
	}
	if n := p.srv.Stats().Requests; n != 6 {
		t.Fatalf("%d requests, want 6", n)
	}
}

// Every fault kind at random, seeded: the client returns typed errors and
// never panics.
func TestRandomFaultsNoPanic(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{Seed: 42}, bitrix.WithTimeout(100*time.Millisecond),
		bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	for k := bitrixtest.FaultRateLimit; k <= bitrixtest.FaultHTML200; k++ {
		p.srv.InjectFault(bitrixtest.Fault{Kind: k, Probability: 0.04, Delay: 300 * time.Millisecond})
	}
	ctx := context.Background()
	known := []error{bitrix.ErrQueryLimit, bitrix.ErrOverload, bitrix.ErrOperationTimeLimit, bitrix.ErrOutcomeUnknown,
		bitrix.ErrServer, bitrix.ErrBadResponse, bitrix.ErrTransport, bitrix.ErrNotFound}
	failures := 0
	for i := range 80 {
		var err error
		switch i % 4 {
		case 0:
			_, err = p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "x"}, nil)
		case 1:
			_, err = p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
		case 2:
			b := bitrix.NewBatch(true)
			mustAdd(t, b, "a", bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{"NAME": "n"}, nil))
			mustAdd(t, b, "b", bitrix.GetCmd(bitrix.EntityContact, 0))
			cmd, _ := b.Cmd("b")
			cmd.Params["id"] = bitrix.ResultRef("a")
			_, err = p.c.Batch(ctx, b)
		case 3:
			_, err = p.c.FindByComm(ctx, bitrix.CommPhone, []string{"+1 555 0100"}, "CONTACT")
		}
		if err == nil {
			continue
		}
		failures++
		typed := false
		for _, k := range known {
			typed = typed || errors.Is(err, k)
		}
		if !typed {
			t.Errorf("untyped error: %v", err)
		}
		if strings.Contains(err.Error(), p.srv.Secret()) {
			t.Fatalf("secret in %v", err)
		}
	}
	if p.srv.Stats().FaultsInjected == 0 {
		t.Fatal("no fault fired")
	}
	t.Logf("80 calls, %d faults injected, %d calls failed", p.srv.Stats().FaultsInjected, failures)
}

func TestContextCancelStopsWaiting(t *testing.T) {
	t.Parallel()
	srv := bitrixtest.New(t, bitrixtest.Options{})
	c, err := bitrix.New(srv.WebhookURL(), bitrix.WithRate(0.001, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scope(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Scope(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestWrongSecretIsAuthError(t *testing.T) {
	t.Parallel()
	srv := bitrixtest.New(t, bitrixtest.Options{})
	wrong := strings.Replace(srv.WebhookURL(), srv.Secret(), "wrongsecret99", 1)
	c, err := bitrix.New(wrong)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Scope(context.Background())
	var ae *bitrix.APIError
	if !errors.Is(err, bitrix.ErrAuth) || !errors.As(err, &ae) || ae.HTTPStatus != 401 || ae.Code != "INVALID_CREDENTIALS" {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "wrongsecret99") {
		t.Fatal("secret in error")
	}
}

// The secret never shows in errors or logs, whatever goes wrong.
func TestSecretNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{})
	secret := p.srv.Secret()
	ctx := context.Background()
	var errs []error
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultServerError, Method: "crm.deal.list", Count: 1})
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultRateLimit, Method: "crm.deal.list", Count: 1})
	_, err := p.c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
	errs = append(errs, err)
	p.srv.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultDrop, Method: "crm.deal.add", Count: 1})
	_, err = p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{}, nil)
	errs = append(errs, err)
	// A portal that is gone: *url.Error would print the full URL.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/rest/1/" + secret + "/"
	dead.Close()
	c, err := bitrix.New(deadURL, bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 2, InitialDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(ctx, bitrix.EntityDeal, bitrix.ListRequest{})
	if !errors.Is(err, bitrix.ErrTransport) {
		t.Fatalf("dead portal: %v", err)
	}
	errs = append(errs, err)
	_, err = c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{}, nil)
	errs = append(errs, err)
	var te *bitrix.TransportError
	if !errors.As(err, &te) || !te.NotSent {
		t.Fatalf("refused dial should be known as not sent: %v", err)
	}
	for _, e := range errs {
		if e != nil && strings.Contains(e.Error(), secret) {
			t.Fatalf("secret in error: %v", e)
		}
	}
	if logs := p.logs.String(); strings.Contains(logs, secret) || logs == "" {
		t.Fatalf("logs: %q", logs)
	}
	if u := p.c.PortalURL(); strings.Contains(u, secret) || !strings.Contains(u, "/rest/1/***") {
		t.Fatalf("portal url %s", u)
	}
}

// A renamed portal answers 302: the client re-POSTs to Location once and
// warns, instead of Go's lossy POST→GET.
func TestRedirectRePost(t *testing.T) {
	t.Parallel()
	srv := bitrixtest.New(t, bitrixtest.Options{})
	srv.SeedContact(map[string]any{"NAME": "A", "EMAIL": []string{"a@example.com"}})
	logs := &syncBuffer{}
	c, err := bitrix.New(srv.OldWebhookURL(), bitrix.WithLogger(newTextLogger(logs)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := c.FindByComm(ctx, bitrix.CommEmail, []string{"a@example.com"}, "CONTACT")
	if err != nil || len(m["CONTACT"]) != 1 {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := c.FindByComm(ctx, bitrix.CommEmail, []string{"a@example.com"}, "CONTACT"); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.Redirects != 1 || c.Stats().Redirects != 1 || st.PerMethod["crm.duplicate.findbycomm"] != 2 {
		t.Fatalf("server %+v client %+v", st, c.Stats())
	}
	l := logs.String()
	if !strings.Contains(l, "webhook_url") || strings.Contains(l, srv.Secret()) {
		t.Fatalf("log %q", l)
	}
}

func TestRedirectElsewhereRefused(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{"https://evil.example/rest/1/other/scope", "http://example.com/rest/1/topsecret1/scope", "/rest/2/topsecret1/scope"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusFound)
		}))
		c, err := bitrix.New(srv.URL + "/rest/1/topsecret1/")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Scope(context.Background())
		srv.Close()
		if !errors.Is(err, bitrix.ErrConfig) || strings.Contains(err.Error(), "topsecret1") {
			t.Fatalf("%s: %v", loc, err)
		}
	}
}
