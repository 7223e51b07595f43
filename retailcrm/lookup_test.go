package retailcrm_test

import (
	"encoding/json"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	doc := json.RawMessage(`{
		"id": 7, "number": "7A", "totalSumm": 1395.16, "big": 12345678901234567890.10,
		"shipped": false, "empty": "", "nothing": null,
		"customFields": {"nps": 9, "note": "Позвонить", "flag": true, "list": ["a", "b"], "obj": {"k": 1}},
		"noFields": [],
		"delivery": {"code": "courier", "cost": "300.50", "address": {"text": "ул. Ленина, 5"}},
		"source": {"source": "yandex", "medium": "cpc"},
		"items": [{"offer": {"article": "KT-1"}}, {"productName": "Free line"}],
		"payments": {"4326": {"status": "paid"}},
		"dup": 1, "dup": 2,
		"Case": "upper", "dotted.key": "x"
	}`)
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"number", "7A", true},
		{"id", "7", true},
		{"totalSumm", "1395.16", true},
		{"big", "12345678901234567890.10", true},
		{"shipped", "false", true},
		{"empty", "", true},
		{"nothing", "", false},
		{"customFields.nps", "9", true},
		{"customFields.note", "Позвонить", true},
		{"customFields.flag", "true", true},
		{"customFields.list", `["a","b"]`, true},
		{"customFields.list.1", "b", true},
		{"customFields.obj", `{"k":1}`, true},
		{"customFields.missing", "", false},
		{"noFields.foo", "", false},
		{"delivery.code", "courier", true},
		{"delivery.cost", "300.50", true},
		{"delivery.address.text", "ул. Ленина, 5", true},
		{"delivery.address.text.more", "", false},
		{"source.medium", "cpc", true},
		{"source.keyword", "", false},
		{"items.0.offer.article", "KT-1", true},
		{"items.1.productName", "Free line", true},
		{"items.1.offer.article", "", false},
		{"items.2", "", false},
		{"items.-1", "", false},
		{"items.01", "", false},
		{"items.x", "", false},
		{"payments.4326.status", "paid", true},
		{"dup", "2", true},
		{"Case", "upper", true},
		{"case", "", false},
		{"dotted.key", "", false},
		{"", "", false},
		{".", "", false},
		{"number.", "", false},
		{".number", "", false},
		{"delivery..code", "", false},
	}
	for _, tt := range tests {
		got, ok := retailcrm.Lookup(doc, tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	for _, raw := range []string{``, `{`, `{"a":1}x`, `nul`, `{"a":}`} {
		if v, ok := retailcrm.Lookup(json.RawMessage(raw), "a"); ok {
			t.Errorf("invalid document %q resolved a to %q", raw, v)
		}
	}
	if v, ok := retailcrm.Lookup(json.RawMessage(`[{"a":"x"}]`), "0.a"); !ok || v != "x" {
		t.Errorf("array document: %q %v", v, ok)
	}
	if v, ok := retailcrm.Lookup(json.RawMessage(`"s"`), "a"); ok {
		t.Errorf("scalar document resolved %q", v)
	}
}
