package main

import (
	"strings"
	"testing"
)

func TestCheckReportsRuleTemplateErrors(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	rules := `rules:
  - on: created
    do:
      comment: "Order {{.Number}} for {{.CustomerName}}"
  - on: status_group:cancel
    do:
      task: { title: "Order {{.Numbr}} cancelled", responsible_id: 7 }
  - on: returned
    do:
      notify: { user_ids: [7], message: "Return of {{.Number" }
`
	cfg := writeConfig(t, t.TempDir(), f.config(fullMapping+rules))
	r := runInProcess(t, "--config", cfg, "check", "--json")
	r.mustCode(t, exitConfig)
	rep := checkJSON(t, r)
	var details []string
	for _, fd := range findingOf(rep, "rules") {
		if fd.Status == checkFail {
			details = append(details, fd.Detail)
		}
	}
	got := strings.Join(details, "\n")
	if len(details) != 2 || !strings.Contains(got, "rules[1].do.task") || !strings.Contains(got, "Numbr") ||
		!strings.Contains(got, "rules[2].do.notify") {
		t.Errorf("rule findings:\n%s", got)
	}
	// A run refuses the same configuration at start, as a configuration error.
	runInProcess(t, "--config", cfg, "--db", t.TempDir()+"/db", "pull").mustSay(t, exitConfig, "rules[1].do.task")
}

func TestCheckFixCreatesProfileFields(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	extra := fullMapping + `  profile_fields:
    orders_count: UF_CRM_ORDERS_COUNT
    total_spent: UF_CRM_TOTAL_SPENT
    last_order_date: UF_CRM_LAST_ORDER
  repeat_purchase_field: UF_CRM_REPEAT
`
	cfg := writeConfig(t, t.TempDir(), f.config(extra))
	r := runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitConfig)
	if !strings.Contains(r.stdout, "UF_CRM_ORDERS_COUNT does not exist") {
		t.Errorf("check output:\n%s", r.stdout)
	}
	r = runInProcess(t, "--config", cfg, "check", "--fix")
	r.mustCode(t, exitOK)
	wantAll(t, "--fix output", r.stdout, "created the contact user field UF_CRM_ORDERS_COUNT (integer)", "UF_CRM_TOTAL_SPENT (double)",
		"UF_CRM_LAST_ORDER (date)", "created the deal user field UF_CRM_REPEAT (boolean)")
	runInProcess(t, "--config", cfg, "check").mustCode(t, exitOK)
}
