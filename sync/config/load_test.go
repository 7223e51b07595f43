package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestKeysWrittenWithDots: a key may be written flat with its dots, as
// viper read it; the longest key written wins over a section.
func TestKeysWrittenWithDots(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, "retailcrm.url: https://shop.retailcrm.ru\nbitrix:\n  rate: 3\nbitrix.rate: 4\nretailcrm.api_key: dotted-key-0123\n")
	if err != nil {
		t.Fatal(err)
	}
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
	for _, tt := range []struct {
		body string
		want bool
		err  string
	}{
		{"db: a.db\n", true, ""},
		{"bitrix:\n  companies: false\n", false, ""},
		{"bitrix:\n  companies: no\n", false, ""},
		{"bitrix:\n  companies: \"off\"\n", false, ""},
		{"bitrix:\n  companies: true\n", true, ""},
		{"bitrix:\n  companies: maybe\n", false, "bitrix.companies: must be true or false"},
		{"bitrix:\n  companies: [1]\n", false, "bitrix.companies: must be true or false, not a list"},
	} {
		cfg, err := load(t, tt.body)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.body, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.body, err)
			continue
		}
		if cfg.Bitrix.Companies != tt.want {
			t.Errorf("%q: companies %v, want %v", tt.body, cfg.Bitrix.Companies, tt.want)
		}
	}
}
