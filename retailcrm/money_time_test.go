package retailcrm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/shopspring/decimal"
)

// TestMoneyExact sums 1000 payments of 0.1 that went through JSON: exactly
// 100, where float64 would drift.
func TestMoneyExact(t *testing.T) {
	fake, c := parallelFake(t)
	var pays retailcrm.Payments
	for i := range 1000 {
		pays = append(pays, retailcrm.Payment{ID: int64(i + 1), Type: "cash", Amount: dec("0.1")})
	}
	o := fake.CreateOrder(retailcrm.Order{Payments: pays, TotalSumm: dec("99999999999.99")})
	got, err := c.Order(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	var f float64
	for _, p := range got.Payments {
		sum = sum.Add(p.Amount)
		f += 0.1
	}
	if len(got.Payments) != 1000 || !sum.Equal(dec("100")) {
		t.Errorf("sum = %s over %d payments, want 100", sum, len(got.Payments))
	}
	if f == 100 {
		t.Log("float64 happened to be exact")
	}
	if got.TotalSumm.String() != "99999999999.99" {
		t.Errorf("total = %s", got.TotalSumm)
	}
}

func TestDateTimeZones(t *testing.T) {
	t.Parallel()
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	vladivostok, err := time.LoadLocation("Asia/Vladivostok")
	if err != nil {
		t.Fatal(err)
	}
	d, err := retailcrm.ParseDateTime("2018-10-04 14:58:44")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc  *time.Location
		want string
	}{
		{moscow, "2018-10-04T11:58:44Z"},
		{vladivostok, "2018-10-04T04:58:44Z"},
		{time.UTC, "2018-10-04T14:58:44Z"},
	} {
		got, err := d.In(tc.loc)
		if err != nil || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("In(%v) = %v, %v; want %s", tc.loc, got, err, tc.want)
		}
	}
	if _, err := d.In(nil); !errors.Is(err, retailcrm.ErrNoLocation) {
		t.Errorf("nil location: %v", err)
	}
	day, _ := retailcrm.ParseDateTime("2021-02-25")
	if got, err := day.In(moscow); err != nil || got.UTC().Format(time.RFC3339) != "2021-02-24T21:00:00Z" {
		t.Errorf("date only: %v %v", got, err)
	}
	if _, err := retailcrm.ParseDateTime("25.02.2021"); err == nil {
		t.Error("bad layout accepted")
	}
	var zero retailcrm.DateTime
	if got, err := zero.In(nil); err != nil || !got.IsZero() {
		t.Errorf("zero: %v %v", got, err)
	}
}

// TestFilterDatesNeedZone: a date filter without the account zone fails
// before any request instead of using the host's zone.
func TestFilterDatesNeedZone(t *testing.T) {
	t.Parallel()
	fake := retailcrmtest.New(t, retailcrmtest.Options{})
	c, err := retailcrm.New(fake.URL(), fake.APIKey(), retailcrm.WithRate(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{StartDate: time.Now()})
	if !errors.Is(err, retailcrm.ErrNoLocation) {
		t.Errorf("history: %v", err)
	}
	_, err = c.Orders(context.Background(), retailcrm.OrdersFilter{CreatedAtFrom: time.Now()})
	if !errors.Is(err, retailcrm.ErrNoLocation) {
		t.Errorf("orders: %v", err)
	}
	if fake.TotalRequests() != 0 {
		t.Error("request sent without a zone")
	}
}

// TestHistoryStartDate reads by startDate in the account zone the way the
// backfill finds the history head.
func TestHistoryStartDate(t *testing.T) {
	t.Parallel()
	var now time.Time
	fake, c := newFake(t, retailcrmtest.Options{Timezone: "Asia/Vladivostok", Now: func() time.Time { return now }})
	start := time.Date(2024, 5, 1, 9, 0, 0, 0, fake.Location())
	for i := range 10 {
		now = start.Add(time.Duration(i) * time.Minute)
		fake.CreateOrder(retailcrm.Order{})
	}
	// 09:05 Vladivostok given in UTC.
	p, err := c.OrdersHistory(context.Background(), retailcrm.HistoryFilter{StartDate: start.Add(5 * time.Minute).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.History) != 5 || p.History[0].ID != 6 {
		t.Errorf("got %d records from %d", len(p.History), p.History[0].ID)
	}
	log := fake.RequestLog()
	if got := log[len(log)-1].Query.Get("filter[startDate]"); got != "2024-05-01 09:05:00" {
		t.Errorf("startDate sent as %q", got)
	}
	at, err := p.History[0].CreatedAt.In(fake.Location())
	if err != nil || !at.Equal(start.Add(5*time.Minute)) {
		t.Errorf("createdAt %v %v", at, err)
	}
}
