package config

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

// TestEveryScalarKeyFromTheEnvironment: each key that is not a section of
// data (a mapping, the rules, the funnels) is read from CRMSYNC_<PATH> and
// beats the file. The table must name every such key, so a key added later
// is covered too.
//
// Not parallel: uses the process environment.
func TestEveryScalarKeyFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	secret := func(name, body string) string { return writeFile(t, dir, name, body+"\n") }
	ca := writeFile(t, dir, "ca.pem", testCA(t))
	// key → value in the file, value in the environment, what the key reads as with the latter.
	cases := map[string]struct {
		file, env string
		want      any
	}{
		"db":                            {"file.db", "env.db", "env.db"},
		"phone_region":                  {"RU", "kz", "KZ"},
		"locale":                        {"ru", "EN", "en"},
		"log_format":                    {"text", "json", "json"},
		"log_level":                     {"info", "debug", "debug"},
		"retailcrm.url":                 {"https://file.retailcrm.ru", "https://env.retailcrm.ru/", "https://env.retailcrm.ru"},
		"retailcrm.api_key":             {"file-key-0123", "env-key-0123", "env-key-0123"},
		"retailcrm.api_key_file":        {"", secret("key", "envfile-key-0123"), "envfile-key-0123"},
		"retailcrm.sites":               {"[a]", "shop, outlet", []string{"shop", "outlet"}},
		"retailcrm.rate":                {"5", "6.5", 6.5},
		"retailcrm.timeout":             {"10s", "45s", 45 * time.Second},
		"bitrix.webhook_url":            {"https://p.bitrix24.ru/rest/1/filesecret", "https://p.bitrix24.ru/rest/2/envsecret", "https://p.bitrix24.ru/rest/2/envsecret/"},
		"bitrix.webhook_url_file":       {"", secret("hook", "https://p.bitrix24.ru/rest/3/envfilesecret/"), "https://p.bitrix24.ru/rest/3/envfilesecret/"},
		"bitrix.rate":                   {"1", "5", 5.0},
		"bitrix.burst":                  {"10", "250", 250},
		"bitrix.timeout":                {"10s", "90", 90 * time.Second},
		"bitrix.entity":                 {"deal", "LEAD", "lead"},
		"bitrix.category_id":            {"0", "2", nil},
		"bitrix.originator_id":          {"file-orig", "env-orig", "env-orig"},
		"bitrix.assigned_by_id":         {"3", "12", 12},
		"bitrix.ca_file":                {"", ca, ca},
		"bitrix.companies":              {"true", "false", false},
		"mapping.deal_title":            {"File {{.Number}}", "Env {{.Number}}", "Env {{.Number}}"},
		"mapping.repeat_purchase_field": {"UF_CRM_FILE", "UF_CRM_ENV", "UF_CRM_ENV"},
		"mapping.products.match":        {"none", "external_id", "external_id"},
		"mapping.products.iblock_id":    {"1", "14", 14},
		"mapping.paid_field":            {"UF_CRM_FILEPAID", "UF_CRM_ENVPAID", "UF_CRM_ENVPAID"},
		"mapping.deleted_stage":         {"WON", "C0:LOSE", "C0:LOSE"},
		"alerts.notify_user_ids":        {"[1]", "3,4", []int{3, 4}},
		"serve.listen":                  {"127.0.0.1:1", ":9090", ":9090"},
		"serve.every":                   {"1m", "2m", 2 * time.Minute},
		"serve.retailcrm_token":         {"file-token-0123456789", "env-token-0123456789", "env-token-0123456789"},
		"serve.retailcrm_token_file":    {"", secret("rctoken", "envfile-token-0123456789"), "envfile-token-0123456789"},
		"serve.bitrix_token":            {"file-bx-token", "env-bx-token", "env-bx-token"},
		"serve.bitrix_token_file":       {"", secret("bxtoken", "envfile-bx-token"), "envfile-bx-token"},
		"serve.public_url":              {"https://file.example.com", "https://env.example.com", "https://env.example.com"},
	}
	// A value the environment sets is checked with the rest: a funnel other
	// than 0 needs stages of that funnel, which the environment cannot give.
	refused := map[string]string{
		"bitrix.category_id": "names a stage of the default funnel, but bitrix.category_id is 2",
	}
	for _, f := range fields() {
		switch f.kind {
		case kStringMap, kValueMaps, kRules, kFunnels:
			continue
		}
		tt, ok := cases[f.path]
		if !ok {
			t.Errorf("%s: no case; add one", f.path)
			continue
		}
		t.Run(f.path, func(t *testing.T) {
			// The file sets the key (a _file key's secret in the file), the
			// environment sets it again: the environment wins.
			body := ""
			if tt.file != "" {
				body = yamlAt(f.path, tt.file)
			}
			p := writeFile(t, t.TempDir(), "crmsync.yaml", body)
			t.Setenv(EnvName(f.path), tt.env)
			cfg, err := Load(viper.New(), Options{File: p, CredentialsDir: filepath.Join(dir, "none")})
			if want, ok := refused[f.path]; ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s=%q: error %v, want %q", EnvName(f.path), tt.env, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s=%q: %v", EnvName(f.path), tt.env, err)
			}
			path := f.path
			if f.index == nil { // a _file key fills its secret
				path = strings.TrimSuffix(path, "_file")
			}
			if got := valueAt(cfg, path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s=%q: %s reads %#v, want %#v", EnvName(f.path), tt.env, path, got, tt.want)
			}
		})
	}
}

// testCA is a PEM certificate, as bitrix.ca_file wants.
func testCA(t *testing.T) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// yamlAt writes value at a dotted key path as nested YAML.
func yamlAt(path, value string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i < len(parts)-1 {
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, " %q\n", value)
	if strings.HasPrefix(value, "[") {
		return strings.Replace(b.String(), fmt.Sprintf("%q", value), value, 1)
	}
	return b.String()
}

// valueAt is the value of a key path in cfg.
func valueAt(cfg *Config, path string) any {
	for _, f := range fields() {
		if f.path == path {
			return reflect.ValueOf(cfg).Elem().FieldByIndex(f.index).Interface()
		}
	}
	return nil
}
