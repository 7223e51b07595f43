package bitrixtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q    string
		want map[string]any
	}{
		{"filter[@ORIGIN_ID][0]=1042&filter[@ORIGIN_ID][1]=1017&filter[ORIGINATOR_ID]=retailcrm",
			map[string]any{"filter": map[string]any{"@ORIGIN_ID": map[string]any{"0": "1042", "1": "1017"}, "ORIGINATOR_ID": "retailcrm"}}},
		{"select[]=ID&select[]=TITLE&id=5", map[string]any{"select": map[string]any{"0": "ID", "1": "TITLE"}, "id": "5"}},
		{"fields%5BTITLE%5D=a%26b+c&fields[X]=%24result%5Bc0%5D", map[string]any{"fields": map[string]any{"TITLE": "a&b c", "X": "$result[c0]"}}},
		{"a=1&a=2&b[x]=1&b=flat", map[string]any{"a": "2", "b": "flat"}},
		{"&&=x&k", map[string]any{"k": ""}},
	} {
		if d := cmp.Diff(tc.want, ParseQuery(tc.q)); d != "" {
			t.Errorf("%s: %s", tc.q, d)
		}
	}
}

func post(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestLeakyBucket(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Time{})
	s := New(t, Options{Now: clock.Now})
	for i := range 50 {
		if code, _ := post(t, s.WebhookURL()+"scope", nil); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	code, body := post(t, s.WebhookURL()+"scope", nil)
	if code != 503 || body["error"] != "QUERY_LIMIT_EXCEEDED" {
		t.Fatalf("%d %v", code, body)
	}
	clock.Advance(500 * time.Millisecond) // drains one
	if code, _ := post(t, s.WebhookURL()+"scope", nil); code != 200 {
		t.Fatalf("after drain: %d", code)
	}
	if code, _ := post(t, s.WebhookURL()+"scope", nil); code != 503 {
		t.Fatalf("bucket full again: %d", code)
	}
	if st := s.Stats(); st.QueryLimit503 != 2 || st.Requests != 53 || st.PerMethod["scope"] != 53 {
		t.Fatalf("%+v", st)
	}
	s.SetLimits(0, 0)
	if code, _ := post(t, s.WebhookURL()+"scope", nil); code != 200 {
		t.Fatalf("unlimited: %d", code)
	}
}

func TestFaultsAreRepeatableWithSeed(t *testing.T) {
	t.Parallel()
	pattern := func() []int {
		s := NewServer(Options{Unlimited: true, Seed: 7})
		defer s.Close()
		s.InjectFault(Fault{Kind: FaultInternalError, Probability: 0.3})
		var codes []int
		for range 30 {
			code, _ := post(t, s.WebhookURL()+"scope", nil)
			codes = append(codes, code)
		}
		return codes
	}
	a, b := pattern(), pattern()
	if d := cmp.Diff(a, b); d != "" {
		t.Fatal(d)
	}
	n := 0
	for _, c := range a {
		if c == 500 {
			n++
		}
	}
	if n == 0 || n == 30 {
		t.Fatalf("%d of 30 faulted", n)
	}
}

func TestWrongSecretAndRedirect(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Unlimited: true})
	code, body := post(t, s.URL()+"/rest/1/nope/scope", nil)
	if code != 401 || body["error"] != "INVALID_CREDENTIALS" || body["time"] == nil {
		t.Fatalf("%d %v", code, body)
	}
	// Go's client follows a 302 with a GET and loses the body: the portal
	// then answers as if no parameters were sent.
	code, body = post(t, s.OldWebhookURL()+"crm.duplicate.findbycomm", map[string]any{"type": "EMAIL", "values": []string{"a@b.c"}})
	if code != 400 || body["error"] != "Communication type is not defined" {
		t.Fatalf("%d %v", code, body)
	}
	if s.Stats().Redirects != 1 {
		t.Fatal("redirect not counted")
	}
}

func TestOperatingBudget(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Time{})
	s := New(t, Options{Unlimited: true, Now: clock.Now, OperatingCost: map[string]float64{"scope": 100}, OperatingLimit: map[string]float64{"scope": 250}})
	var reset float64
	for i := range 3 {
		code, body := post(t, s.WebhookURL()+"scope", nil)
		if code != 200 {
			t.Fatalf("call %d: %d", i, code)
		}
		reset = body["time"].(map[string]any)["operating_reset_at"].(float64)
	}
	code, body := post(t, s.WebhookURL()+"scope", nil)
	if code != 429 || body["error"] != "OPERATION_TIME_LIMIT" {
		t.Fatalf("%d %v", code, body)
	}
	if code, _ := post(t, s.WebhookURL()+"crm.status.list", nil); code != 200 {
		t.Fatal("other methods must keep working")
	}
	clock.Advance(time.Until(time.Unix(int64(reset)+1, 0)) - time.Until(clock.Now()))
	if code, _ := post(t, s.WebhookURL()+"scope", nil); code != 200 {
		t.Fatalf("after reset: %d", code)
	}
}

// A shortened operating window blocks a method inside batches too, and
// releases it at the operating_reset_at the last success announced.
func TestShortOperatingWindow(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(t, Options{Unlimited: true, Now: clock.Now, OperatingWindow: 10 * time.Second,
		OperatingCost: map[string]float64{"crm.status.list": 1}, OperatingLimit: map[string]float64{"crm.status.list": 2}})
	batch := map[string]any{"cmd": map[string]any{"a": "crm.status.list", "b": "crm.status.list", "c": "crm.status.list"}}
	code, body := post(t, s.WebhookURL()+"batch", batch)
	if code != 200 {
		t.Fatalf("batch: %d %v", code, body)
	}
	res := body["result"].(map[string]any)
	errs, _ := res["result_error"].(map[string]any)
	if errs["c"] == nil || errs["c"].(map[string]any)["error"] != "OPERATION_TIME_LIMIT" || errs["a"] != nil {
		t.Fatalf("the third command should be over the budget: %v", errs)
	}
	reset := res["result_time"].(map[string]any)["b"].(map[string]any)["operating_reset_at"].(float64)
	if want := float64(clock.Now().Add(10 * time.Second).Unix()); reset != want {
		t.Fatalf("operating_reset_at = %v, want %v (one window after the first charge)", reset, want)
	}
	if code, _ := post(t, s.WebhookURL()+"crm.status.list", nil); code != 429 {
		t.Fatalf("direct call inside the window: %d, want 429", code)
	}
	clock.Advance(time.Unix(int64(reset), 0).Sub(clock.Now()))
	if code, _ := post(t, s.WebhookURL()+"crm.status.list", nil); code != 200 {
		t.Fatalf("at operating_reset_at: %d, want 200", code)
	}
}

// recorder is a t that only collects errors, to see what New reports.
type recorder struct {
	cleanups []func()
	errs     []string
}

func (r *recorder) Cleanup(f func())               { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, a ...any) { r.errs = append(r.errs, format) }

func TestDateTimesMustCarryAnOffset(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := New(rec, Options{Unlimited: true})
	id := s.SeedDeal(map[string]any{"TITLE": "x"})
	at := s.data.entities["deal"].rows[id].Fields["LAST_ACTIVITY_TIME"].(string)
	base, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	list := func(filter map[string]any) []any {
		t.Helper()
		code, body := post(t, s.WebhookURL()+"crm.deal.list", map[string]any{"filter": filter, "select": []string{"ID"}})
		if code != 200 {
			t.Fatalf("%d %v", code, body)
		}
		return body["result"].([]any)
	}
	// The same instant in another offset is compared as an instant.
	east := base.In(time.FixedZone("", 5*3600)).Format("2006-01-02T15:04:05-07:00")
	if n := len(list(map[string]any{">=LAST_ACTIVITY_TIME": east})); n != 1 {
		t.Errorf(">= the same instant in +05:00: %d rows", n)
	}
	if n := len(list(map[string]any{">LAST_ACTIVITY_TIME": east})); n != 0 {
		t.Errorf("> the same instant in +05:00: %d rows", n)
	}
	if got := s.BadTimes(); len(got) != 0 {
		t.Fatalf("documented form recorded as bad: %v", got)
	}
	list(map[string]any{">=LAST_ACTIVITY_TIME": base.UTC().Format(time.RFC3339)})
	list(map[string]any{">=DATE_MODIFY": base.Format("2006-01-02T15:04:05")})
	post(t, s.WebhookURL()+"tasks.task.add", map[string]any{"fields": map[string]any{"TITLE": "t", "RESPONSIBLE_ID": 1,
		"DEADLINE": "2026-12-31T23:59:59Z"}})
	got := s.BadTimes()
	if len(got) != 3 || got[0].Field != ">=LAST_ACTIVITY_TIME" || got[1].Field != ">=DATE_MODIFY" ||
		got[2].Method != "tasks.task.add" || got[2].Field != "DEADLINE" {
		t.Fatalf("bad times %v", got)
	}
	for i := len(rec.cleanups) - 1; i >= 0; i-- {
		rec.cleanups[i]()
	}
	if len(rec.errs) != 3 {
		t.Errorf("New reported %d errors, want 3", len(rec.errs))
	}
}
