package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/sync/config"
)

// fullMapping covers every status group of the fake RetailCRM.
const fullMapping = `mapping:
  statuses:
    new: NEW
    group:approval: PREPARATION
    group:assembling: PREPAYMENT_INVOICE
    group:delivery: EXECUTING
    group:complete: WON
    group:cancel: LOSE
`

func checkJSON(t *testing.T, r result) checkReport {
	t.Helper()
	return decodeJSON[checkReport](t, r, "check")
}

func findingOf(rep checkReport, check string) []finding {
	var out []finding
	for _, f := range rep.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

func TestCheckAllGood(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, f.config(fullMapping+"  order_methods:\n    phone: CALL\n"))
	r := runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitOK)
	wantAll(t, "check output", r.stdout, "retailcrm.scopes", "account time zone Europe/Moscow", "all 9 active RetailCRM statuses map to a stage",
		"bitrix.scopes", "every mapped stage exists in DEAL_STAGE", "requisite presets for organisations and sole traders are in place",
		"everything needed is in place")
	rep := checkJSON(t, runInProcess(t, "--config", cfg, "check", "--json"))
	if !rep.OK || len(rep.Findings) < 6 {
		t.Errorf("report %+v", rep)
	}
}

func TestCheckFindsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rcOpts retailcrmtest.Options
		bxOpts bitrixtest.Options
		extra  string
		check  string
		want   string
	}{
		{"key lacks a scope", retailcrmtest.Options{Scopes: []string{"order_read", "reference_read"}}, bitrixtest.Options{}, fullMapping,
			"retailcrm.scopes", "the API key lacks order_write (push: statuses and manager comments); customer_read (pull: customer changes; backfill"},
		{"key lacks customer_read", retailcrmtest.Options{Scopes: []string{"order_read", "order_write", "reference_read"}}, bitrixtest.Options{}, fullMapping,
			"retailcrm.scopes", "the API key lacks customer_read (pull: customer changes; backfill: the customers history head)"},
		{"webhook lacks a scope", retailcrmtest.Options{}, bitrixtest.Options{Scopes: []string{"crm"}}, fullMapping + "alerts:\n  notify_user_ids: [1]\n",
			"bitrix.scopes", "the webhook lacks the scope(s) im"},
		{"unmapped statuses", retailcrmtest.Options{}, bitrixtest.Options{}, "",
			"mapping.statuses", "no stage for the RetailCRM status(es) assembling (group assembling)"},
		{"mapping names an unknown status", retailcrmtest.Options{}, bitrixtest.Options{}, fullMapping + "    Complete: WON\n",
			"mapping.statuses", "names statuses or groups RetailCRM does not have: Complete"},
		{"stage missing from funnel", retailcrmtest.Options{}, bitrixtest.Options{}, strings.Replace(fullMapping, "new: NEW", "new: UC_NOPE", 1),
			"bitrix.stages", "mapped stages missing from DEAL_STAGE: new → UC_NOPE"},
		{"funnel missing", retailcrmtest.Options{}, bitrixtest.Options{}, "",
			"bitrix.funnel", "bitrix.category_id 7: the portal has no such deal funnel"},
		{"standard field misspelt", retailcrmtest.Options{}, bitrixtest.Options{}, fullMapping + "  deal_fields:\n    COMMENTZ: customerComment\n",
			"mapping.deal_fields", "the deal has no field(s) COMMENTZ"},
		{"user field missing", retailcrmtest.Options{}, bitrixtest.Options{}, fullMapping + "  deal_fields:\n    UF_CRM_DELIVERY: delivery.code\n",
			"mapping.deal_fields", "run crmsync check --fix"},
		{"unknown store", retailcrmtest.Options{}, bitrixtest.Options{}, "",
			"retailcrm.sites", "names stores RetailCRM does not have: outlet"},
		{"requisite preset missing", retailcrmtest.Options{}, bitrixtest.Options{}, fullMapping,
			"bitrix.companies", "no active requisite preset #CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL# (sole trader)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, tt.rcOpts, tt.bxOpts)
			body := f.config(tt.extra)
			switch tt.name {
			case "funnel missing":
				body = strings.Replace(body, "bitrix:\n", "bitrix:\n  category_id: 7\n", 1) + "mapping:\n  statuses:\n    group:new: C7:NEW\n"
			case "unknown store":
				body = strings.Replace(body, "retailcrm:\n", "retailcrm:\n  sites: [outlet]\n", 1) + fullMapping
			case "requisite preset missing":
				f.bx.DeletePreset(2)
			}
			cfg := writeConfig(t, t.TempDir(), body)
			r := runInProcess(t, "--config", cfg, "check", "--json")
			r.mustCode(t, exitConfig)
			rep := checkJSON(t, r)
			found := false
			for _, fd := range findingOf(rep, tt.check) {
				if fd.Status == checkFail && strings.Contains(fd.Detail+" "+fd.Fix, tt.want) {
					found = true
				}
			}
			if !found || rep.OK {
				t.Errorf("no failing %s finding with %q in %+v", tt.check, tt.want, rep.Findings)
			}
		})
	}
}

func TestCheckFixCreatesUserFields(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	cfg := writeConfig(t, t.TempDir(), f.config(fullMapping+"  deal_fields:\n    UF_CRM_DELIVERY: delivery.code\n  contact_fields:\n    UF_CRM_RCRM_ID: customer.id\n"))
	runInProcess(t, "--config", cfg, "check").mustCode(t, exitConfig)
	r := runInProcess(t, "--config", cfg, "check", "--fix")
	r.mustCode(t, exitOK)
	if !strings.Contains(r.stdout, "created the deal user field UF_CRM_DELIVERY") || !strings.Contains(r.stdout, "created the contact user field UF_CRM_RCRM_ID") {
		t.Errorf("--fix output:\n%s", r.stdout)
	}
	runInProcess(t, "--config", cfg, "check").mustCode(t, exitOK)
}

func TestCheckInitWritesAWorkingConfig(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	dir := t.TempDir()
	r := runInProcess(t, "--config", writeConfig(t, dir, f.config("")), "check", "--init")
	r.mustCode(t, exitOK)
	if strings.Contains(r.stdout, f.rc.APIKey()) || strings.Contains(r.stdout, f.bx.Secret()) {
		t.Fatalf("--init printed a secret:\n%s", r.stdout)
	}
	wantAll(t, "--init", r.stdout, "group:complete: WON", "group:cancel: LOSE", "group:new: NEW", `"phone": CALL`,
		// The deal-content keys, and the shop's own dictionaries by code and name.
		"\nlocale: ru ", "\n  deal_title: \"Заказ №{{.Number}}\" ", "\n  # products: ", "\n  # values: ", "\n  # paid_field: ",
		"\n  #   courier: Курьер\n", "\n  #   self-delivery: Самовывоз\n", "\n  #   bank-card: Банковская карта\n", "\n  #   cash: Наличные\n",
		// The keys the header points at exist.
		"# CRMSYNC_BITRIX_WEBHOOK_URL in the environment", "# them in retailcrm.api_key_file and bitrix.webhook_url_file.")
	// Filled in with the secrets, the generated file passes check.
	generated := strings.Replace(r.stdout, `api_key: ""`, "api_key: "+f.rc.APIKey(), 1)
	generated = strings.Replace(generated, `webhook_url: ""`, "webhook_url: "+f.bx.WebhookURL(), 1)
	p := filepath.Join(dir, "generated.yaml")
	if err := os.WriteFile(p, []byte(generated), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(viper.New(), config.Options{File: p}); err != nil {
		t.Fatalf("generated config does not load: %v\n%s", err, generated)
	}
	runInProcess(t, "--config", p, "check").mustCode(t, exitOK)
}

// TestCheckInitNeutralisesNames: status group, stage and order method names
// (and codes) from the services are written into comments and keys; line
// breaks and # in them must not start a line of configuration. The file
// written with hostile names loads to the same configuration as the file
// written with plain ones.
func TestCheckInitNeutralisesNames(t *testing.T) {
	t.Parallel()
	generate := func(hostile bool) (string, *config.Config) {
		f := defaultFakes(t)
		if hostile {
			f.rc.AddStatusGroup(retailcrm.StatusGroup{Code: "new", Name: "Новый\n# x\ndb: /srv/evil.db", Active: true, Ordering: 10})
			f.rc.AddStatusGroup(retailcrm.StatusGroup{Code: "cancel", Name: "Отменен #1\u2028bitrix: {entity: lead}", Active: true, Ordering: 60})
			f.bx.SeedStage("DEAL_STAGE", "WON", "Won\r\nrules: [{on: created, do: {comment: pwned}}]", "S", 60)
			f.bx.SeedStage("DEAL_STAGE", "NEW", "New\rserve: {listen: '0.0.0.0:80'}", "", 10)
			f.rc.AddOrderMethod(retailcrm.OrderMethod{Code: "phone", Name: "Phone\nalerts: {notify_user_ids: [1]}", Active: true})
			f.rc.AddDeliveryType(retailcrm.DeliveryType{Code: "courier", Name: "Курьер\nlocale: en", Active: true})
			f.rc.AddPaymentType(retailcrm.PaymentType{Code: "cash", Name: "Наличные\u2028mapping: {deal_title: x}", Active: true})
		}
		dir := t.TempDir()
		r := runInProcess(t, "--config", writeConfig(t, dir, f.config("")), "check", "--init")
		r.mustCode(t, exitOK)
		// The fakes' URLs differ between the two runs; the rest must not.
		out := strings.ReplaceAll(r.stdout, f.rc.URL(), "https://shop.retailcrm.ru")
		p := filepath.Join(dir, "generated.yaml")
		if err := os.WriteFile(p, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(viper.New(), config.Options{File: p})
		if err != nil {
			t.Fatalf("generated config does not load: %v\n%s", err, out)
		}
		return out, cfg
	}
	plainOut, plain := generate(false)
	hostileOut, hostile := generate(true)
	ignore := cmp.FilterPath(func(p cmp.Path) bool { s := p.String(); return s == "File" || s == "Searched" }, cmp.Ignore())
	if diff := cmp.Diff(plain, hostile, ignore); diff != "" {
		t.Errorf("hostile names changed the configuration (-plain +hostile):\n%s\n%s", diff, hostileOut)
	}
	if len(hostile.Rules) != 0 || hostile.DB != config.DefaultDB || hostile.Bitrix.Entity != config.EntityDeal {
		t.Errorf("injected settings took effect: %+v", hostile)
	}
	topKeys := func(doc string) []string {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(m))
	}
	if diff := cmp.Diff(topKeys(plainOut), topKeys(hostileOut)); diff != "" {
		t.Errorf("top-level keys differ:\n%s\n%s", diff, hostileOut)
	}
	if got, want := strings.Count(hostileOut, "\n"), strings.Count(plainOut, "\n"); got != want || strings.Contains(hostileOut, "\r") {
		t.Errorf("hostile names added lines (%d, want %d):\n%s", got, want, hostileOut)
	}
	if !strings.Contains(hostileOut, "Won  rules: [{on: created") || !strings.Contains(hostileOut, "# Новый # x db: /srv/evil.db") {
		t.Errorf("names should stay readable in their comment:\n%s", hostileOut)
	}
}

func TestYAMLStringRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"new", "group:complete", "C1:WON", "https://x.retailcrm.ru", "./crmsync.db", "a b", "a: b", "#x", "x #y",
		"line\nbreak", "cr\r\nlf", "yes", "null", "123", "-1", "group:", "'q'", `"dq"`, "tab\there", "\u2028", "ключ", "{a: 1}", "[1]", "*ref", "&a", "!tag", "%x", "@x", "`x", "|", ">"} {
		var got map[string]string
		doc := yamlString(s) + ": " + yamlString(s) + "   # " + yamlComment(s) + "\n"
		if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
			t.Errorf("%q: %v in %q", s, err, doc)
			continue
		}
		if len(got) != 1 || got[s] != s {
			t.Errorf("%q read back as %q from %q", s, got, doc)
		}
	}
}

// TestCheckReportsManagers: check names the scopes manager matching needs
// and the active RetailCRM managers without a Bitrix24 user.
func TestCheckReportsManagers(t *testing.T) {
	t.Parallel()
	seed := func(f fakes) {
		f.rc.AddUser(retailcrm.User{ID: 14, Active: true, IsManager: true, FirstName: "Anna", Email: "anna@shop.example"})
		f.rc.AddUser(retailcrm.User{ID: 15, Active: true, IsManager: true, FirstName: "Boris", Email: "boris@shop.example"})
		f.rc.AddUser(retailcrm.User{ID: 16, Active: true, IsManager: true, FirstName: "Vera", Email: "vera@shop.example"})
		f.rc.AddUser(retailcrm.User{ID: 17, Active: true, FirstName: "Admin", Email: "admin@shop.example"}) // not a manager
		f.bx.SeedUser(bitrixtest.UserRow{Email: "Anna@shop.example", Active: true})
	}
	for _, tt := range []struct {
		name         string
		rcScopes     []string
		bxScopes     []string
		status, want string
		check        string
	}{
		{"a manager without a Bitrix24 user", nil, nil, checkWarn, "1 of 3 active RetailCRM manager(s) have no Bitrix24 user: 16 Vera <vera@shop.example>", "managers"},
		{"user_brief only", nil, []string{"crm", "user_brief"}, checkWarn, "the webhook has only user_brief, which shows no e-mails", "managers.scopes"},
		{"no user_read", []string{"order_read", "order_write", "customer_read", "reference_read"}, nil, checkWarn,
			"the API key lacks user_read", "managers.scopes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, retailcrmtest.Options{Scopes: tt.rcScopes}, bitrixtest.Options{Scopes: tt.bxScopes})
			seed(f)
			cfg := writeConfig(t, t.TempDir(), f.config(fullMapping+"  managers: {\"15\": 1}\n"))
			rep := checkJSON(t, runInProcess(t, "--config", cfg, "check", "--json"))
			fs := findingOf(rep, tt.check)
			if len(fs) != 1 || fs[0].Status != tt.status || !strings.Contains(fs[0].Detail, tt.want) {
				t.Errorf("%s findings %+v, want %s %q", tt.check, fs, tt.status, tt.want)
			}
		})
	}
}

// A key without customer_read fails check up front, and a pull or backfill
// that meets the refusal anyway exits 4 naming the scope to allow.
func TestMissingCustomerReadIsAConfigurationError(t *testing.T) {
	t.Parallel()
	f := newFakes(t, retailcrmtest.Options{Scopes: []string{"order_read", "order_write", "reference_read"}}, bitrixtest.Options{})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, f.pullConfig())
	f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}})

	r := runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitConfig)
	if !strings.Contains(r.stdout, "FAIL retailcrm.scopes") || !strings.Contains(r.stdout, "customer_read (pull: customer changes") {
		t.Errorf("check output:\n%s", r.stdout)
	}
	for _, cmd := range []string{"pull", "backfill"} {
		r := runInProcess(t, "--config", cfg, "--db", filepath.Join(dir, cmd+".db"), cmd)
		r.mustCode(t, exitConfig)
		if !strings.Contains(r.stderr, "/api/v5/customers/history: HTTP 403: Access denied.") ||
			!strings.Contains(r.stderr, "needs the API key scope customer_read") || strings.Contains(r.stderr, f.rc.APIKey()) {
			t.Errorf("%s stderr:\n%s", cmd, r.stderr)
		}
	}
}
