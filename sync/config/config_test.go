package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

const exampleYAML = `
db: ./shop.db
phone_region: kz
retailcrm:
  url: https://example.retailcrm.ru/
  api_key: rcrm-key-123456
  sites: [shop, outlet]
  rate: 5
  timeout: 45s
bitrix:
  webhook_url: https://example.bitrix24.ru/rest/7/hooksecret123
  rate: 5
  burst: 250
  timeout: 90
  entity: deal
  category_id: 1
  originator_id: shop-rcrm
  assigned_by_id: 12
mapping:
  statuses:
    new: C1:NEW
    Client-Confirmed: C1:PREPARATION
    group:complete: C1:WON
    group:cancel: C1:LOSE
  stages:
    C1:EXECUTING: assembling
  order_methods:
    phone: CALL
    shopping-cart: WEB
  deal_fields:
    UF_CRM_DELIVERY: delivery.code
  contact_fields:
    UF_CRM_NPS: customFields.nps
rules:
  - on: created
    if: { method: phone }
    do:
      task: { title: "Call back about order {{.Number}}", responsible_id: 7, deadline: 2h }
  - on: status_group:cancel
    do:
      notify: { user_ids: [7], message: "Order {{.Number}} cancelled" }
alerts:
  notify_user_ids: [1, 7]
`

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, body string) (*Config, error) {
	t.Helper()
	p := writeFile(t, t.TempDir(), "crmsync.yaml", body)
	return Load(viper.New(), Options{File: p})
}

// mustLoad loads body, which the loader must take.
func mustLoad(t *testing.T, body string) *Config {
	t.Helper()
	cfg, err := load(t, body)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// invalidCase is a configuration the loader refuses: its error says each
// of want and none of notWant.
type invalidCase struct {
	name, body    string
	want, notWant []string
}

// loadInvalidCases runs loadInvalid on each case, in parallel.
func loadInvalidCases(t *testing.T, cases []invalidCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loadInvalid(t, tt.body, tt.want, tt.notWant)
		})
	}
}

// loadInvalid loads body and wants it refused with ErrInvalid and an
// error that says each of want and none of notWant (a value to keep out).
func loadInvalid(t *testing.T, body string, want, notWant []string) {
	t.Helper()
	_, err := load(t, body)
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%v is not ErrInvalid", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	for _, nw := range notWant {
		if strings.Contains(err.Error(), nw) {
			t.Errorf("error %q contains %q", err, nw)
		}
	}
}

func TestLoadExample(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, exampleYAML)
	want := &Config{
		DB:          "./shop.db",
		PhoneRegion: "KZ",
		Locale:      "ru",
		LogFormat:   "text",
		LogLevel:    "info",
		RetailCRM:   RetailCRM{URL: "https://example.retailcrm.ru", APIKey: "rcrm-key-123456", Sites: []string{"shop", "outlet"}, Rate: 5, Timeout: 45 * time.Second},
		Bitrix: Bitrix{WebhookURL: "https://example.bitrix24.ru/rest/7/hooksecret123/", Rate: 5, Burst: 250, Timeout: 90 * time.Second, Entity: "deal",
			CategoryID: 1, OriginatorID: "shop-rcrm", AssignedByID: 12, Companies: true},
		Mapping: Mapping{
			Statuses:      map[string]string{"new": "C1:NEW", "Client-Confirmed": "C1:PREPARATION", "group:complete": "C1:WON", "group:cancel": "C1:LOSE"},
			Stages:        map[string]string{"C1:EXECUTING": "assembling"},
			OrderMethods:  map[string]string{"phone": "CALL", "shopping-cart": "WEB"},
			DealFields:    map[string]string{"UF_CRM_DELIVERY": "delivery.code"},
			ContactFields: map[string]string{"UF_CRM_NPS": "customFields.nps"},
			Products:      Products{Match: ProductsMatchNone},
		},
		Alerts: Alerts{NotifyUserIDs: []int{1, 7}},
		Serve:  Serve{Listen: "127.0.0.1:8080", Every: 5 * time.Minute},
	}
	// The rules are parsed (package rules tests them); here, that they are read.
	got := *cfg
	got.Rules = nil
	if diff := cmp.Diff(want, &got, cmpIgnoreFile()); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if rs := cfg.Rules; len(rs) != 2 || rs[0].Key != "rules[0]:created" || rs[0].Actions[0].Responsible != 7 ||
		rs[1].Key != "rules[1]:status_group:cancel" || !slices.Equal(rs[1].Actions[0].UserIDs, []int64{7}) {
		t.Errorf("rules %+v", rs)
	}
	// The file holds secrets, so check looks at its permissions.
	if diff := cmp.Diff([]SecretFile{{Path: cfg.File, Key: "retailcrm.api_key, bitrix.webhook_url"}}, cfg.SecretFiles); diff != "" {
		t.Errorf("secret files (-want +got):\n%s", diff)
	}
	if err := cfg.RequireAPIs(); err != nil {
		t.Errorf("RequireAPIs: %v", err)
	}
	if s, ok := cfg.Mapping.StageFor("Client-Confirmed", "approval"); !ok || s != "C1:PREPARATION" {
		t.Errorf("StageFor exact = %q %v", s, ok)
	}
	if s, ok := cfg.Mapping.StageFor("complete", "complete"); !ok || s != "C1:WON" {
		t.Errorf("StageFor group = %q %v", s, ok)
	}
	if _, ok := cfg.Mapping.StageFor("client-confirmed", ""); ok {
		t.Error("status codes must be case-sensitive")
	}
}

func cmpIgnoreFile() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		s := p.String()
		return s == "File" || s == "Searched" || s == "SecretFiles"
	}, cmp.Ignore())
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load(viper.New(), Options{SearchPath: []string{filepath.Join(t.TempDir(), "none.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != "" || cfg.DB != DefaultDB || cfg.Bitrix.Rate != 2 || cfg.Bitrix.Burst != 50 || cfg.RetailCRM.Rate != 8 ||
		cfg.RetailCRM.Timeout != 30*time.Second || cfg.Bitrix.Timeout != 75*time.Second ||
		cfg.Bitrix.Entity != "deal" || cfg.Bitrix.OriginatorID != "retailcrm" || cfg.PhoneRegion != "RU" {
		t.Errorf("defaults wrong: %+v", cfg)
	}
	if diff := cmp.Diff(DefaultStatuses(), cfg.Mapping.Statuses); diff != "" {
		t.Errorf("default statuses: %s", diff)
	}
	err = cfg.RequireAPIs()
	for _, want := range []string{"retailcrm.url: required", "CRMSYNC_RETAILCRM_API_KEY", "bitrix.webhook_url: required", "no configuration file found"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RequireAPIs error %v lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("not ErrInvalid")
	}
}

// Not parallel: uses the process environment.
func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	body := "db: file.db\nbitrix:\n  rate: 3\n  burst: 40\nretailcrm:\n  api_key: from-file-key\n"
	p := writeFile(t, t.TempDir(), "crmsync.yaml", body)
	t.Setenv("CRMSYNC_DB", "env.db")
	t.Setenv("CRMSYNC_BITRIX_RATE", "4")
	t.Setenv("CRMSYNC_RETAILCRM_API_KEY", "from-env-key")
	t.Setenv("CRMSYNC_BITRIX_WEBHOOK_URL", "https://p.bitrix24.ru/rest/1/envsecret/")
	t.Setenv("CRMSYNC_ALERTS_NOTIFY_USER_IDS", "3, 4")
	t.Setenv("CRMSYNC_BITRIX_TIMEOUT", "2.5s")

	v := viper.New()
	Prepare(v)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("db", "", "")
	if err := v.BindPFlag("db", fs.Lookup("db")); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(v, Options{File: p})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != "env.db" {
		t.Errorf("env should beat file: db=%q", cfg.DB)
	}
	if cfg.Bitrix.Rate != 4 || cfg.Bitrix.Burst != 40 || cfg.RetailCRM.Rate != 8 {
		t.Errorf("rate=%v burst=%v rcrm rate=%v", cfg.Bitrix.Rate, cfg.Bitrix.Burst, cfg.RetailCRM.Rate)
	}
	if cfg.Bitrix.Timeout != 2500*time.Millisecond {
		t.Errorf("CRMSYNC_BITRIX_TIMEOUT not read: %s", cfg.Bitrix.Timeout)
	}
	if cfg.RetailCRM.APIKey != "from-env-key" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/1/envsecret/" {
		t.Errorf("nested env keys not read: %+v", cfg.RetailCRM)
	}
	if diff := cmp.Diff([]int{3, 4}, cfg.Alerts.NotifyUserIDs); diff != "" {
		t.Error(diff)
	}

	if err := fs.Parse([]string{"--db", "flag.db"}); err != nil {
		t.Fatal(err)
	}
	v2 := viper.New()
	Prepare(v2)
	if err := v2.BindPFlag("db", fs.Lookup("db")); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(v2, Options{File: p})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != "flag.db" {
		t.Errorf("flag should beat env: db=%q", cfg.DB)
	}
}

func TestSearchOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	local := writeFile(t, dir, "a/crmsync.yaml", "db: local.db\n")
	xdg := writeFile(t, dir, "xdg/crmsync/crmsync.yaml", "db: xdg.db\n")
	cfg, err := Load(viper.New(), Options{SearchPath: []string{local, xdg}})
	if err != nil || cfg.DB != "local.db" || cfg.File != local {
		t.Fatalf("first file should win: %v %+v", err, cfg)
	}
	cfg, err = Load(viper.New(), Options{SearchPath: []string{filepath.Join(dir, "missing.yaml"), xdg}})
	if err != nil || cfg.DB != "xdg.db" {
		t.Fatalf("second file should be used: %v %+v", err, cfg)
	}
	paths := DefaultSearchPath()
	if paths[0] != "crmsync.yaml" || paths[len(paths)-1] != "/etc/crmsync/crmsync.yaml" {
		t.Errorf("default search path %v", paths)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	loadInvalidCases(t, []invalidCase{
		{"unknown key with suggestion", "retailcrm:\n  api_kee: x\n", []string{"retailcrm.api_kee: unknown key (line 2); did you mean retailcrm.api_key?"}, nil},
		{"unknown top key", "colour: red\n", []string{"colour: unknown key"}, nil},
		{"wrong type", "bitrix:\n  rate: fast\n", []string{`bitrix.rate: must be a number, not text (line 2)`}, []string{"fast"}},
		{"wrong int", "bitrix:\n  burst: 2.5\n", []string{"bitrix.burst: must be a whole number"}, nil},
		{"section as scalar", "bitrix: yes\n", []string{"bitrix: must be a section of keys (webhook_url: webhook_url_file: rate: ...), not a single value (line 1)"}, nil},
		{"secret as section", "retailcrm: TOPSECRETKEY123\n", []string{"retailcrm: must be a section of keys", "(line 1)"}, []string{"TOPSECRETKEY123"}},
		{"secret as list item", "retailcrm:\n  sites: [[TOPSECRETKEY123]]\n", []string{"retailcrm.sites[0]: must be a string, not a list (line 2)"}, []string{"TOPSECRETKEY123"}},
		{"secret as number", "bitrix:\n  burst: TOPSECRETKEY123\n", []string{"bitrix.burst: must be a whole number, not text (line 2)"}, []string{"TOPSECRETKEY123"}},
		{"secret as log level", "log_level: TOPSECRETKEY123\n", []string{"log_level: must be debug, info, warn or error (line 1)"}, []string{"TOPSECRETKEY123"}},
		{"secret as log format", "db: x.db\nlog_format: TOPSECRETKEY123\n", []string{"log_format: must be text or json (line 2)"}, []string{"TOPSECRETKEY123"}},
		{"secret as region", "phone_region: TOPSECRETKEY123\n", []string{"phone_region: unknown region"}, []string{"TOPSECRETKEY123"}},
		{"secret as url", "retailcrm:\n  url: TOPSECRETKEY123\n", []string{"retailcrm.url: not an http(s) URL"}, []string{"TOPSECRETKEY123"}},
		{"secret in url path", "retailcrm:\n  url: https://shop.retailcrm.ru/TOPSECRETKEY123\n", []string{"retailcrm.url: must be the account's base URL without a path"}, []string{"TOPSECRETKEY123"}},
		{"secret as entity", "bitrix:\n  entity: TOPSECRETKEY123\n", []string{"bitrix.entity: must be deal or lead (line 2)"}, []string{"TOPSECRETKEY123"}},
		{"secret as site", "retailcrm:\n  sites: [shop, 'TOPSECRET KEY123']\n", []string{"retailcrm.sites[1]: is not a store code"}, []string{"TOPSECRET"}},
		{"secret as stage", "mapping:\n  statuses:\n    new: TOPSECRET-KEY123\n", []string{"mapping.statuses.new: is not a Bitrix24 stage id"}, []string{"TOPSECRET"}},
		{"secret as timeout", "bitrix:\n  timeout: TOPSECRETKEY123\n", []string{"bitrix.timeout: must be a duration"}, []string{"TOPSECRETKEY123"}},
		{"secret as listen", "serve:\n  listen: TOPSECRETKEY123\n", []string{"serve.listen: must be HOST:PORT", "(line 2)"}, []string{"TOPSECRETKEY123"}},
		{"short serve token", "serve:\n  retailcrm_token: TOPSECRET\n", []string{"serve.retailcrm_token: must be at least 16 characters"}, []string{"TOPSECRET"}},
		{"secret as rule trigger", "rules:\n  - on: TOPSECRETKEY123\n    do: { comment: x }\n", []string{"rules[0].on: unknown trigger", "(line 2)"}, []string{"TOPSECRETKEY123"}},
		{"secret as ca file", "bitrix:\n  ca_file: TOPSECRETKEY123\n", []string{"bitrix.ca_file: cannot read the file"}, []string{"TOPSECRETKEY123"}},
		{"secret as rule do", "rules:\n  - on: created\n    do: { 1: [TOPSECRETKEY123] }\n", []string{"rules[0].do"}, []string{"TOPSECRETKEY123"}},
		{"serve every", "serve:\n  every: 1s\n", []string{"serve.every: must be between 10s and 24h0m0s (line 2)"}, nil},
		{"serve public url", "serve:\n  public_url: ftp://u:TOPSECRETPW@x/\n", []string{"serve.public_url: must be the http(s) address", "(line 2)"}, []string{"TOPSECRETPW"}},
		{"serve public url relative", "serve:\n  public_url: crmsync.example.com\n", []string{"serve.public_url: must be the http(s) address"}, nil},
		{"bad webhook", "bitrix:\n  webhook_url: https://p.bitrix24.ru/rest/abc/topsecret77/\n",
			[]string{"bitrix.webhook_url: must look like https://PORTAL/rest/USER_ID/SECRET/"}, []string{"topsecret77"}},
		{"http webhook refused", "bitrix:\n  webhook_url: http://p.bitrix24.ru/rest/1/topsecret77/\n",
			[]string{"bitrix.webhook_url: must look like", "plain http:// is refused"}, []string{"topsecret77"}},
		{"http retailcrm refused", "retailcrm:\n  url: http://shop.retailcrm.ru\n", []string{"retailcrm.url: plain http:// is refused"}, nil},
		{"retailcrm path", "retailcrm:\n  url: https://shop.retailcrm.ru/api/v5\n", []string{"retailcrm.url: must be the account's base URL without a path"}, nil},
		{"stage shape", "mapping:\n  statuses:\n    new: new stage\n", []string{`mapping.statuses.new: is not a Bitrix24 stage id (like NEW, WON, UC_ABC123, or C1:NEW in funnel 1) (line 3)`}, []string{"new stage"}},
		{"stage funnel", "bitrix:\n  category_id: 2\nmapping:\n  statuses:\n    new: C1:NEW\n", []string{`mapping.statuses.new: names a stage of funnel 1, but bitrix.category_id is 2 (line 5)`}, []string{"C1:NEW"}},
		{"default-funnel stage in funnel", "bitrix:\n  category_id: 3\nmapping:\n  statuses:\n    new: NEW\n", []string{"prefix the stage with C3:"}, nil},
		{"empty group", "mapping:\n  statuses:\n    'group:': WON\n", []string{"mapping.statuses.group:: a group entry needs the group code"}, nil},
		{"status value not scalar", "mapping:\n  statuses:\n    new: [NEW]\n", []string{"mapping.statuses.new: must be a string value"}, nil},
		{"stages to group", "mapping:\n  stages:\n    WON: group:complete\n", []string{"mapping.stages.WON: must name one RetailCRM status, not a group"}, nil},
		{"deal field", "mapping:\n  deal_fields:\n    uf_crm_x: delivery.code\n", []string{`mapping.deal_fields.uf_crm_x: the key is not a Bitrix24 field name`}, nil},
		{"entity", "bitrix:\n  entity: company\n", []string{`bitrix.entity: must be deal or lead (line 2)`}, []string{"company"}},
		{"timeout word", "bitrix:\n  timeout: soon\n", []string{`bitrix.timeout: must be a duration such as 30s or 2m (line 2)`}, []string{"soon"}},
		{"timeout too long", "retailcrm:\n  timeout: 30m\n", []string{"retailcrm.timeout: must be between 100ms and 10m0s (line 2)"}, nil},
		{"timeout zero", "retailcrm:\n  timeout: 0\n", []string{"retailcrm.timeout: must be between 100ms and 10m0s (line 2)"}, nil},
		{"rate zero", "bitrix:\n  rate: 0\n", []string{"bitrix.rate: must be a positive number"}, nil},
		{"phone region", "phone_region: XX\n", []string{`phone_region: unknown region; use a two-letter ISO code such as RU, KZ, DE (line 1)`}, []string{"XX"}},
		{"rule trigger", "rules:\n  - on: shipped\n    do: { comment: x }\n", []string{`rules[0].on: unknown trigger; one of`}, []string{"shipped"}},
		{"locale", "locale: de\n", []string{"locale: must be ru or en (line 1)"}, nil},
		{"deal title field", "mapping:\n  deal_title: 'Order {{.Numbr}}'\n", []string{"mapping.deal_title: is not a valid template", "(line 2)"}, nil},
		{"rule action", "rules:\n  - on: created\n    do: { email: x }\n", []string{"rules[0].do.email: unknown action"}, nil},
		{"rule without do", "rules:\n  - on: created\n", []string{"rules[0].do: missing"}, nil},
		{"alerts ids", "alerts:\n  notify_user_ids: [0, x]\n", []string{"alerts.notify_user_ids[0]: must be a Bitrix24 user id", `alerts.notify_user_ids[1]: must be a whole number, not text (line 2)`}, nil},
		{"ca file", "bitrix:\n  ca_file: /nonexistent/ca.pem\n", []string{"bitrix.ca_file: cannot read the file: no such file or directory (line 2)"}, []string{"/nonexistent"}},
		{"top not mapping", "- a\n- b\n", []string{"not valid YAML", "top level must be a mapping"}, nil},
		{"malformed", "bitrix:\n  rate: 2\n   burst: 4\n", []string{"not valid YAML", "line 3"}, nil},
		{"duplicate key", "mapping:\n  statuses:\n    new: NEW\n    new: WON\n", []string{"not valid YAML", "already defined"}, nil},
	})
}

func TestLoopbackHTTPAllowed(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "retailcrm:\n  url: http://127.0.0.1:8080\nbitrix:\n  webhook_url: http://localhost:9090/rest/1/abc123\n")
	if cfg.RetailCRM.URL != "http://127.0.0.1:8080" || cfg.Bitrix.WebhookURL != "http://localhost:9090/rest/1/abc123/" {
		t.Errorf("%+v %+v", cfg.RetailCRM, cfg.Bitrix)
	}
}

func TestMissingExplicitFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(viper.New(), Options{File: p})
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
	_, err = Load(viper.New(), Options{File: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("dir err = %v", err)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "# nothing yet\n")
	if cfg.DB != DefaultDB {
		t.Errorf("db %q", cfg.DB)
	}
}

func TestStatusForStage(t *testing.T) {
	t.Parallel()
	m := Mapping{
		Statuses: map[string]string{"new": "NEW", "client-confirmed": "PREPARATION", "assembling": "PREPARATION", "group:complete": "WON", "complete": "WON"},
		Stages:   map[string]string{"EXECUTING": "delivering"},
	}
	tests := []struct {
		stage, want string
		ok          bool
	}{
		{"NEW", "new", true},
		{"EXECUTING", "delivering", true},
		{"PREPARATION", "", false}, // two statuses map there
		{"WON", "complete", true},  // the group entry is ignored
		{"LOSE", "", false},
	}
	for _, tt := range tests {
		got, ok := m.StatusForStage(tt.stage)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StatusForStage(%s) = %q %v, want %q %v", tt.stage, got, ok, tt.want, tt.ok)
		}
	}
}

func TestKeysAndEnvNames(t *testing.T) {
	t.Parallel()
	if got := EnvName("retailcrm.api_key"); got != "CRMSYNC_RETAILCRM_API_KEY" {
		t.Error(got)
	}
	if got := EnvName("bitrix.webhook_url"); got != "CRMSYNC_BITRIX_WEBHOOK_URL" {
		t.Error(got)
	}
	if len(Keys()) != 46 {
		t.Errorf("keys: %v", Keys())
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(exampleYAML)
	f.Add("bitrix:\n  rate: fast\n")
	f.Add("- a\n")
	f.Add("mapping: {statuses: {new: C1:NEW}}\nbitrix: {category_id: 1}\n")
	f.Fuzz(func(t *testing.T, body string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(viper.New(), Options{File: p})
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error not ErrInvalid: %v", err)
		}
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

// TestKeysWrittenWithDots: a key may be written flat with its dots, as
// viper read it; the longest key written wins over a section.
func TestKeysWrittenWithDots(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, "retailcrm.url: https://shop.retailcrm.ru\nbitrix:\n  rate: 3\nbitrix.rate: 4\nretailcrm.api_key: dotted-key-0123\n")
	if cfg.RetailCRM.URL != "https://shop.retailcrm.ru" || cfg.Bitrix.Rate != 4 || cfg.RetailCRM.APIKey != "dotted-key-0123" {
		t.Errorf("dotted keys not read: %+v %+v", cfg.RetailCRM, cfg.Bitrix)
	}
	if len(cfg.SecretFiles) != 1 || cfg.SecretFiles[0].Key != "retailcrm.api_key" {
		t.Errorf("the file holds a secret: %+v", cfg.SecretFiles)
	}
}

// TestKeysTheDecoderRefuses: what the YAML decoder refused when it decoded
// the file a second time is still refused, without the value.
func TestKeysTheDecoderRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, body, want string }{
		{"twice at the top", "db: a.db\nphone_region: RU\ndb: b.db\n", `line 3: mapping key "db" already defined at line 1`},
		{"twice in a rule", "rules:\n  - on: created\n    do: {comment: x, comment: y}\n", `mapping key "comment" already defined`},
		{"list as key", "bitrix:\n  ? [TOPSECRET]\n  : x\n", "line 2: a key must be a single value, not a list or a mapping"},
		{"bad tag", "bitrix:\n  timeout: !!int TOPSECRET\n", "cannot decode !!str a value as a !!int"},
		{"alias", "retailcrm:\n  api_key: *TOPSECRET\n", "unknown anchor (a value that starts with * or &: put it in quotes) referenced"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loadInvalid(t, tt.body, []string{"not valid YAML: ", tt.want}, []string{"TOPSECRET"})
		})
	}
}

// TestPartialConfig: a configuration with a problem still tells what it
// sets elsewhere, for the commands that run without a valid one.
func TestPartialConfig(t *testing.T) {
	t.Parallel()
	_, err := load(t, "db: kept.db\nlog_level: debug\nretailcrm:\n  api_key: partial-key-0123\nbitrix:\n  rate: fast\n")
	problems, ok := errors.AsType[*Errors](err)
	if !ok || problems.Partial == nil {
		t.Fatalf("no partial configuration: %v", err)
	}
	p := problems.Partial
	if p.DB != "kept.db" || p.LogLevel != "debug" || p.LogFormat != DefaultLogFormat || !slices.Contains(p.Secrets(), "partial-key-0123") {
		t.Errorf("partial %+v", p)
	}
}

// TestCompaniesSwitch: bitrix.companies is on unless the file or the
// environment turns it off; anything but a boolean is refused by key.
func TestCompaniesSwitch(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]bool{
		"db: a.db\n":                      true,
		"bitrix:\n  companies: false\n":   false,
		"bitrix:\n  companies: no\n":      false,
		"bitrix:\n  companies: \"off\"\n": false,
		"bitrix:\n  companies: true\n":    true,
	} {
		if got := mustLoad(t, body).Bitrix.Companies; got != want {
			t.Errorf("%q: companies %v, want %v", body, got, want)
		}
	}
	loadInvalidCases(t, []invalidCase{
		{"not a boolean", "bitrix:\n  companies: maybe\n", []string{"bitrix.companies: must be true or false"}, nil},
		{"a list", "bitrix:\n  companies: [1]\n", []string{"bitrix.companies: must be true or false, not a list"}, nil},
	})
}

func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := writeFile(t, dir, "secrets/key", "file-key-0123456789\n")
	hook := writeFile(t, dir, "secrets/hook", "  https://p.bitrix24.ru/rest/3/filesecret99/\r\n")
	rcTok := writeFile(t, dir, "secrets/rc-token", "rc-token-0123456789abcdef")
	bxTok := writeFile(t, dir, "secrets/bx-token", "bxapptoken42\n")
	p := writeFile(t, dir, "crmsync.yaml", "retailcrm:\n  url: https://shop.retailcrm.ru\n  api_key_file: "+key+
		"\nbitrix:\n  webhook_url_file: "+hook+"\nserve:\n  retailcrm_token_file: "+rcTok+"\n  bitrix_token_file: "+bxTok+"\n")
	cfg, err := Load(viper.New(), Options{File: p, CredentialsDir: filepath.Join(dir, "no-credentials")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetailCRM.APIKey != "file-key-0123456789" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/3/filesecret99/" ||
		cfg.Serve.RetailCRMToken != "rc-token-0123456789abcdef" || cfg.Serve.BitrixToken != "bxapptoken42" {
		t.Errorf("secrets not read from their files (or the newline kept): %+v %+v %+v", cfg.RetailCRM, cfg.Bitrix, cfg.Serve)
	}
	if err := cfg.RequireAPIs(); err != nil {
		t.Error(err)
	}
	want := []SecretFile{{key, "retailcrm.api_key_file"}, {hook, "bitrix.webhook_url_file"}, {rcTok, "serve.retailcrm_token_file"}, {bxTok, "serve.bitrix_token_file"}}
	if diff := cmp.Diff(want, cfg.SecretFiles); diff != "" {
		t.Errorf("secret files (-want +got):\n%s", diff)
	}
	for _, s := range []string{"file-key-0123456789", "filesecret99", "rc-token-0123456789abcdef", "bxapptoken42"} {
		if !slices.ContainsFunc(cfg.Secrets(), func(x string) bool { return strings.Contains(x, s) }) {
			t.Errorf("Secrets() lacks %s", s)
		}
	}
}

func TestCredentialsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	writeFile(t, creds, "retailcrm_api_key", "cred-key-0123456789\n")
	writeFile(t, creds, "bitrix_webhook_url", "https://p.bitrix24.ru/rest/3/credsecret77/\n")
	writeFile(t, creds, "serve_retailcrm_token", "cred-rc-token-0123456789")
	writeFile(t, creds, "serve_bitrix_token", "cred-bx-token")

	p := writeFile(t, dir, "crmsync.yaml", "retailcrm:\n  url: https://shop.retailcrm.ru\n")
	cfg, err := Load(viper.New(), Options{File: p, CredentialsDir: creds})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetailCRM.APIKey != "cred-key-0123456789" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/3/credsecret77/" ||
		cfg.Serve.RetailCRMToken != "cred-rc-token-0123456789" || cfg.Serve.BitrixToken != "cred-bx-token" {
		t.Errorf("credentials not read: %+v %+v %+v", cfg.RetailCRM, cfg.Bitrix, cfg.Serve)
	}
	if len(cfg.SecretFiles) != 0 {
		t.Errorf("systemd's credentials are not the operator's files to chmod: %+v", cfg.SecretFiles)
	}

	// A value or a _file set explicitly beats the credentials directory.
	key := writeFile(t, dir, "key", "explicit-file-key\n")
	p = writeFile(t, dir, "explicit.yaml", "retailcrm:\n  api_key_file: "+key+"\nbitrix:\n  webhook_url: https://p.bitrix24.ru/rest/3/yamlsecret/\n")
	cfg, err = Load(viper.New(), Options{File: p, CredentialsDir: creds})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetailCRM.APIKey != "explicit-file-key" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/3/yamlsecret/" || cfg.Serve.BitrixToken != "cred-bx-token" {
		t.Errorf("precedence: %+v %+v %+v", cfg.RetailCRM, cfg.Bitrix, cfg.Serve)
	}

	// A credential that is wrong is reported under its key, without its value.
	bad := filepath.Join(dir, "bad-credentials")
	writeFile(t, bad, "bitrix_webhook_url", "https://p.bitrix24.ru/rest/x/credsecret77/\n")
	writeFile(t, bad, "retailcrm_api_key", "")
	_, err = Load(viper.New(), Options{File: p, CredentialsDir: bad})
	if err != nil {
		t.Fatalf("explicit values should shadow bad credentials: %v", err)
	}
	_, err = Load(viper.New(), Options{SearchPath: []string{}, CredentialsDir: bad})
	for _, want := range []string{"bitrix.webhook_url: must look like", "(read from the systemd credential bitrix_webhook_url)", "retailcrm.api_key: systemd credential retailcrm_api_key: the file is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "credsecret77") {
		t.Errorf("error echoes the credential: %v", err)
	}
}

func TestSecretFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty", "\n")
	twoLines := writeFile(t, dir, "two", "TOPSECRET1\nTOPSECRET2\n")
	big := writeFile(t, dir, "big", strings.Repeat("A", 70<<10))
	key := writeFile(t, dir, "key", "TOPSECRET3\n")
	for _, tt := range []struct{ name, body, want string }{
		{"value and file", "retailcrm:\n  api_key: TOPSECRET0\n  api_key_file: " + key + "\n",
			"retailcrm.api_key_file: is set together with retailcrm.api_key; keep one"},
		{"missing", "serve:\n  bitrix_token_file: " + filepath.Join(dir, "nope") + "\n", "serve.bitrix_token_file: the file does not exist (line 2)"},
		{"empty", "retailcrm:\n  api_key_file: " + empty + "\n", "retailcrm.api_key_file: the file is empty (line 2)"},
		{"two lines", "bitrix:\n  webhook_url_file: " + twoLines + "\n", "bitrix.webhook_url_file: the file holds more than one line"},
		{"too big", "serve:\n  retailcrm_token_file: " + big + "\n", "serve.retailcrm_token_file: the file is larger than 64 KiB"},
		{"directory", "retailcrm:\n  api_key_file: " + dir + "\n", "retailcrm.api_key_file: names a directory"},
		{"bad token from file", "serve:\n  retailcrm_token_file: " + key + "\n",
			"serve.retailcrm_token: must be at least 16 characters of A-Z, a-z, 0-9, '.', '_', '~' or '-' (it is part of the trigger's URL), e.g. from openssl rand -hex 16 (read from the file named by serve.retailcrm_token_file)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loadInvalid(t, tt.body, []string{tt.want}, []string{"TOPSECRET", "AAAA"})
		})
	}
}

// Not parallel: uses the process environment.
func TestSecretEnvAndFileTogether(t *testing.T) {
	dir := t.TempDir()
	key := writeFile(t, dir, "key", "file-key-0123456789\n")
	p := writeFile(t, dir, "crmsync.yaml", "retailcrm:\n  api_key_file: "+key+"\n")
	t.Setenv("CRMSYNC_RETAILCRM_API_KEY", "env-key-0123456789")
	t.Setenv("CRMSYNC_SERVE_RETAILCRM_TOKEN", "env-rc-token-0123456789")
	t.Setenv("CRMSYNC_SERVE_BITRIX_TOKEN", "env-bx-token")
	t.Setenv("CRMSYNC_SERVE_LISTEN", ":9090")
	t.Setenv("CRMSYNC_SERVE_EVERY", "2m")
	_, err := Load(viper.New(), Options{File: p})
	if err == nil || !strings.Contains(err.Error(), "retailcrm.api_key_file: is set together with retailcrm.api_key") || strings.Contains(err.Error(), "0123456789") {
		t.Fatalf("err = %v", err)
	}
	cfg, err := Load(viper.New(), Options{File: writeFile(t, dir, "plain.yaml", "")})
	if err != nil {
		t.Fatal(err)
	}
	want := Serve{Listen: ":9090", Every: 2 * time.Minute, RetailCRMToken: "env-rc-token-0123456789", BitrixToken: "env-bx-token"}
	if cfg.Serve != want || cfg.RetailCRM.APIKey != "env-key-0123456789" {
		t.Errorf("serve from the environment: %+v", cfg.Serve)
	}
	if len(cfg.SecretFiles) != 0 {
		t.Errorf("nothing holds a secret on disk: %+v", cfg.SecretFiles)
	}
}

func TestConfigFileHoldingSecretsIsListed(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, "serve:\n  bitrix_token: yaml-bx-token\n  every: 90s\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SecretFiles) != 1 || cfg.SecretFiles[0].Path != cfg.File || cfg.SecretFiles[0].Key != "serve.bitrix_token" {
		t.Errorf("secret files %+v", cfg.SecretFiles)
	}
	if cfg.Serve.Every.Seconds() != 90 || cfg.Serve.Listen != DefaultServeListen {
		t.Errorf("serve %+v", cfg.Serve)
	}
	cfg, err = load(t, "retailcrm:\n  api_key: \"\"\n")
	if err != nil || len(cfg.SecretFiles) != 0 {
		t.Errorf("an empty key holds no secret: %v %+v", err, cfg)
	}
}

func TestCredentialNames(t *testing.T) {
	t.Parallel()
	var got []string
	for _, k := range SecretKeys() {
		got = append(got, CredentialName(k))
		if !slices.Contains(Keys(), k) || !slices.Contains(Keys(), k+"_file") {
			t.Errorf("%s or its _file form is not in the schema", k)
		}
	}
	if diff := cmp.Diff([]string{"retailcrm_api_key", "bitrix_webhook_url", "serve_retailcrm_token", "serve_bitrix_token"}, got); diff != "" {
		t.Error(diff)
	}
}
