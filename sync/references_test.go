package sync

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// referenceReads counts the dictionary reads since the last call, by
// dictionary.
type referenceReads struct {
	e    *env
	last map[string]int
}

func (r *referenceReads) since() map[string]int {
	out := map[string]int{}
	for _, d := range dictionaries() {
		n := r.e.rc.Requests("/api/v5/reference/" + d.name)
		if n != r.last[d.name] {
			out[d.name] = n - r.last[d.name]
		}
		r.last[d.name] = n
	}
	return out
}

// dictionaryEnv is an env whose runs (with at) see the clock *now, which
// the test moves, and Anna, a customer of the shop.
func dictionaryEnv(t *testing.T) (e *env, now *time.Time, at func(*Options), c retailcrm.Customer) {
	e = newEnv(t)
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at = func(o *Options) { o.Now = func() time.Time { return clock } }
	c = e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
	return e, &clock, at, c
}

// TestIdlePullMakesOneRequestPerStream: once the dictionaries are cached, a
// pull with nothing new reads the order and the customer history once each
// and nothing else, and sends nothing to Bitrix24 (docs/architecture.md,
// "Dictionaries"). A day later the cached dictionaries are read again, once;
// a code the cache lacks (a status added in RetailCRM) makes its dictionary
// read at once, and its name shows in the texts.
func TestIdlePullMakesOneRequestPerStream(t *testing.T) {
	e, now, at, c := dictionaryEnv(t)
	o := order(&c, "1890")
	o.Payments = retailcrm.Payments{{Type: "cash", Status: "not-paid", Amount: money("1890")}}
	created := e.rc.CreateOrder(o)
	reads := &referenceReads{e: e, last: map[string]int{}}

	e.pull(at)
	if got := reads.since(); !maps.Equal(got, map[string]int{dictStatuses: 1, dictDeliveryTypes: 1, dictPaymentTypes: 1,
		dictPaymentStatuses: 1, dictSites: 1}) {
		t.Errorf("first pull read the dictionaries %v: each one an order names, once", got)
	}

	for run := range 3 {
		rc0, bx0 := e.rc.TotalRequests(), e.bx.Stats().Requests
		res := e.pull(at)
		if got := e.rc.TotalRequests() - rc0; got != 2 {
			t.Errorf("idle pull %d: %d RetailCRM requests, want 2 (orders and customers history)", run, got)
		}
		if got := e.bx.Stats().Requests - bx0; got != 0 {
			t.Errorf("idle pull %d: %d Bitrix24 requests, want 0", run, got)
		}
		if s := res.Report.Summary; s.RetailCRMRequests != 2 || s.BitrixRequests != 0 {
			t.Errorf("idle pull %d: summary counts retailcrm %d, bitrix %d", run, s.RetailCRMRequests, s.BitrixRequests)
		}
		if got := reads.since(); len(got) != 0 {
			t.Errorf("idle pull %d read dictionaries %v", run, got)
		}
		*now = now.Add(time.Hour)
	}

	// A day after they were read, the cached dictionaries are read again,
	// once, and the idle pull after that reads none.
	*now = now.Add(referenceMaxAge)
	e.pull(at)
	if got := reads.since(); !maps.Equal(got, map[string]int{dictStatuses: 1, dictDeliveryTypes: 1, dictPaymentTypes: 1,
		dictPaymentStatuses: 1, dictSites: 1}) {
		t.Errorf("a day later the pull read %v, want each cached dictionary once", got)
	}
	e.pull(at)
	if got := reads.since(); len(got) != 0 {
		t.Errorf("the pull after the daily refresh read %v", got)
	}

	// A status added in RetailCRM after the cache was filled: its order is
	// mapped by its group and its name is in the timeline comment.
	e.rc.AddStatus(retailcrm.Status{Code: "awaiting-payment", Name: "Ждёт оплаты", Group: "approval", Active: true})
	e.updateOrder(created.ID, func(o *retailcrm.Order) { o.Status = "awaiting-payment" })
	res := e.pull(at)
	if p := res.Parked(); p != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	if got := reads.since(); !maps.Equal(got, map[string]int{dictStatuses: 1}) {
		t.Errorf("an unknown status made the pull read %v, want statuses once", got)
	}
	deal := e.dealsByOrigin()[strconv.FormatInt(created.ID, 10)][0]
	if got := deal.Str("STAGE_ID"); got != "PREPARATION" {
		t.Errorf("stage %q, want PREPARATION (group approval)", got)
	}
	var texts []string
	for _, cm := range e.bx.Comments() {
		texts = append(texts, cm.Comment)
	}
	if !slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, "Новый → Ждёт оплаты") }) {
		t.Errorf("no comment names the new status: %q", texts)
	}
}

// TestStaleDictionaryServesWhenItCannotBeRead: a day-old statuses
// dictionary that RetailCRM fails to send again is used as cached (a
// warning, not a failed run); without any cached copy the run fails.
func TestStaleDictionaryServesWhenItCannotBeRead(t *testing.T) {
	e, now, at, c := dictionaryEnv(t)
	o := e.rc.CreateOrder(order(&c, "100"))
	e.pull(at)
	*now = now.Add(referenceMaxAge + time.Hour)
	e.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Path: "/api/v5/reference/statuses", Count: 100})
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	res := e.pull(at)
	if p := res.Parked(); p != 0 {
		t.Fatalf("parked %+v", res.Report.Parked)
	}
	if got := dealOf(t, e, o.ID)["STAGE_ID"]; got != "WON" {
		t.Errorf("stage %v, want WON from the cached groups", got)
	}

	fresh := newEnv(t)
	fresh.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "B", Email: "b@example.com"}, "5"))
	fresh.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Path: "/api/v5/reference/statuses", Count: 100})
	eng, st := fresh.engine(false)
	defer st.Close()
	if _, err := eng.Pull(context.Background()); err == nil || !strings.Contains(err.Error(), "reading RetailCRM statuses") {
		t.Errorf("pull without any statuses: %v", err)
	}
}

// TestUnknownCodesRefreshEachDictionaryOncePerRun: orders over several
// history pages name a delivery type added after the cache was filled and
// one RetailCRM no longer lists: the delivery types are read once in the
// run, not once per page naming an unknown code; the next run naming the
// vanished code again reads them once more, and the other dictionaries not
// at all.
func TestUnknownCodesRefreshEachDictionaryOncePerRun(t *testing.T) {
	e, now, at, c := dictionaryEnv(t)
	e.rc.CreateOrder(order(&c, "100"))
	e.pull(at)
	reads := &referenceReads{e: e, last: map[string]int{}}
	reads.since()

	e.rc.AddDeliveryType(retailcrm.DeliveryType{Code: "pickup-new", Name: "Самовывоз с нового склада", Active: true})
	for i := range 2 * retailcrm.HistoryLimit {
		o := order(&c, "10")
		o.Delivery.Code = "pickup-new"
		if i%2 == 1 {
			o.Delivery.Code = "gone"
		}
		e.rc.CreateOrder(o)
	}
	res := e.pull(at)
	if res.Report.Summary.Pages < 2 {
		t.Fatalf("%d history pages: the test needs several", res.Report.Summary.Pages)
	}
	if got := reads.since(); !maps.Equal(got, map[string]int{dictDeliveryTypes: 1}) {
		t.Errorf("the pull read %v, want the delivery types once", got)
	}

	*now = now.Add(time.Hour)
	o := order(&c, "20")
	o.Delivery.Code = "gone"
	e.rc.CreateOrder(o)
	e.pull(at)
	if got := reads.since(); !maps.Equal(got, map[string]int{dictDeliveryTypes: 1}) {
		t.Errorf("the next run read %v, want the delivery types once", got)
	}
}
