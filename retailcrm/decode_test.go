package retailcrm

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValueHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw    string
		code   string
		id     int64
		str    string
		dec    string // "" when not a number
		isNull bool
	}{
		{`{"code":"new"}`, "new", 0, "", "", false},
		{`{"id":23}`, "", 23, "", "", false},
		{`{"id":"971","site":"BitrixMod","externalId":"1"}`, "", 971, "", "", false},
		{`"2018-10-05 00:00:00"`, "", 0, "2018-10-05 00:00:00", "", false},
		{`"12.5"`, "", 0, "12.5", "12.5", false},
		{`1904.4`, "", 0, "1904.4", "1904.4", false},
		{`0`, "", 0, "0", "0", false},
		{`true`, "", 0, "true", "", false},
		{`null`, "", 0, "", "", true},
		{``, "", 0, "", "", true},
		{`{"from":"10:00","to":"12:00"}`, "", 0, "", "", false},
		{`[1,2]`, "", 0, "", "", false},
	}
	for _, tt := range tests {
		v := NewValue([]byte(tt.raw))
		d, ok := v.Decimal()
		gotDec := ""
		if ok {
			gotDec = d.String()
		}
		if v.Code() != tt.code || v.ID() != tt.id || v.String() != tt.str || gotDec != tt.dec || v.IsNull() != tt.isNull {
			t.Errorf("%s: code %q id %d str %q dec %q null %v", tt.raw, v.Code(), v.ID(), v.String(), gotDec, v.IsNull())
		}
	}
	if b, ok := NewValue([]byte("false")).Bool(); b || !ok {
		t.Error("Bool(false)")
	}
	var rec struct{ V, W Value }
	if err := json.Unmarshal([]byte(`{"V":{"code":"x"}}`), &rec); err != nil || rec.V.Code() != "x" || !rec.W.IsNull() {
		t.Errorf("absent vs set: %v %+v", err, rec)
	}
	out, err := json.Marshal(rec)
	if err != nil || string(out) != `{"V":{"code":"x"},"W":null}` {
		t.Errorf("marshal = %s %v", out, err)
	}
}

func TestFlexibleShapes(t *testing.T) {
	t.Parallel()
	var o struct {
		Payments     Payments     `json:"payments"`
		CustomFields CustomFields `json:"customFields"`
	}
	for _, body := range []string{
		`{"payments":{"12":{"id":12,"amount":1},"4":{"amount":2.5}},"customFields":{"a":"x","b":false}}`,
		`{"payments":[{"id":4,"amount":2.5},{"id":12,"amount":1}],"customFields":{"a":"x","b":false}}`,
	} {
		if err := json.Unmarshal([]byte(body), &o); err != nil {
			t.Fatal(err)
		}
		if len(o.Payments) != 2 || o.Payments[0].ID != 4 || o.Payments[0].Amount.String() != "2.5" || o.Payments[1].ID != 12 {
			t.Errorf("%s: payments %+v", body, o.Payments)
		}
		if o.CustomFields.String("a") != "x" || o.CustomFields.String("b") != "false" {
			t.Errorf("customFields %v", o.CustomFields)
		}
	}
	for _, body := range []string{`{"payments":{},"customFields":[]}`, `{"payments":[],"customFields":{}}`, `{"payments":null,"customFields":null}`} {
		o.Payments, o.CustomFields = nil, nil
		if err := json.Unmarshal([]byte(body), &o); err != nil || len(o.Payments) != 0 || len(o.CustomFields) != 0 {
			t.Errorf("%s: %v %+v", body, err, o)
		}
	}
	for _, body := range []string{`{"payments":"x"}`, `{"customFields":5}`, `{"payments":{"1":[]}}`} {
		if err := json.Unmarshal([]byte(body), &o); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrRateLimited, ErrAuth, ErrAccountNotFound, ErrNotFound, ErrValidation, ErrServer, ErrNotAPI}
	tests := []struct {
		status int
		ctype  string
		body   string
		msg    string
		errs   map[string]string
		is     []error
	}{
		{503, "", `{"success":false,"errorMsg":"Service temporary unavailable"}`, "Service temporary unavailable", nil, []error{ErrRateLimited}},
		{503, "", ``, "Service Unavailable", nil, []error{ErrRateLimited}},
		{429, "", `{}`, "Too Many Requests", nil, []error{ErrRateLimited}},
		{403, "", `{"success":false,"errorMsg":"Wrong \"apiKey\" value."}`, `Wrong "apiKey" value.`, nil, []error{ErrAuth}},
		{403, "", `{"success":false,"errorMsg":"\"apiKey\" is missing."}`, `"apiKey" is missing.`, nil, []error{ErrAuth}},
		{401, "", `{"success":false}`, "Unauthorized", nil, []error{ErrAuth}},
		{403, "", `{"success":false,"errorMsg":"Access denied."}`, "Access denied.", nil, []error{ErrAuth}},
		{200, "", `{"success":false,"errorMsg":"Access denied."}`, "Access denied.", nil, []error{ErrAuth}},
		{400, "", `{"success":false,"errorMsg":"Account does not exist."}`, "Account does not exist.", nil, []error{ErrAccountNotFound, ErrValidation}},
		{404, "", `{"success":false,"errorMsg":"Not found"}`, "Not found", nil, []error{ErrNotFound}},
		{400, "", `{"success":false,"errorMsg":"Validation error","errors":{"status":"bad"}}`, "Validation error", map[string]string{"status": "bad"}, []error{ErrValidation}},
		{400, "", `{"success":false,"errorMsg":"Errors in the entity format","errors":["a","b"]}`, "Errors in the entity format", map[string]string{"0": "a", "1": "b"}, []error{ErrValidation}},
		{460, "", `{"success":false,"errorMsg":"Orders are loaded with errors","errors":["items[0].offer.id: Offer with id 123123 not found."]}`, "Orders are loaded with errors", map[string]string{"0": "items[0].offer.id: Offer with id 123123 not found."}, []error{ErrValidation}},
		{500, "", `not json`, "Internal Server Error", nil, []error{ErrServer}},
		{502, "text/html", `<html>bad gateway</html>`, "not a RetailCRM API endpoint (HTTP 502)", nil, []error{ErrServer, ErrNotAPI}},
		{405, "", "\n  <html>x</html>", "not a RetailCRM API endpoint (HTTP 405)", nil, []error{ErrNotAPI, ErrAccountNotFound}},
		{404, "text/html", `<h1>404</h1>`, "not a RetailCRM API endpoint (HTTP 404)", nil, []error{ErrNotAPI, ErrAccountNotFound}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, " ", tt.msg), func(t *testing.T) {
			var r credentialsResponse
			err := decodeResponse("GET /api/credentials", tt.status, tt.ctype, []byte(tt.body), &r)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v", err)
			}
			if apiErr.Msg != tt.msg || apiErr.HTTPStatus != tt.status || apiErr.Endpoint != "GET /api/credentials" {
				t.Errorf("got %+v", apiErr)
			}
			if diff := cmp.Diff(tt.errs, apiErr.Errors); diff != "" {
				t.Errorf("errors: %s", diff)
			}
			for _, s := range sentinels {
				want := false
				for _, w := range tt.is {
					want = want || w == s
				}
				if errors.Is(err, s) != want {
					t.Errorf("errors.Is(%v) = %v", s, !want)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, body := range []string{``, `{"success":true,"history":[{"id":1,`, `{"success":true,"history":{}}`, `[]`, `{"success":true,"history":[{"id":"x"}]}`} {
		var r historyResponse[HistoryRecord]
		err := decodeResponse("GET /api/v5/orders/history", 200, "application/json", []byte(body), &r)
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrDecode) || de.HTTPStatus != 200 {
			t.Errorf("%q: err = %v", body, err)
		}
	}
	var r refResponse[Status]
	r.member = "statuses"
	if err := decodeResponse("GET /x", 200, "", []byte(`{"success":true}`), &r); !errors.Is(err, ErrDecode) {
		t.Errorf("missing member: %v", err)
	}
	r = refResponse[Status]{member: "statuses"}
	if err := decodeResponse("GET /x", 200, "", []byte(`{"success":true,"statuses":[]}`), &r); err != nil || len(r.items) != 0 {
		t.Errorf("[] as empty map: %v %v", err, r.items)
	}
}
