package retailcrmtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/shopspring/decimal"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type answer struct {
	status int
	ctype  string
	body   map[string]any
	raw    string
}

// call sends a raw request, bypassing the client, to see the fake's wire
// behaviour.
func call(t *testing.T, s *retailcrmtest.Server, method, path, key string, form url.Values, ctype string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

const formType = "application/x-www-form-urlencoded"

func TestStrictness(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{Sites: []string{"shop", "outlet"}})
	o := s.CreateOrder(retailcrm.Order{Site: "shop"})
	key := s.APIKey()
	edit := "/api/v5/orders/" + itoa(o.ID) + "/edit"
	good := url.Values{"by": {"id"}, "site": {"shop"}, "order": {`{"status":"complete"}`}}
	tests := []struct {
		name, method, path, key string
		form                    url.Values
		ctype                   string
		status                  int
		msg                     string
	}{
		{"missing key", "GET", "/api/v5/orders", "", nil, "", 403, `"apiKey" is missing.`},
		{"wrong key", "GET", "/api/v5/orders", "nope-nope", nil, "", 403, `Wrong "apiKey" value.`},
		{"unknown path", "GET", "/api/v5/nothing", key, nil, "", 404, "API method not found"},
		{"GET on edit", "GET", edit, key, nil, "", 405, "Method Not Allowed"},
		{"POST on history", "POST", "/api/v5/orders/history", key, url.Values{}, formType, 405, "Method Not Allowed"},
		{"sinceId with page", "GET", "/api/v5/orders/history?filter[sinceId]=0&page=1", key, nil, "", 400, "Errors in the input parameters"},
		{"customers sinceId with page", "GET", "/api/v5/customers/history?filter[sinceId]=5&page=2", key, nil, "", 400, "Errors in the input parameters"},
		{"limit 30", "GET", "/api/v5/orders/history?limit=30", key, nil, "", 400, "Errors in the input parameters"},
		{"limit 250 on orders", "GET", "/api/v5/orders?limit=250", key, nil, "", 400, "Errors in the input parameters"},
		{"bad date", "GET", "/api/v5/orders?filter[createdAtFrom]=yesterday", key, nil, "", 400, "Errors in the input parameters"},
		{"edit with JSON body", "POST", edit, key, good, "application/json", 400, "Parameter 'order' is missing"},
		{"edit without order", "POST", edit, key, url.Values{"by": {"id"}, "site": {"shop"}}, formType, 400, "Parameter 'order' is missing"},
		{"edit without site, two stores", "POST", edit, key, url.Values{"by": {"id"}, "order": {`{"status":"complete"}`}}, formType, 400, "Parameter 'site' is missing"},
		{"edit other store", "POST", edit, key, url.Values{"by": {"id"}, "site": {"outlet"}, "order": {`{"status":"complete"}`}}, formType, 404, "Not found"},
		{"edit unknown status", "POST", edit, key, url.Values{"by": {"id"}, "site": {"shop"}, "order": {`{"status":"zzz"}`}}, formType, 400, "Order is not loaded"},
		{"edit unknown field", "POST", edit, key, url.Values{"by": {"id"}, "site": {"shop"}, "order": {`{"number":"1"}`}}, formType, 400, "Order is not loaded"},
		{"edit bad JSON", "POST", edit, key, url.Values{"by": {"id"}, "site": {"shop"}, "order": {`{`}}, formType, 400, "Errors in the entity format"},
		{"edit by externalId not found", "POST", edit, key, url.Values{"site": {"shop"}, "order": {`{"status":"complete"}`}}, formType, 404, "Not found"},
		{"get by id missing", "GET", "/api/v5/orders/999?by=id", key, nil, "", 404, "Not found"},
	}
	for _, tt := range tests {
		a := call(t, s, tt.method, tt.path, tt.key, tt.form, tt.ctype)
		if a.status != tt.status || a.body["errorMsg"] != tt.msg || a.body["success"] != false {
			t.Errorf("%s: %d %s", tt.name, a.status, a.raw)
		}
	}
	if got, _ := s.Order(o.ID); got.Status != "new" {
		t.Fatalf("a rejected edit applied: %s", got.Status)
	}
	a := call(t, s, "POST", edit, key, good, formType)
	if a.status != 200 || a.body["id"] != float64(o.ID) {
		t.Fatalf("good edit: %d %s", a.status, a.raw)
	}
	if got, _ := s.Order(o.ID); got.Status != "complete" {
		t.Errorf("status = %s", got.Status)
	}
}

func TestShapes(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	key := s.APIKey()
	empty := s.CreateOrder(retailcrm.Order{})
	paid := s.CreateOrder(retailcrm.Order{
		Payments:     retailcrm.Payments{{ID: 7, Type: "cash", Amount: decimal.RequireFromString("10.10")}},
		CustomFields: retailcrm.CustomFields{"nps": json.RawMessage(`5`)},
	})
	if err := s.UpdateOrder(paid.ID, func(o *retailcrm.Order) { o.ManagerID = 23; o.Status = "assembling" }); err != nil {
		t.Fatal(err)
	}
	list := call(t, s, "GET", "/api/v5/orders", key, nil, "")
	if !strings.Contains(list.raw, `"limit":20`) {
		t.Errorf("default limit not 20: %s", list.raw[:200])
	}
	orders := list.body["orders"].([]any)
	first, second := orders[0].(map[string]any), orders[1].(map[string]any)
	if p, ok := first["payments"].(map[string]any); !ok || len(p) != 0 {
		t.Errorf("empty payments in list = %v", first["payments"])
	}
	if c, ok := first["customFields"].([]any); !ok || len(c) != 0 {
		t.Errorf("empty customFields = %v", first["customFields"])
	}
	if p, ok := second["payments"].(map[string]any); !ok || p["7"] == nil {
		t.Errorf("payments object = %v", second["payments"])
	}
	if !strings.Contains(list.raw, `"amount":10.1`) {
		t.Error("money not sent as a JSON number")
	}
	hist := call(t, s, "GET", "/api/v5/orders/history?limit=100", key, nil, "")
	recs := hist.body["history"].([]any)
	if len(recs) != 4 {
		t.Fatalf("history = %s", hist.raw)
	}
	created := recs[1].(map[string]any)
	snap := created["order"].(map[string]any)
	if created["created"] != true || created["apiKey"].(map[string]any)["current"] != false || created["user"] != nil {
		t.Errorf("created record = %v", created)
	}
	if p, ok := snap["payments"].([]any); !ok || len(p) != 1 {
		t.Errorf("snapshot payments = %v", snap["payments"])
	}
	if c, ok := recs[0].(map[string]any)["order"].(map[string]any)["customFields"].([]any); !ok || len(c) != 0 {
		t.Error("empty customFields in snapshot not []")
	}
	for _, r := range recs[2:] {
		m := r.(map[string]any)
		part := m["order"].(map[string]any)
		if m["source"] != "user" || m["user"].(map[string]any)["id"] != float64(retailcrmtest.DefaultUserID) || m["apiKey"] != nil ||
			len(part) != 4 || part["status"] != "assembling" || part["managerId"] != float64(23) {
			t.Errorf("partial record = %v", m)
		}
	}
	if s.Requests("/api/v5/orders") != 1 || s.Requests("/api/v5/orders/history") != 1 || s.TotalRequests() != 2 {
		t.Errorf("counters: %d %d %d", s.Requests("/api/v5/orders"), s.Requests("/api/v5/orders/history"), s.TotalRequests())
	}
	_ = empty
}

func TestUnknownStatusInUpdate(t *testing.T) {
	t.Parallel()
	s := retailcrmtest.New(t, retailcrmtest.Options{})
	o := s.CreateOrder(retailcrm.Order{})
	if err := s.UpdateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "nope" }); err == nil {
		t.Error("unknown status accepted")
	}
	if err := s.UpdateOrder(12345, func(*retailcrm.Order) {}); err == nil {
		t.Error("unknown order accepted")
	}
	if err := s.DeleteOrder(o.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Order(o.ID); ok {
		t.Error("deleted order still there")
	}
	a := call(t, s, "GET", "/api/v5/orders/history?filter[sinceId]=1", s.APIKey(), nil, "")
	if rec := a.body["history"].([]any)[0].(map[string]any); rec["deleted"] != true {
		t.Errorf("deleted record = %v", rec)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
