package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/runs"
)

// fakeRC has only the methods push needs: the counting wrapper passes on
// what it has and refuses the rest without counting.
type fakeRC struct{ calls int }

func (f *fakeRC) OrdersByID(_ context.Context, ids []int64) ([]retailcrm.Order, error) {
	f.calls++
	return make([]retailcrm.Order, len(ids)), nil
}

func (f *fakeRC) Statuses(context.Context) (map[string]retailcrm.Status, error) {
	f.calls++
	return nil, errors.New("down")
}

type fakeBX struct{ requests int }

func (f *fakeBX) Batch(_ context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error) {
	if f.requests == 0 {
		return nil, errors.New("no answer")
	}
	return &bitrix.BatchResult{Keys: b.Keys(), Requests: f.requests}, nil
}

// TestCounter: one count per request an engine makes (failed ones too; a
// batch counts the HTTP requests it took; 100 order ids a request), per
// API; the HTTP transport counts every attempt with the limit answers.
func TestCounter(t *testing.T) {
	ctx := context.Background()
	var c runs.Counter
	rc, inner := c.RetailCRM(&fakeRC{}), &fakeBX{}
	bx := c.Bitrix(inner)

	if _, err := rc.OrdersByID(ctx, make([]int64, 250)); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.OrdersByID(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Statuses(ctx); err == nil {
		t.Fatal("want the client's error")
	}
	if _, err := rc.Settings(ctx); err == nil {
		t.Fatal("a method the client lacks must fail")
	}
	if _, ok := rc.Unwrap().(*fakeRC); !ok {
		t.Error("Unwrap does not return the client")
	}
	if _, err := bx.Batch(ctx, bitrix.NewBatch(false)); err == nil {
		t.Fatal("want the client's error")
	}
	inner.requests = 2
	if _, err := bx.Batch(ctx, bitrix.NewBatch(false)); err != nil {
		t.Fatal(err)
	}
	if _, err := bx.StageHistoryList(ctx, 2, bitrix.ListRequest{}); err == nil {
		t.Fatal("a method the client lacks must fail")
	}
	if got := c.Requests(runs.APIRetailCRM); got != 4 { // 3 for 250 ids, 0 for none, 1 for the failed Statuses
		t.Errorf("retailcrm requests = %d, want 4", got)
	}
	if got := c.Requests(runs.APIBitrix); got != 2 {
		t.Errorf("bitrix requests = %d, want 2", got)
	}
	if got := c.Total(); got != 6 {
		t.Errorf("total = %d, want 6", got)
	}

	// An optional read: a client without it is not an error and not a
	// request; one with it is counted as the caller says.
	_, ok, err := runs.Optional(rc, 1, func(s interface {
		Settings(context.Context) (*retailcrm.Settings, error)
	}) (*retailcrm.Settings, error) {
		return s.Settings(ctx)
	})
	if ok || err != nil || c.Requests(runs.APIRetailCRM) != 4 {
		t.Errorf("optional read the client lacks: ok %v, err %v, %d requests", ok, err, c.Requests(runs.APIRetailCRM))
	}
	_, ok, err = runs.Optional(rc, 2, func(s interface {
		Statuses(context.Context) (map[string]retailcrm.Status, error)
	}) (map[string]retailcrm.Status, error) {
		return s.Statuses(ctx)
	})
	if !ok || err == nil || c.Requests(runs.APIRetailCRM) != 6 {
		t.Errorf("optional read the client has: ok %v, err %v, %d requests", ok, err, c.Requests(runs.APIRetailCRM))
	}

	codes := []int{200, 503, 429, 500, 200}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[n])
		n++
	}))
	defer srv.Close()
	var h runs.Counter
	client := &http.Client{Transport: h.Transport(runs.APIBitrix, nil)}
	for range codes {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got, _ := json.Marshal(h.Snapshot()[runs.APIBitrix])
	if want := `{"Requests":5,"RateLimited":1,"TimeLimited":1,"ServerError":1}`; string(got) != want {
		t.Errorf("transport counted %s, want %s", got, want)
	}
}
