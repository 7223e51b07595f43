package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

type kind int

const (
	kString kind = iota
	kFloat
	kInt
	kDuration // "30s", "2m", or a number of seconds
	kStringList
	kIntList
	kStringMap // decoded from YAML without case folding
	kRules     // decoded from YAML without case folding
)

func (k kind) scalar() bool { return k == kString || k == kFloat || k == kInt || k == kDuration }

func (k kind) String() string {
	switch k {
	case kFloat:
		return "a number"
	case kInt:
		return "a whole number"
	case kDuration:
		return "a duration such as 30s or 2m"
	case kStringList:
		return "a list of strings"
	case kIntList:
		return "a list of whole numbers"
	case kStringMap:
		return "a mapping of keys to strings"
	case kRules:
		return "a list of rules"
	default:
		return "a string"
	}
}

type keySpec struct {
	path string
	kind kind
	def  any
}

// schema lists every configuration key. It is a function, not a variable, so
// nothing can change it at run time.
func schema() []keySpec {
	return []keySpec{
		{"db", kString, DefaultDB},
		{"phone_region", kString, DefaultPhoneRegion},
		{"log_format", kString, "text"},
		{"log_level", kString, "info"},
		{"retailcrm.url", kString, nil},
		{"retailcrm.api_key", kString, nil},
		{"retailcrm.api_key_file", kString, nil},
		{"retailcrm.sites", kStringList, nil},
		{"retailcrm.rate", kFloat, DefaultRetailCRMRate},
		{"retailcrm.timeout", kDuration, DefaultRetailCRMTimeout.String()},
		{"bitrix.webhook_url", kString, nil},
		{"bitrix.webhook_url_file", kString, nil},
		{"bitrix.rate", kFloat, DefaultBitrixRate},
		{"bitrix.burst", kInt, DefaultBitrixBurst},
		{"bitrix.timeout", kDuration, DefaultBitrixTimeout.String()},
		{"bitrix.entity", kString, EntityDeal},
		{"bitrix.category_id", kInt, 0},
		{"bitrix.originator_id", kString, DefaultOriginatorID},
		{"bitrix.assigned_by_id", kInt, 0},
		{"bitrix.ca_file", kString, nil},
		{"mapping.statuses", kStringMap, nil},
		{"mapping.stages", kStringMap, nil},
		{"mapping.order_methods", kStringMap, nil},
		{"mapping.deal_fields", kStringMap, nil},
		{"mapping.contact_fields", kStringMap, nil},
		{"mapping.profile_fields", kStringMap, nil},
		{"mapping.repeat_purchase_field", kString, nil},
		{"rules", kRules, nil},
		{"alerts.notify_user_ids", kIntList, nil},
		{"serve.listen", kString, DefaultServeListen},
		{"serve.every", kDuration, DefaultServeEvery.String()},
		{"serve.retailcrm_token", kString, nil},
		{"serve.retailcrm_token_file", kString, nil},
		{"serve.bitrix_token", kString, nil},
		{"serve.bitrix_token_file", kString, nil},
	}
}

// Keys returns every configuration key path, for documentation and tests.
func Keys() []string {
	s := schema()
	out := make([]string, len(s))
	for i, k := range s {
		out[i] = k.path
	}
	return out
}

// readScalars fills cfg from v (flag > env > file > default) with strict
// type checks.
func readScalars(v *viper.Viper, cfg *Config, p *Errors) {
	str := func(key string) string { return asString(v.Get(key), key, p) }
	cfg.DB = str("db")
	cfg.PhoneRegion = strings.ToUpper(str("phone_region"))
	cfg.RetailCRM.URL = str("retailcrm.url")
	cfg.RetailCRM.Sites = asStringList(v.Get("retailcrm.sites"), "retailcrm.sites", p)
	cfg.RetailCRM.Rate = asFloat(v.Get("retailcrm.rate"), "retailcrm.rate", p)
	cfg.RetailCRM.Timeout = asDuration(v.Get("retailcrm.timeout"), "retailcrm.timeout", p)
	cfg.Bitrix.Rate = asFloat(v.Get("bitrix.rate"), "bitrix.rate", p)
	cfg.Bitrix.Burst = asInt(v.Get("bitrix.burst"), "bitrix.burst", p)
	cfg.Bitrix.Timeout = asDuration(v.Get("bitrix.timeout"), "bitrix.timeout", p)
	cfg.Bitrix.Entity = strings.ToLower(str("bitrix.entity"))
	cfg.Bitrix.CategoryID = asInt(v.Get("bitrix.category_id"), "bitrix.category_id", p)
	cfg.Bitrix.OriginatorID = str("bitrix.originator_id")
	cfg.Bitrix.AssignedByID = asInt(v.Get("bitrix.assigned_by_id"), "bitrix.assigned_by_id", p)
	cfg.Bitrix.CAFile = str("bitrix.ca_file")
	cfg.Mapping.RepeatPurchaseField = str("mapping.repeat_purchase_field")
	cfg.Alerts.NotifyUserIDs = asIntList(v.Get("alerts.notify_user_ids"), "alerts.notify_user_ids", p)
	cfg.Serve.Listen = str("serve.listen")
	cfg.Serve.Every = asDuration(v.Get("serve.every"), "serve.every", p)
}

func asString(val any, key string, p *Errors) string {
	switch x := val.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	default:
		p.add(key, "must be %s, not %s", kString, describe(val))
		return ""
	}
}

func asFloat(val any, key string, p *Errors) float64 {
	switch x := val.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			p.add(key, "must be a finite number")
			return 0
		}
		return x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			p.add(key, "must be %s, not text", kFloat)
			return 0
		}
		return f
	default:
		p.add(key, "must be %s, not %s", kFloat, describe(val))
		return 0
	}
}

func asInt(val any, key string, p *Errors) int {
	switch x := val.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
			p.add(key, "must be %s", kInt)
			return 0
		}
		return int(x)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			p.add(key, "must be %s, not text", kInt)
			return 0
		}
		return n
	default:
		p.add(key, "must be %s, not %s", kInt, describe(val))
		return 0
	}
}

// asDuration accepts a Go duration ("30s", "1m30s") or a bare number of
// seconds, as an integrator would write either.
func asDuration(val any, key string, p *Errors) time.Duration {
	switch x := val.(type) {
	case int:
		return time.Duration(x) * time.Second
	case int64:
		return time.Duration(x) * time.Second
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
			p.add(key, "must be %s", kDuration)
			return 0
		}
		return time.Duration(x * float64(time.Second))
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return asDuration(f, key, p)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			p.add(key, "must be %s", kDuration)
			return 0
		}
		return d
	default:
		p.add(key, "must be %s, not %s", kDuration, describe(val))
		return 0
	}
}

// asStringList accepts a YAML list or, from the environment, a comma- or
// space-separated string.
func asStringList(val any, key string, p *Errors) []string {
	switch x := val.(type) {
	case nil:
		return nil
	case string:
		return splitList(x)
	case []any:
		out := make([]string, 0, len(x))
		for i, item := range x {
			switch it := item.(type) {
			case string:
				if s := strings.TrimSpace(it); s != "" {
					out = append(out, s)
				}
			case int, int64, float64:
				out = append(out, fmt.Sprint(it))
			default:
				p.add(fmt.Sprintf("%s[%d]", key, i), "must be a string, not %s", describe(item))
			}
		}
		return out
	default:
		p.add(key, "must be %s, not %s", kStringList, describe(val))
		return nil
	}
}

func asIntList(val any, key string, p *Errors) []int {
	var items []any
	switch x := val.(type) {
	case nil:
		return nil
	case string:
		for _, s := range splitList(x) {
			items = append(items, s)
		}
	case []any:
		items = x
	case int, int64, float64:
		items = []any{x}
	default:
		p.add(key, "must be %s, not %s", kIntList, describe(val))
		return nil
	}
	out := make([]int, 0, len(items))
	for i, item := range items {
		before := len(p.Fields)
		n := asInt(item, fmt.Sprintf("%s[%d]", key, i), p)
		if len(p.Fields) == before {
			out = append(out, n)
		}
	}
	return out
}

func splitList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// describe names the kind of a value that has the wrong type. It never
// shows the value: a secret put under the wrong key must not be echoed.
func describe(val any) string {
	switch val.(type) {
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	case bool:
		return "a boolean (true/false, yes/no)"
	case string:
		return "text"
	case int, int64, uint64, float64:
		return "a number"
	default:
		return "a value of another type"
	}
}
