package retailcrmtest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/shopspring/decimal"
)

// TestOrderListJSONMatchesMaps: the structs of /orders encode every order
// byte for byte as orderJSON's maps do, for random orders with every field
// empty or set (strings with characters encoding/json escapes included).
func TestOrderListJSONMatchesMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var o retailcrm.Order
		fillRandom(r, reflect.ValueOf(&o).Elem(), 0)
		if i%7 == 0 {
			o.Contact = nil
		}
		if i%5 == 0 && o.Customer != nil {
			o.Customer.Type = retailcrm.CustomerTypeCorporate
		}
		want, err := json.Marshal(orderJSON(&o, shapeList))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(orderListJSON(&o))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("order %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

var randomStrings = []string{"", "", "", "a", "Иван", `<b>&"q"</b>`, "tab\there", "line\u2028sep", "x\\y", "\x01", "2024-05-01"}

func fillRandom(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Type() {
	case reflect.TypeFor[decimal.Decimal]():
		v.Set(reflect.ValueOf(decimal.New(r.Int64N(200000)-1000, -int32(r.IntN(3)))))
		return
	case reflect.TypeFor[retailcrm.DateTime]():
		if r.IntN(3) > 0 {
			v.Set(reflect.ValueOf(retailcrm.NewDateTime(time.Unix(1.7e9+r.Int64N(1e8), 0))))
		}
		return
	case reflect.TypeFor[retailcrm.CustomFields]():
		if n := r.IntN(4); n > 0 {
			m := retailcrm.CustomFields{}
			for j := range n {
				m[randomStrings[r.IntN(len(randomStrings))]+string(rune('a'+j))] = json.RawMessage([]string{`1`, `"<x>"`, ` { "a" : [1, 2] } `, `null`}[r.IntN(4)])
			}
			v.Set(reflect.ValueOf(m))
		}
		return
	case reflect.TypeFor[json.RawMessage]():
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randomStrings[r.IntN(len(randomStrings))])
	case reflect.Int, reflect.Int64, reflect.Int32:
		if r.IntN(3) > 0 {
			v.SetInt(r.Int64N(5000))
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Pointer:
		if depth < 8 && r.IntN(3) > 0 {
			p := reflect.New(v.Type().Elem())
			fillRandom(r, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		if depth < 8 {
			n := r.IntN(4)
			s := reflect.MakeSlice(v.Type(), n, n)
			for j := range n {
				fillRandom(r, s.Index(j), depth+1)
			}
			v.Set(s)
		}
	case reflect.Struct:
		for j := range v.NumField() {
			if v.Type().Field(j).IsExported() {
				fillRandom(r, v.Field(j), depth+1)
			}
		}
	}
}
