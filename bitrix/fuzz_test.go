package bitrix_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/google/go-cmp/cmp"
)

func addFixtureSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, pattern))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
	}
	for _, s := range []string{"", "[]", "{}", "<html>", `{"result": []}`, `{"error": 0}`, `{"result": {"result": [], "result_error": []}}`, "\x00\xff{"} {
		f.Add([]byte(s))
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	addFixtureSeeds(f, "*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{200, 400, 503} {
			resp, err := bitrix.DecodeEnvelope("m", status, body)
			if err == nil {
				if resp == nil || status != 200 {
					t.Fatalf("success with status %d", status)
				}
				continue
			}
			var ae *bitrix.APIError
			var re *bitrix.ResponseError
			if !errors.As(err, &ae) && !errors.As(err, &re) {
				t.Fatalf("untyped %v", err)
			}
			_ = err.Error()
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	addFixtureSeeds(f, "*error*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		ae, err := bitrix.DecodeError("m", 400, body)
		if err != nil {
			return
		}
		_ = ae.Error()
		n := 0
		for _, s := range []error{bitrix.ErrQueryLimit, bitrix.ErrOverload, bitrix.ErrOperationTimeLimit, bitrix.ErrAuth, bitrix.ErrNotFound, bitrix.ErrBadRequest, bitrix.ErrServer} {
			if errors.Is(ae, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%v is in %d classes", ae, n)
		}
	})
}

func FuzzDecodeBatchResponse(f *testing.F) {
	addFixtureSeeds(f, "batch_*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := bitrix.DecodeEnvelope("batch", 200, body)
		if err != nil {
			return
		}
		secs, err := bitrix.DecodeBatchResult(resp.Result)
		if err != nil {
			if !errors.Is(err, bitrix.ErrBadResponse) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		for k, raw := range secs.Errors {
			if _, err := bitrix.DecodeError(k, 0, raw); err != nil && !errors.Is(err, bitrix.ErrBadResponse) {
				t.Fatal(err)
			}
		}
		for _, raw := range secs.Time {
			var tm bitrix.Time
			_ = tm.UnmarshalJSON(raw)
		}
		for _, raw := range secs.Result {
			_, _ = bitrix.DecodeRows(raw)
			_, _ = bitrix.DecodeID(raw)
			_, _ = bitrix.DecodeDuplicates(raw)
		}
	})
}

// FuzzBuildQuery: what the client encodes, the fake's PHP-style parser reads
// back unchanged.
func FuzzBuildQuery(f *testing.F) {
	f.Add("TITLE", "Order #1042 & co", "anna+1@example.com")
	f.Add("@ORIGIN_ID", "1042", "1017")
	f.Add("UF_CRM_X", "50% [sale]", "a=b;c")
	f.Add("NAME", "Анна", "\x00\xff")
	f.Add(">=ID", "$result[c0]", "")
	f.Fuzz(func(t *testing.T, key, v1, v2 string) {
		if key == "" || strings.ContainsAny(key, "[]") {
			t.Skip("brackets in a key are ambiguous in PHP syntax")
		}
		in := map[string]any{"fields": map[string]any{key: v1, "LIST": []string{v1, v2}, "N": map[string]any{key: []any{v2}}}}
		q, err := bitrix.BuildQuery(in)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"fields": map[string]any{"LIST": map[string]any{"0": v1, "1": v2}, "N": map[string]any{key: map[string]any{"0": v2}}}}
		if key != "LIST" && key != "N" {
			want["fields"].(map[string]any)[key] = v1
		} else {
			t.Skip("key collides with the fixed ones")
		}
		if d := cmp.Diff(want, bitrixtest.ParseQuery(q)); d != "" {
			t.Fatalf("query %q\n%s", q, d)
		}
	})
}

// FuzzEscapeMarkup: whatever a customer types, no BBCode or HTML tag can
// start in the escaped text, escaping again changes nothing, and the text
// only gained invisible breaks.
func FuzzEscapeMarkup(f *testing.F) {
	for _, s := range []string{"", "Иван", "[URL=https://evil.example/login]Track your parcel[/URL]",
		"[IMG]https://evil.example/pixel.gif[/IMG] [USER=1]Director[/USER]", "<a href=x>y</a>", "<script>alert(1)</script>",
		"[\u200bb]", "[[[", "<<", "a[b]c", "\xff[\xfe<", "[i]\u200b", "[ url=x]", "[/url]", "&lt;b&gt;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := bitrix.EscapeMarkup(s)
		if !bitrix.MarkupInert(out) {
			t.Fatalf("EscapeMarkup(%q) = %q still opens a tag", s, out)
		}
		if again := bitrix.EscapeMarkup(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, again)
		}
		strip := func(x string) string { return strings.ReplaceAll(x, bitrix.MarkupBreak, "") }
		if strip(out) != strip(s) {
			t.Fatalf("EscapeMarkup(%q) = %q changed more than breaks", s, out)
		}
		if !strings.ContainsAny(s, "[<") && out != s {
			t.Fatalf("EscapeMarkup(%q) = %q changed a text without markup characters", s, out)
		}
	})
}
