package rules

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// parseYAML parses a rules section written as in the configuration file
// (its first line is line 1).
func parseYAML(t *testing.T, src string) ([]Rule, []*Error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	if len(doc.Content) == 0 {
		return Parse(nil)
	}
	return Parse(doc.Content[0])
}

const triggerList = "one of created, returned, repeat_purchase, paid, or status:<code>, status_group:<code>, method:<code>"

// Every mistake in the shape of a rule names the rule's key and the line,
// never the value (a secret put there by mistake is not printed).
func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []string // every problem, as printed
	}{
		{"not a list", "on: created\n", []string{"rules: must be a list of rules (line 1)"}},
		{"item not a mapping", "- created\n", []string{"rules[0]: must be a mapping with on: and do: (line 1)"}},
		{"missing trigger", "- do: { comment: x }\n", []string{"rules[0].on: missing; " + triggerList + " (line 1)"}},
		{"unknown trigger", "- on: TOPSECRETKEY123\n  do: { comment: x }\n", []string{"rules[0].on: unknown trigger; " + triggerList + " (line 1)"}},
		{"plain trigger with a code", "- on: created:x\n  do: { comment: x }\n", []string{"rules[0].on: unknown trigger; " + triggerList + " (line 1)"}},
		{"valued trigger without a code", "- on: 'status:'\n  do: { comment: x }\n", []string{"rules[0].on: unknown trigger; " + triggerList + " (line 1)"}},
		{"trigger not a string", "- on: [created]\n  do: { comment: x }\n", []string{"rules[0].on: must be a trigger string (line 1)"}},
		{"unknown key", "- on: created\n  when: TOPSECRETKEY123\n  do: { comment: x }\n", []string{"rules[0].when: unknown key; a rule has on:, if: and do: (line 2)"}},
		{"conditions not a mapping", "- on: created\n  if: [site]\n  do: { comment: x }\n", []string{"rules[0].if: must be a mapping (line 2)"}},
		{"unknown condition", "- on: created\n  if:\n    site: shop\n    colour: red\n  do: { comment: x }\n",
			[]string{"rules[0].if.colour: unknown condition; one of method, site, status_group, amount_over, amount_under, paid (line 4)"}},
		{"amount", "- on: created\n  if: { amount_over: TOPSECRETKEY123 }\n  do: { comment: x }\n",
			[]string{"rules[0].if.amount_over: is not an amount (like 5000 or 1999.90) (line 2)"}},
		{"condition not one value", "- on: created\n  if: { site: [a, b] }\n  do: { comment: x }\n", []string{"rules[0].if.site: must be a single value (line 2)"}},
		{"no actions", "- on: created\n", []string{"rules[0].do: missing; a rule needs at least one action (task, notify, comment, workflow, stage) (line 1)"}},
		{"empty actions", "- on: created\n  do: {}\n", []string{"rules[0].do: missing; a rule needs at least one action (task, notify, comment, workflow, stage) (line 2)"}},
		{"actions not a mapping", "- on: created\n  do: [comment]\n", []string{"rules[0].do: must be a mapping (line 2)"}},
		{"unknown action", "- on: created\n  do:\n    comment: x\n    email: x\n", []string{"rules[0].do.email: unknown action; one of task, notify, comment, workflow, stage (line 4)"}},
		{"secret as an action", "- on: created\n  do: { 1: [TOPSECRETKEY123] }\n", []string{"rules[0].do.1: unknown action; one of task, notify, comment, workflow, stage (line 2)"}},
		{"task not a mapping", "- on: created\n  do: { task: TOPSECRETKEY123 }\n", []string{"rules[0].do.task: must be a mapping with title and responsible_id (line 2)"}},
		{"second rule's task", "- on: created\n  do: { comment: hi }\n- on: returned\n  do:\n    task:\n      title: Call\n",
			[]string{"rules[1].do.task.responsible_id: missing or not a positive number: the Bitrix24 user id who gets the task, or manager (the deal's responsible manager) (line 5)"}},
		{"task ids", "- on: created\n  do:\n    task:\n      title: Call\n      responsible_id: [7]\n",
			[]string{"rules[0].do.task.responsible_id: missing or not a positive number: the Bitrix24 user id who gets the task, or manager (the deal's responsible manager) (line 5)"}},
		{"task title", "- on: created\n  do:\n    task: { title: ' ', responsible_id: 7 }\n",
			[]string{"rules[0].do.task.title: missing or not a text: the task's title (line 3)"}},
		{"task keys", "- on: created\n  do:\n    task:\n      title: Call\n      responsible_id: '7'\n      TOPSECRET: x\n",
			[]string{"rules[0].do.task.TOPSECRET: unknown key; a task has title, description, responsible_id, deadline (line 6)"}},
		{"task deadline", "- on: created\n  do:\n    task:\n      title: Call\n      responsible_id: 7\n      deadline: TOPSECRETKEY123\n",
			[]string{"rules[0].do.task.deadline: use a duration (2h, 30m, 3d), a time of day (18:00) or a date and time (2026-12-31 18:00) (line 6)"}},
		{"task deadline past", "- on: created\n  do:\n    task: { title: Call, responsible_id: 7, deadline: -2h }\n",
			[]string{"rules[0].do.task.deadline: must be in the future; use a duration (2h, 30m, 3d), a time of day (18:00) or a date and time (2026-12-31 18:00) (line 3)"}},
		{"task description", "- on: created\n  do:\n    task: { title: Call, responsible_id: 7, description: [x] }\n",
			[]string{"rules[0].do.task.description: must be a text (line 3)"}},
		{"notify not a mapping", "- on: created\n  do: { notify: hi }\n", []string{"rules[0].do.notify: must be a mapping with user_ids and message (line 2)"}},
		{"notify without users", "- on: created\n  do:\n    notify: { message: x, user_ids: [] }\n",
			[]string{"rules[0].do.notify.user_ids: missing or not a positive number: the Bitrix24 user ids to notify, e.g. [7] (line 3)"}},
		{"notify user 0", "- on: created\n  do:\n    notify:\n      message: x\n      user_ids: [7, 0]\n",
			[]string{"rules[0].do.notify.user_ids: missing or not a positive number: the Bitrix24 user ids to notify, e.g. [7] (line 5)"}},
		{"notify one user not in a list", "- on: created\n  do:\n    notify: { message: x, user_ids: 7 }\n",
			[]string{"rules[0].do.notify.user_ids: missing or not a positive number: the Bitrix24 user ids to notify, e.g. [7] (line 3)"}},
		{"notify without message", "- on: created\n  do:\n    notify: { user_ids: [7] }\n",
			[]string{"rules[0].do.notify.message: missing or not a text: the notification (line 3)"}},
		{"comment", "- on: created\n  do: { comment: '' }\n", []string{"rules[0].do.comment: must be a text (line 2)"}},
		{"workflow without template", "- on: returned\n  do:\n    workflow: { parameters: { a: b } }\n",
			[]string{"rules[0].do.workflow.template_id: missing or not a positive number: the id of a business process template on deals (line 3)"}},
		{"workflow parameters", "- on: returned\n  do:\n    workflow:\n      template_id: 3\n      parameters: TOPSECRETKEY123\n",
			[]string{"rules[0].do.workflow.parameters: must be a mapping of parameter name to text (line 5)"}},
		{"stage", "- on: created\n  do: { stage: 'new stage' }\n", []string{"rules[0].do.stage: must be a Bitrix24 stage id (like PREPARATION, or C1:NEW in funnel 1) (line 2)"}},
		{"paid condition", "- on: created\n  if: { paid: maybe }\n  do: { comment: x }\n", []string{"rules[0].if.paid: must be true or false (line 2)"}},
		{"every problem at once", "- on: shipped\n  if: { colour: red }\n  do: { email: x }\n- on: created\n",
			[]string{"rules[0].on: unknown trigger; " + triggerList + " (line 1)",
				"rules[0].if.colour: unknown condition; one of method, site, status_group, amount_over, amount_under, paid (line 2)",
				"rules[0].do.email: unknown action; one of task, notify, comment, workflow, stage (line 3)",
				"rules[1].do: missing; a rule needs at least one action (task, notify, comment, workflow, stage) (line 4)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, errs := parseYAML(t, tc.src)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
				if strings.Contains(e.Error(), "TOPSECRET") && !strings.Contains(e.Path, "TOPSECRET") {
					t.Errorf("the value is echoed: %s", e)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, r := range rs {
				for _, e := range errs {
					if strings.HasPrefix(e.Path, "rules["+strconv.Itoa(r.Index)+"]") {
						t.Errorf("rule %d was kept with a problem: %s", r.Index, e)
					}
				}
			}
		})
	}
}

// A rule's texts are compiled when the rules are parsed; their problems
// (a text that does not parse, or names a field texts do not have) are kept
// with the rule, for check to list and a run to refuse.
func TestTextErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      string // the problem's start
		line      int
	}{
		{"unknown field", "- on: created\n  do: { comment: x }\n- on: created\n  do:\n    comment: 'Order {{.Numbr}}'\n",
			"rules[1].do.comment: template: comment:1:8: executing \"comment\" at <.Numbr>: can't evaluate field Numbr", 5},
		{"title", "- on: created\n  do:\n    task:\n      responsible_id: 1\n      title: 'x {{.Nope'\n", "rules[0].do.task: template: title:1: unclosed action", 5},
		{"description", "- on: created\n  do:\n    task: { title: x, responsible_id: 1, description: '{{.Nope}}' }\n", "rules[0].do.task: description: template: description:1:2:", 3},
		{"message", "- on: created\n  do:\n    notify: { user_ids: [1], message: '{{.Number' }\n", "rules[0].do.notify: template: notify:1: unclosed action", 3},
		{"workflow parameter", "- on: returned\n  do:\n    workflow:\n      template_id: 3\n      parameters:\n        A: '{{.X}}'\n",
			"rules[0].do.workflow: parameters.A: template: A:1:2:", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, errs := parseYAML(t, tc.src)
			if len(errs) != 0 {
				t.Fatalf("problems of shape: %v", errs)
			}
			got := TextErrors(rs)
			if len(got) != 1 || !strings.HasPrefix(got[0].Error(), tc.want) {
				t.Fatalf("text errors %v, want one starting %q", got, tc.want)
			}
			if e := got[0].(*Error); e.Line != tc.line || !strings.HasSuffix(e.Error(), " (line "+strconv.Itoa(tc.line)+")") {
				t.Errorf("line %d in %q, want %d", e.Line, e, tc.line)
			}
		})
	}
}

// Valid rules come out typed: triggers, conditions, actions in the order
// of their names, ids, deadlines and compiled texts.
func TestParseValidRules(t *testing.T) {
	t.Parallel()
	src := `- on: created
  if: { method: phone, amount_over: 5000 }
  do:
    task:
      title: "Call {{.CustomerName}} about order {{.Number}}"
      description: "{{.Amount}} {{.Currency}}"
      responsible_id: 7
      deadline: 2h
- on: status_group:cancel
  do:
    notify: { user_ids: [7, "12"], message: "Order {{.Number}} cancelled" }
- on: " returned "
  do:
    workflow: { template_id: 12, parameters: { OrderNumber: "{{.Number}}", Fixed: 5 } }
    comment: "Return of {{.ReturnedItems}}"
- on: repeat_purchase
  do:
    stage: C1:PREPARATION
`
	rs, errs := parseYAML(t, src)
	if len(errs) != 0 || len(TextErrors(rs)) != 0 {
		t.Fatalf("problems %v %v", errs, TextErrors(rs))
	}
	if len(rs) != 4 {
		t.Fatalf("%d rules", len(rs))
	}
	var keys []string
	for _, r := range rs {
		keys = append(keys, r.Key)
	}
	if want := []string{"rules[0]:created", "rules[1]:status_group:cancel", "rules[2]:returned", "rules[3]:repeat_purchase"}; !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	task := rs[0].Actions[0]
	if task.Kind != Task || task.Responsible != 7 || !task.Deadline.Set() || task.Text == nil || task.Description == nil {
		t.Errorf("task %+v", task)
	}
	if n := rs[1].Actions[0]; n.Kind != Notify || !slices.Equal(n.UserIDs, []int64{7, 12}) {
		t.Errorf("notify %+v", n)
	}
	if a := rs[2].Actions; len(a) != 2 || a[0].Kind != Comment || a[1].Kind != Workflow || a[1].TemplateID != 12 || len(a[1].Params) != 2 {
		t.Errorf("actions of rule 2 (want comment, then workflow): %+v", a)
	}
	if s := rs[3].Actions[0]; s.Kind != Stage || s.Stage != "C1:PREPARATION" {
		t.Errorf("stage %+v", s)
	}
	if rs, errs := Parse(nil); rs != nil || errs != nil {
		t.Errorf("no section: %v %v", rs, errs)
	}
}
