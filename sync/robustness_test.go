package sync

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
)

// snapshot renders the portal's state keyed by ORIGIN_IDs, so portals
// with different entity ids compare equal when they hold the same data.
func snapshot(bx *bitrixtest.Server) string {
	contactOrigin := map[string]string{}
	var lines []string
	for _, c := range bx.Contacts() {
		id := strconv.FormatInt(c.ID, 10)
		contactOrigin[id] = c.Str("ORIGIN_ID")
		emails, phones := c.Values("EMAIL"), c.Values("PHONE")
		sort.Strings(emails)
		sort.Strings(phones)
		lines = append(lines, fmt.Sprintf("contact %s|%s|%s|%s|%v|%v", c.Str("ORIGIN_ID"), c.Str("NAME"), c.Str("LAST_NAME"),
			c.Str("ORIGINATOR_ID"), emails, phones))
	}
	comments := map[string][]string{}
	for _, c := range bx.Comments() {
		text := c.Comment
		if i := strings.Index(text, " (by"); i > 0 {
			text = text[:i]
		}
		comments[strconv.FormatInt(c.EntityID, 10)] = append(comments[strconv.FormatInt(c.EntityID, 10)], text)
	}
	for _, d := range bx.Deals() {
		id := strconv.FormatInt(d.ID, 10)
		lines = append(lines, fmt.Sprintf("deal %s|%s|%s|%s|%s|%s|contact %s|%q", d.Str("ORIGIN_ID"), d.Str("TITLE"),
			d.Str("STAGE_ID"), d.Str("OPPORTUNITY"), d.Str("CURRENCY_ID"), d.Str("SOURCE_DESCRIPTION"),
			contactOrigin[d.Str("CONTACT_ID")], comments[id]))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// script is a reproducible set of shop activity.
type script struct {
	customers int
	orders    []scriptOrder
}

type scriptOrder struct {
	customer int
	total    int
	statuses []string
	comment  string
	// twin, when > 0, makes the order's customer a new RetailCRM customer
	// sharing the e-mail of customer twin-1, with a phone of its own.
	twin int
}

func (s script) apply(t testing.TB, rc *retailcrmtest.Server) {
	custs := make([]*retailcrm.Customer, s.customers)
	for i := range custs {
		custs[i] = &retailcrm.Customer{FirstName: "Name" + strconv.Itoa(i), Email: fmt.Sprintf("c%d@example.com", i),
			Phones: []retailcrm.Phone{{Number: fmt.Sprintf("+7 916 %03d-00-%02d", i, i%100)}}}
	}
	var ids []int64
	for i, so := range s.orders {
		if so.twin > 0 {
			twin := &retailcrm.Customer{FirstName: "Twin" + strconv.Itoa(i), Email: fmt.Sprintf("C%d@Example.com", so.twin-1),
				Phones: []retailcrm.Phone{{Number: fmt.Sprintf("+7 917 %03d-11-22", i)}}}
			o := rc.CreateOrder(order(twin, strconv.Itoa(so.total)))
			ids = append(ids, o.ID)
			continue
		}
		c := custs[so.customer]
		o := rc.CreateOrder(order(c, strconv.Itoa(so.total)))
		if c.ID == 0 {
			custs[so.customer] = o.Customer
		}
		ids = append(ids, o.ID)
	}
	for i, so := range s.orders {
		for _, st := range so.statuses {
			if err := rc.UpdateOrder(ids[i], func(o *retailcrm.Order) { o.Status = st }); err != nil {
				t.Fatal(err)
			}
		}
		if so.comment != "" {
			if err := rc.UpdateOrder(ids[i], func(o *retailcrm.Order) { o.ManagerComment = so.comment }); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// referenceRun applies the script and pulls once, without faults: the env
// and the portal's final state that every other way of running the script
// must reach.
func referenceRun(t *testing.T, sc script) (*env, string) {
	t.Helper()
	ref := newEnv(t)
	sc.apply(t, ref.rc)
	ref.pull()
	return ref, snapshot(ref.bx)
}

// holds reports whether batch b holds a command of method, or any write
// when method is "".
func holds(b *bitrix.Batch, method string) bool {
	for _, k := range b.Keys() {
		cmd, _ := b.Cmd(k)
		if method == "" && !bitrix.IsReadMethod(cmd.Method) || method != "" && cmd.Method == method {
			return true
		}
	}
	return false
}

func fixedScript() script {
	s := script{customers: 6}
	for i := range 20 {
		so := scriptOrder{customer: i % 6, total: 100 + i}
		if i%3 == 0 {
			so.statuses = []string{"client-confirmed", "complete"}
		}
		if i%5 == 0 {
			so.statuses = append(so.statuses, "cancel-other")
			so.comment = "note " + strconv.Itoa(i)
		}
		s.orders = append(s.orders, so)
	}
	for i := range 3 {
		s.orders = append(s.orders, scriptOrder{twin: i + 1, total: 7, statuses: []string{"complete"}})
	}
	return s
}

// pagedHistory serves history in pages of the given sizes (cycling), to
// chunk the same history differently.
type pagedHistory struct {
	RetailCRM
	sizes []int
	n     int
}

func (p *pagedHistory) OrdersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.OrdersHistoryPage, error) {
	page, err := p.RetailCRM.OrdersHistory(ctx, f)
	if err != nil || len(p.sizes) == 0 {
		return page, err
	}
	size := p.sizes[p.n%len(p.sizes)]
	p.n++
	if size < len(page.History) {
		page.History = page.History[:size]
	}
	return page, nil
}

func TestAnyChunkingGivesTheSameFinalState(t *testing.T) {
	sc := fixedScript()
	ref, want := referenceRun(t, sc)
	if n := len(ref.bx.Contacts()); n != 6 {
		t.Fatalf("%d contacts for 6 e-mails", n)
	}
	if !strings.Contains(want, "+79170211122") {
		t.Fatalf("a twin's phone was not added:\n%s", want)
	}

	limitRapidChecks(20)
	rapid.Check(t, func(rt *rapid.T) {
		e := newEnv(t)
		sc.apply(t, e.rc)
		sizes := rapid.SliceOfN(rapid.IntRange(1, 100), 1, 8).Draw(rt, "page sizes")
		pauses := rapid.IntRange(0, 3).Draw(rt, "runs with max-items")
		for i := 0; i < pauses; i++ {
			e.pull(func(o *Options) {
				o.RetailCRM = &pagedHistory{RetailCRM: e.rcc, sizes: sizes}
				o.MaxItems = 1 + i*7
			})
		}
		e.pull(func(o *Options) { o.RetailCRM = &pagedHistory{RetailCRM: e.rcc, sizes: sizes} })
		if got := snapshot(e.bx); got != want {
			rt.Fatalf("final state differs with page sizes %v:\n%s\nwant\n%s", sizes, got, want)
		}
	})
}

// limitRapidChecks lowers rapid's default of 100 checks (each builds two
// fake servers and a database) unless -rapid.checks was given.
func limitRapidChecks(n int) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if f := flag.Lookup("rapid.checks"); f != nil && !set {
		_ = f.Value.Set(strconv.Itoa(n))
	}
}

// crashingBitrix sends the n-th write batch and then "crashes": the answer
// is lost and the run ends there.
type crashingBitrix struct {
	Bitrix
	after  int
	writes int
}

var errCrash = errors.New("simulated crash")

func (c *crashingBitrix) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	if !holds(b, "") {
		return c.Bitrix.Batch(ctx, b)
	}
	c.writes++
	if c.writes < c.after {
		return c.Bitrix.Batch(ctx, b)
	}
	if _, err := c.Bitrix.Batch(ctx, b); err != nil {
		return nil, err
	}
	return nil, errCrash
}

func TestCrashAfterAnyBitrixWriteLosesAndDuplicatesNothing(t *testing.T) {
	sc := fixedScript()
	_, want := referenceRun(t, sc)

	for after := 1; ; after++ {
		e := newEnv(t)
		sc.apply(t, e.rc)
		crash := &crashingBitrix{Bitrix: e.bxc, after: after}
		eng, st := e.engine(false, func(o *Options) { o.Bitrix = crash })
		_, err := eng.Pull(context.Background())
		st.Close()
		if err == nil {
			if after == 1 {
				t.Fatal("no write batch at all")
			}
			break // fewer write batches than after: every crash point was tried
		}
		if !errors.Is(err, errCrash) {
			t.Fatalf("crash after write batch %d: %v", after, err)
		}
		// A crash between the Bitrix24 write and the commit: the next run
		// finds what was written by ORIGIN_ID and finishes the job.
		e.pull()
		if got := snapshot(e.bx); got != want {
			t.Fatalf("crash after write batch %d: final state\n%s\nwant\n%s", after, got, want)
		}
		if _, w := e.pullWrites(); w != 0 {
			t.Errorf("crash after write batch %d: a third run wrote %d", after, w)
		}
	}
}

func TestFaultsReachTheFaultFreeState(t *testing.T) {
	sc := fixedScript()
	_, want := referenceRun(t, sc)

	for _, tc := range []struct {
		name string
		bx   []bitrixtest.Fault
		rc   []retailcrmtest.Fault
		// timeout, when set, is both clients' per-request timeout.
		timeout time.Duration
		// oneRun: the faults must be absorbed within the first run.
		oneRun bool
	}{
		{name: "503s", bx: []bitrixtest.Fault{{Kind: bitrixtest.FaultRateLimit, Probability: 0.3}},
			rc: []retailcrmtest.Fault{{Kind: retailcrmtest.FaultRateLimit, Probability: 0.3}}},
		{name: "html 5xx", bx: []bitrixtest.Fault{{Kind: bitrixtest.FaultServerError, Probability: 0.25}, {Kind: bitrixtest.FaultInternalError, Probability: 0.1}},
			rc: []retailcrmtest.Fault{{Kind: retailcrmtest.FaultServerError, Probability: 0.25}}},
		{name: "truncated json", bx: []bitrixtest.Fault{{Kind: bitrixtest.FaultTruncated, Probability: 0.25}, {Kind: bitrixtest.FaultHTML200, Probability: 0.1}},
			rc: []retailcrmtest.Fault{{Kind: retailcrmtest.FaultTruncated, Probability: 0.25}}},
		{name: "dropped connections", bx: []bitrixtest.Fault{{Kind: bitrixtest.FaultDrop, Probability: 0.25}},
			rc: []retailcrmtest.Fault{{Kind: retailcrmtest.FaultDrop, Probability: 0.2}}},
		// A Bitrix24 answer that comes after the timeout: the write ran.
		// The run resolves it by a lookup instead of ending. The timeout
		// leaves fault-free answers a second even on a busy machine; the
		// fakes stop a slow answer as soon as the client hangs up.
		{name: "slow answers past the timeout", bx: []bitrixtest.Fault{
			{Kind: bitrixtest.FaultSlow, Probability: 0.5, Delay: time.Minute}},
			rc: []retailcrmtest.Fault{{Kind: retailcrmtest.FaultSlow, Probability: 0.2, Delay: time.Minute}}, timeout: time.Second, oneRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.timeout > 0 {
				e.withTimeouts(tc.timeout)
			}
			sc.apply(t, e.rc)
			for _, f := range tc.bx {
				e.bx.InjectFault(f)
			}
			for _, f := range tc.rc {
				e.rc.InjectFault(f)
			}
			var err error
			for run := 0; run < 30; run++ {
				eng, st := e.engine(false)
				_, err = eng.Pull(context.Background())
				st.Close()
				if err == nil {
					break
				}
				t.Logf("run %d: %v", run, err)
				if tc.oneRun {
					t.Fatalf("run %d: %v", run, err)
				}
			}
			if err != nil {
				t.Fatalf("never finished: %v", err)
			}
			fired := e.bx.Stats().FaultsInjected
			for _, f := range tc.rc {
				fired += e.rc.FaultsServed(f.Kind)
			}
			if fired == 0 {
				t.Fatal("no fault fired: the case tests nothing")
			}
			e.bx.ClearFaults()
			e.rc.ClearFaults()
			e.pull()
			if got := snapshot(e.bx); got != want {
				t.Fatalf("final state\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestFiftyNewOrdersCostAtMostFiveBitrixRequests(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing contacts %v", existing), func(t *testing.T) {
			e := newEnv(t)
			for i := range 50 {
				email := fmt.Sprintf("buyer%d@example.com", i)
				if existing {
					e.bx.SeedContact(map[string]any{"NAME": "B", "EMAIL": []string{email}})
				}
				e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Buyer", Email: email,
					Phones: []retailcrm.Phone{{Number: fmt.Sprintf("+7 916 100-%02d-%02d", i, i)}}}, "10"))
			}
			before := e.bx.Stats().Requests
			res := e.pull()
			n := e.bx.Stats().Requests - before
			if n > 5 || res.Report.Summary.DealsCreated != 50 {
				t.Errorf("%d Bitrix24 requests for 50 new orders; summary %+v", n, res.Report.Summary)
			}
			t.Logf("%d requests", n)
		})
	}
}

// lostAnswers sends every batch but loses the answer of the first `lose`
// that hold a command of method (any write when method is ""): each
// command's outcome is unknown to the engine.
type lostAnswers struct {
	Bitrix
	method string
	lose   int
}

func (l *lostAnswers) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	res, err := l.Bitrix.Batch(ctx, b)
	if !holds(b, l.method) || l.lose == 0 || err != nil {
		return res, err
	}
	l.lose--
	lost := &bitrix.OutcomeUnknownError{Method: "batch", Err: errors.New("connection reset")}
	for _, cr := range res.Results {
		cr.Status, cr.Err, cr.Result = bitrix.Unknown, lost, nil
	}
	return res, lost
}

func TestLostAnswersAreResolvedBeforeResending(t *testing.T) {
	e := newEnv(t)
	c := &retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com", Phones: []retailcrm.Phone{{Number: "+7 916 555-44-33"}}}
	o := e.rc.CreateOrder(order(c, "10"))
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	// Every write batch of the first run loses its answer once: contact
	// add, deal add and comment are found by lookups, not sent twice.
	e.pull(func(op *Options) { op.Bitrix = &lostAnswers{Bitrix: e.bxc, lose: 3} })
	if len(e.bx.Contacts()) != 1 || len(e.bx.Deals()) != 1 || len(e.bx.Comments()) != 1 {
		t.Fatalf("%d contacts, %d deals, %d comments", len(e.bx.Contacts()), len(e.bx.Deals()), len(e.bx.Comments()))
	}
	// A contact update adding a phone loses its answer: it is not resent.
	if err := e.rc.UpdateCustomer(o.Customer.ID, func(c *retailcrm.Customer) {
		c.Phones = append(c.Phones, retailcrm.Phone{Number: "+7 916 777-00-11"})
	}); err != nil {
		t.Fatal(err)
	}
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.TotalSumm = money("11") })
	e.pull(func(op *Options) { op.Bitrix = &lostAnswers{Bitrix: e.bxc, lose: 2} })
	ct := e.bx.Contacts()[0]
	if v := ct.Values("PHONE"); len(v) != 2 {
		t.Errorf("phones %v", v)
	}
	if d := dealOf(t, e, o.ID); d["OPPORTUNITY"] != "11.00" {
		t.Errorf("deal %+v", d)
	}
}

func TestPortalLimitIsNeverHit(t *testing.T) {
	e := newEnv(t)
	// A cloud portal's limit (2 requests/s, burst 50) on the virtual clock
	// shared with the client, so pacing costs no real time.
	e.bx.SetLimits(2, 50)
	c, err := bitrix.New(e.bx.WebhookURL(), bitrix.WithRate(2, 50), bitrix.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "L", Email: fmt.Sprintf("l%d@example.com", i)}, "1"))
	}
	e.pull(func(o *Options) { o.Bitrix = c })
	if s := e.bx.Stats(); s.QueryLimit503 != 0 || len(e.bx.Deals()) != 300 {
		t.Errorf("%d QUERY_LIMIT_EXCEEDED answers, %d deals", s.QueryLimit503, len(e.bx.Deals()))
	}
}

// failingCommands answers the first write batch's commands with an error
// from result_error, as the portal would, without running them.
type failingCommands struct {
	Bitrix
	code string
	done bool
}

func (f *failingCommands) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	if !holds(b, "") || f.done {
		return f.Bitrix.Batch(ctx, b)
	}
	f.done = true
	res := &bitrix.BatchResult{Keys: b.Keys(), Results: map[string]*bitrix.CmdResult{}, Requests: 1}
	for _, k := range b.Keys() {
		cmd, _ := b.Cmd(k)
		res.Results[k] = &bitrix.CmdResult{Key: k, Cmd: cmd, Status: bitrix.Failed,
			Err: &bitrix.APIError{Code: f.code, Description: "refused", Method: cmd.Method}}
	}
	return res, nil
}

func TestPerCommandLimitsAreRetriedAndAuthErrorsStopTheRun(t *testing.T) {
	e := newEnv(t)
	e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "A", Email: "a@example.com"}, "1"))
	eng, st := e.engine(false, func(o *Options) { o.Bitrix = &failingCommands{Bitrix: e.bxc, code: "INVALID_CREDENTIALS"} })
	_, err := eng.Pull(context.Background())
	st.Close()
	if !errors.Is(err, bitrix.ErrAuth) {
		t.Fatalf("err %v, want ErrAuth", err)
	}
	res := e.pull(func(o *Options) { o.Bitrix = &failingCommands{Bitrix: e.bxc, code: "OPERATION_TIME_LIMIT"} })
	if res.Parked() != 0 || len(e.bx.Deals()) != 1 {
		t.Errorf("parked %+v, %d deals", res.Report.Parked, len(e.bx.Deals()))
	}
}

// cancellingBitrix cancels the run's context at its n-th write batch, as a
// SIGINT would, after sending it when sent is set.
type cancellingBitrix struct {
	Bitrix
	cancel context.CancelFunc
	n      int
	sent   bool
	writes int
}

func (c *cancellingBitrix) Batch(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	if holds(b, "") {
		c.writes++
		if c.writes == c.n {
			if c.sent {
				res, _ := c.Bitrix.Batch(ctx, b)
				c.cancel()
				return res, &bitrix.OutcomeUnknownError{Method: "batch", Err: context.Canceled}
			}
			c.cancel()
		}
	}
	return c.Bitrix.Batch(ctx, b)
}

func TestInterruptedRunCommitsNothingHalfDone(t *testing.T) {
	for _, sent := range []bool{false, true} {
		t.Run("sent="+strconv.FormatBool(sent), func(t *testing.T) {
			e := newEnv(t)
			sc := fixedScript()
			sc.apply(t, e.rc)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			eng, st := e.engine(false, func(o *Options) {
				o.Bitrix = &cancellingBitrix{Bitrix: e.bxc, cancel: cancel, n: 2, sent: sent}
			})
			_, err := eng.Pull(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v", err)
			}
			if _, ok, _ := st.Cursor(context.Background(), store.CursorOrdersHistory); ok {
				t.Error("cursor moved by an interrupted page")
			}
			if n, _ := st.CountLinks(context.Background()); n.Orders != 0 {
				t.Errorf("%d links from an interrupted page", n.Orders)
			}
			runs, _ := st.LastRuns(context.Background())
			if len(runs) != 1 || runs[0].Result != store.RunInterrupted {
				t.Errorf("runs %+v", runs)
			}
			st.Close()
			e.pull()
			_, want := referenceRun(t, sc)
			if got := snapshot(e.bx); got != want {
				t.Errorf("after the interruption\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestSecretsNeverReachOutput(t *testing.T) {
	e := newEnv(t)
	e.cfg.RetailCRM.APIKey = e.rc.APIKey()
	e.cfg.Bitrix.WebhookURL = e.bx.WebhookURL()
	e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "1"))
	e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Bad", Email: "bad@"}, "1"))
	e.bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultServerError, Count: 2})
	e.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Count: 1})
	var logs bytes.Buffer
	for _, dry := range []bool{true, false} {
		res, err := e.tryPull(dry, keepChanges, logsTo(&logs))
		if err != nil {
			logs.WriteString(err.Error())
		}
		if res != nil {
			_ = res.Report.WriteText(&logs)
			_ = res.Report.WriteJSON(&logs)
		}
	}
	db, _ := os.ReadFile(e.dbPath)
	wal, _ := os.ReadFile(e.dbPath + "-wal")
	for _, secret := range []string{e.rc.APIKey(), e.bx.Secret()} {
		for name, text := range map[string]string{"logs and reports": logs.String(), "database": string(db) + string(wal)} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain the secret %q", name, secret)
			}
		}
	}
}
