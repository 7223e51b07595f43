package bitrixtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// cmdOrderDecoded is cmdOrder's JSON path as it was, decoding the body
// twice: the reference the scanner must agree with.
func cmdOrderDecoded(body []byte) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil
	}
	raw, ok := top["cmd"]
	if !ok {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, kt.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

var cmdOrderBodies = []string{
	`{"halt":0,"cmd":{"c1":"crm.deal.add?fields[TITLE]=a","a0":"crm.contact.list?filter[ID]=$result[c1]","b":"x"}}`,
	` { "cmd" : { "z" : "1" , "y" : {"n":[1,{"q":"}"}]}, "x":null } , "halt" : true } `,
	`{"cmd":{"k\"ey":"v","\u0041b":"v","Ключ":"v","sl\\ash":"\\"}}`,
	`{"cmd":{"a":"1"},"cmd":{"b":"2","c":"3"}}`,
	`{"cmd":{"a":"1","a":"2"}}`,
	`{"cmd":["a","b"]}`,
	`{"cmd":null}`,
	`{"cmd":{}}`,
	`{"cmd":"text"}`,
	`{"other":{"cmd":{"a":"1"}}}`,
	`{"cmd":{"a":"1"}} trailing`,
	`{"cmd":{"a":"1"}`,
	`[{"cmd":{"a":"1"}}]`,
	`null`,
	``,
	`{"cmd":{"a":-1.5e3,"b":true,"c":false,"d":[],"e":{}}}`,
	"{\"cmd\":{\"bad\xffkey\":\"v\"}}",
}

// TestCmdOrderScanMatchesDecode: the one-pass scan of a JSON batch body
// gives the command keys the decoding did, in order, for ordinary bodies
// and odd ones (duplicates, escapes, nesting, invalid JSON).
func TestCmdOrderScanMatchesDecode(t *testing.T) {
	for _, body := range cmdOrderBodies {
		got, want := cmdOrder([]byte(body), true, ""), cmdOrderDecoded([]byte(body))
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("cmdOrder(%q) = %q, want %q", body, got, want)
		}
	}
}

func FuzzCmdOrder(f *testing.F) {
	for _, body := range cmdOrderBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, want := cmdOrder(body, true, ""), cmdOrderDecoded(body)
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("cmdOrder(%q) = %q, want %q", body, got, want)
		}
	})
}
