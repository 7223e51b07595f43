package config

import (
	"testing"

	"github.com/crmsync/crmsync/sync/rules"
)

// The profile keys are checked when the file is loaded; the rules' own
// problems are package rules' (TestParseErrors there), the loader only
// passes them on with the file's lines (TestRuleProblemsNameTheLineNotTheValue).
func TestRulesAndProfileValidation(t *testing.T) {
	t.Parallel()
	loadInvalidCases(t, []invalidCase{
		{"unknown profile key", "mapping:\n  profile_fields:\n    lifetime_value: UF_CRM_LTV\n",
			[]string{"mapping.profile_fields.lifetime_value: unknown profile value; one of orders_count, total_spent"}, nil},
		{"profile field name", "mapping:\n  profile_fields:\n    orders_count: uf_crm_n\n",
			[]string{"mapping.profile_fields.orders_count: is not a Bitrix24 field name (upper case, like UF_CRM_ORDERS_COUNT) (line 3)"}, nil},
		{"profile field twice", "mapping:\n  profile_fields:\n    orders_count: UF_CRM_N\n    total_spent: UF_CRM_N\n",
			[]string{"mapping.profile_fields.total_spent: names the same field as mapping.profile_fields.orders_count; each profile value needs its own field (line 4)"}, nil},
		{"repeat field", "mapping:\n  repeat_purchase_field: 'x y'\n", []string{"mapping.repeat_purchase_field"}, nil},
	})
}

func TestProfileFieldsKeepCase(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, "mapping:\n  profile_fields:\n    orders_count: UF_CRM_OrdersCount_X\n    last_order_number: UF_CRM_LAST\n  repeat_purchase_field: UF_CRM_REPEAT\n"+
		"rules:\n  - on: created\n    do:\n      task: { title: Call, responsible_id: 7, deadline: '18:00' }\n")
	if err == nil {
		t.Fatalf("lower-case letters in a field name pass: %+v", cfg.Mapping.ProfileFields)
	}
	cfg, err = load(t, "mapping:\n  profile_fields:\n    orders_count: UF_CRM_ORDERS_COUNT\n    last_order_number: UF_CRM_LAST\n  repeat_purchase_field: UF_CRM_REPEAT\n"+
		"rules:\n  - on: created\n    do:\n      task: { title: Call, responsible_id: 7, deadline: '18:00' }\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mapping.ProfileFields["orders_count"] != "UF_CRM_ORDERS_COUNT" || cfg.Mapping.RepeatPurchaseField != "UF_CRM_REPEAT" {
		t.Errorf("%+v", cfg.Mapping)
	}
}

// Loading checks every rule once, through package rules: a mistake in a
// rule's shape fails the load naming the key and its line, never the value,
// and a rule text's mistake is left for check to list (a run refuses it).
func TestRuleProblemsNameTheLineNotTheValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, want string
	}{
		{"missing id", "rules:\n  - on: created\n    do:\n      task: { title: Call }\n",
			"rules[0].do.task.responsible_id: missing or not a positive number: the Bitrix24 user id who gets the task, or manager (the deal's responsible manager) (line 4)"},
		{"amount", "rules:\n  - on: created\n    if: { amount_over: TOPSECRETKEY123 }\n    do: { comment: x }\n",
			"rules[0].if.amount_over: is not an amount (like 5000 or 1999.90) (line 3)"},
		{"deadline", "rules:\n  - on: created\n    do:\n      task: { title: Call, responsible_id: 7, deadline: TOPSECRETKEY123 }\n",
			"rules[0].do.task.deadline: use a duration (2h, 30m, 3d), a time of day (18:00) or a date and time (2026-12-31 18:00) (line 4)"},
		{"user ids", "rules:\n  - on: created\n    do:\n      notify: { message: x, user_ids: 7 }\n",
			"rules[0].do.notify.user_ids: missing or not a positive number: the Bitrix24 user ids to notify, e.g. [7] (line 4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loadInvalid(t, tc.body, []string{tc.want}, []string{"TOPSECRET"})
		})
	}
	cfg, err := load(t, "rules:\n  - on: created\n    do: { comment: 'Order {{.Numbr}}' }\n")
	if err != nil {
		t.Fatalf("a text's mistake fails the load: %v", err)
	}
	if len(cfg.Rules) != 1 || len(rules.TextErrors(cfg.Rules)) != 1 {
		t.Errorf("rules %+v, text errors %v", cfg.Rules, rules.TextErrors(cfg.Rules))
	}
}
