package bitrix_test

import (
	"errors"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/google/go-cmp/cmp"
)

func TestBuildQuery(t *testing.T) {
	t.Parallel()
	type S struct {
		Value string `json:"VALUE"`
		Type  string `json:"VALUE_TYPE,omitempty"`
	}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"nested filter", map[string]any{"filter": map[string]any{"@ORIGIN_ID": []string{"1042", "1017"}, "ORIGINATOR_ID": "retailcrm"}, "select": []string{"ID", "ORIGIN_ID"}},
			"filter[%40ORIGIN_ID][0]=1042&filter[%40ORIGIN_ID][1]=1017&filter[ORIGINATOR_ID]=retailcrm&select[0]=ID&select[1]=ORIGIN_ID"},
		{"escaping once", map[string]any{"fields": map[string]any{"TITLE": "a&b=c #1 50%", "EMAIL": []any{map[string]any{"VALUE": "anna+1@example.com"}}}},
			"fields[EMAIL][0][VALUE]=anna%2B1%40example.com&fields[TITLE]=a%26b%3Dc+%231+50%25"},
		{"scalars", map[string]any{"id": bitrix.ID(7), "n": 1.5, "t": true, "f": false, "nil": nil, "empty": []string{}, "i64": int64(-3)},
			"f=0&i64=-3&id=7&n=1.5&t=1"},
		{"reference literal", map[string]any{"fields": map[string]any{"CONTACT_ID": bitrix.ResultRef("c0"), "X": bitrix.ResultRef("l", 0, "ID")}},
			"fields[CONTACT_ID]=$result[c0]&fields[X]=$result[l][0][ID]"},
		{"structs via json tags", map[string]any{"PHONE": []S{{Value: "+7 900", Type: "WORK"}}},
			"PHONE[0][VALUE]=%2B7+900&PHONE[0][VALUE_TYPE]=WORK"},
		{"numeric keys sort numerically", map[string]any{"m": map[string]int{"10": 1, "9": 2, "a": 3}},
			"m[9]=2&m[10]=1&m[a]=3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bitrix.BuildQuery(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
	if _, err := bitrix.BuildQuery(map[string]any{"ch": make(chan int)}); !errors.Is(err, bitrix.ErrInvalidBatch) {
		t.Fatalf("chan: %v", err)
	}
}

func TestBuildQueryParsesBackPHPStyle(t *testing.T) {
	t.Parallel()
	in := map[string]any{"filter": map[string]any{"@ORIGIN_ID": []string{"1042", "1017"}, ">ID": 5}, "fields": map[string]any{"TITLE": "Q&A [1]"}}
	q, err := bitrix.BuildQuery(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"filter": map[string]any{"@ORIGIN_ID": map[string]any{"0": "1042", "1": "1017"}, ">ID": "5"},
		"fields": map[string]any{"TITLE": "Q&A [1]"}}
	if d := cmp.Diff(want, bitrixtest.ParseQuery(q)); d != "" {
		t.Fatal(d)
	}
}

func TestIDDecoding(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bitrix.ID{`"37"`: 37, `394`: 394, `""`: 0, `null`: 0, `"12.0"`: 12, `3711.0`: 3711, `" 5 "`: 5} {
		var id bitrix.ID
		if err := id.UnmarshalJSON([]byte(in)); err != nil || id != want {
			t.Errorf("%s: %d %v", in, id, err)
		}
	}
	for _, bad := range []string{`"abc"`, `1.5`, `{}`, `[1]`} {
		var id bitrix.ID
		if err := id.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestDecodeEnvelopeShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		target error
	}{
		{"html 502", 502, "<html><body>502 Bad Gateway</body></html>", bitrix.ErrServer},
		{"html 200", 200, "<!DOCTYPE html>", bitrix.ErrBadResponse},
		{"truncated", 200, `{"result": {"ID": "1"`, bitrix.ErrBadResponse},
		{"empty", 200, "", bitrix.ErrBadResponse},
		{"array top", 200, "[]", bitrix.ErrBadResponse},
		{"no result", 200, `{"time": {}}`, bitrix.ErrBadResponse},
		{"numeric code", 400, `{"error": 0, "error_description": "x"}`, bitrix.ErrBadRequest},
		{"lowercase code", 403, `{"error": "insufficient_scope", "error_description": ""}`, bitrix.ErrAuth},
		{"legacy access", 400, `{"error": "", "error_description": "Access denied."}`, bitrix.ErrAuth},
		{"legacy not found", 400, `{"error": "", "error_description": "Not found"}`, bitrix.ErrNotFound},
		{"method not found", 404, `{"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}`, bitrix.ErrMethodNotFound},
		{"owner not found", 400, `{"error": "OWNER_NOT_FOUND", "error_description": "x"}`, bitrix.ErrNotFound},
		{"query limit lower", 503, `{"error": "query_limit_exceeded"}`, bitrix.ErrQueryLimit},
		{"overload", 503, `{"error": "OVERLOAD_LIMIT"}`, bitrix.ErrOverload},
		{"500 json", 500, `{"error": "INTERNAL_SERVER_ERROR", "error_description": ""}`, bitrix.ErrServer},
		{"error status no envelope", 500, `{"result": 1}`, bitrix.ErrServer},
		{"error object", 400, `{"error": {"x": 1}, "error_description": null}`, bitrix.ErrBadRequest},
	} {
		_, err := bitrix.DecodeEnvelope("m", tc.status, []byte(tc.body))
		if !errors.Is(err, tc.target) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.target)
		}
	}
	resp, err := bitrix.DecodeEnvelope("m", 200, []byte(`{"result": [], "total": "6", "next": 50, "time": {"start": "1.5", "operating_reset_at": 1700000000.0, "operating": 0}}`))
	if err != nil || resp.Total != 6 || !resp.HasNext || resp.Next != 50 || resp.Time.Start != 1.5 || resp.Time.OperatingResetAt != 1700000000 || !resp.Time.HasOperating {
		t.Fatalf("%+v %+v %v", resp, resp.Time, err)
	}
}

func TestDecodeBatchResultEmptyArrays(t *testing.T) {
	t.Parallel()
	secs, err := bitrix.DecodeBatchResult([]byte(`{"result": [], "result_error": {"a": {"error": "x"}}, "result_total": [], "result_next": [], "result_time": []}`))
	if err != nil || len(secs.Result) != 0 || len(secs.Errors) != 1 || secs.Time == nil {
		t.Fatalf("%+v %v", secs, err)
	}
	secs, err = bitrix.DecodeBatchResult([]byte(`{"result": [{"ID": "1"}, true], "result_error": []}`))
	if err != nil || len(secs.Result) != 2 || string(secs.Result["1"]) != "true" {
		t.Fatalf("numeric keys: %+v %v", secs, err)
	}
}

func TestRecordAccessors(t *testing.T) {
	t.Parallel()
	var r bitrix.Record
	if err := r.UnmarshalJSONForTest(`{"ID": "5", "OPPORTUNITY": "19999.99", "IS_RETURN_CUSTOMER": "Y", "CONTACT_ID": null, "UF_CRM_MULTI": ["1", 2], "UF_CRM_EMPTY": "",
		"PHONE": [{"ID": "215", "VALUE_TYPE": "WORK", "VALUE": "+1", "TYPE_ID": "PHONE"}], "N": 3}`); err != nil {
		t.Fatal(err)
	}
	if r.ID() != 5 || r.IDField("CONTACT_ID") != 0 || r.Has("CONTACT_ID") || !r.Bool("IS_RETURN_CUSTOMER") || r.String("N") != "3" {
		t.Fatal(r)
	}
	if f, ok := r.Float("OPPORTUNITY"); !ok || f != 19999.99 {
		t.Fatal(f)
	}
	if _, ok := r.Float("UF_CRM_EMPTY"); ok {
		t.Fatal("empty is not a number")
	}
	if d := cmp.Diff([]string{"1", "2"}, r.Strings("UF_CRM_MULTI")); d != "" {
		t.Fatal(d)
	}
	if m := r.Multi("PHONE"); len(m) != 1 || m[0].ID != 215 {
		t.Fatal(m)
	}
	if r.Multi("EMAIL") != nil || r.Strings("MISSING") != nil {
		t.Fatal("absent fields")
	}
}
