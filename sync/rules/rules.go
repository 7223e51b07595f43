// Package rules reads the rules section of the configuration into typed
// rules, derives the events of an order from its history, matches rules to
// them and renders their texts. It writes nothing: the engine (package
// sync) turns the matched actions into Bitrix24 commands and records which
// fired. docs/rules.md is the reference.
package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/retailcrm"
)

// Action kinds, as rules write them in do:.
const (
	Task     = "task"
	Notify   = "notify"
	Comment  = "comment"
	Workflow = "workflow"
	Stage    = "stage"
)

// Rule is one entry of the rules section.
type Rule struct {
	// Index is the rule's place in the section (rules[Index]).
	Index int
	// On is the trigger as written: created, status:complete.
	On string
	// Key names the rule in the store of fired actions: rules[Index]:On.
	Key string
	// Actions in the order of their names.
	Actions []Action

	trigger string // created, status, …
	arg     string // the code of a valued trigger
	conds   []cond
	// textErrs are the problems of the rule's texts (see TextErrors).
	textErrs []*Error
}

// ResponsibleManager is the responsible_id of a task that goes to the
// deal's responsible manager.
const ResponsibleManager = "manager"

// Action is one action of a rule, its texts compiled.
type Action struct {
	Kind        string // Task, Notify, Comment, Workflow, Stage
	Text        *Text  // the comment, the task's title, the message
	Description *Text  // task
	Responsible int64  // task: the Bitrix24 user who gets it
	// ResponsibleManager: the task goes to the deal's responsible manager
	// (responsible_id: manager); Responsible is 0.
	ResponsibleManager bool
	Deadline           Deadline
	UserIDs            []int64 // notify
	TemplateID         int64   // workflow
	// Params are a workflow's parameters, by name.
	Params map[string]*Text
	Stage  string // stage
}

// Matches reports whether the rule fires on an event of an order whose
// current status is in group.
func (r *Rule) Matches(ev Event, o *retailcrm.Order, group string) bool {
	if r.trigger != ev.Trigger || (r.arg != "" && r.arg != ev.Arg) {
		return false
	}
	for _, c := range r.conds {
		if !c.holds(o, group) {
			return false
		}
	}
	return true
}

// cond is one parsed condition of a rule.
type cond struct {
	holds func(o *retailcrm.Order, group string) bool
}

// condition is one condition rules can set in if:, with how its value is
// read (once, when the rules are parsed).
type condition struct {
	name  string
	parse func(v string) (func(o *retailcrm.Order, group string) bool, error)
}

// conditions is every condition, in the order the help text lists them.
func conditions() []condition {
	equal := func(get func(o *retailcrm.Order, group string) string) func(string) (func(*retailcrm.Order, string) bool, error) {
		return func(v string) (func(*retailcrm.Order, string) bool, error) {
			return func(o *retailcrm.Order, group string) bool { return get(o, group) == v }, nil
		}
	}
	amount := func(cmp func(total, limit decimal.Decimal) bool) func(string) (func(*retailcrm.Order, string) bool, error) {
		return func(v string) (func(*retailcrm.Order, string) bool, error) {
			limit, err := decimal.NewFromString(v)
			if err != nil {
				return nil, fmt.Errorf("is not an amount (like 5000 or 1999.90)")
			}
			return func(o *retailcrm.Order, _ string) bool { return cmp(o.TotalSumm, limit) }, nil
		}
	}
	return []condition{
		{"method", equal(func(o *retailcrm.Order, _ string) string { return o.OrderMethod })},
		{"site", equal(func(o *retailcrm.Order, _ string) string { return o.Site })},
		{"status_group", equal(func(_ *retailcrm.Order, group string) string { return group })},
		{"amount_over", amount(decimal.Decimal.GreaterThan)},
		{"amount_under", amount(decimal.Decimal.LessThan)},
		{"paid", func(v string) (func(*retailcrm.Order, string) bool, error) {
			want, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("must be true or false")
			}
			return func(o *retailcrm.Order, _ string) bool { return o.FullyPaid() == want }, nil
		}},
	}
}

// Error is one problem with one rule. It names the key and the line of the
// configuration file, never the value: a secret put under the wrong key
// must not be printed by the very error that reports it.
type Error struct {
	Path    string // rules[1].do.task
	Line    int    // in the configuration file; 0 when unknown
	Problem string
}

func (e *Error) Error() string { return e.Path + ": " + e.Detail() }

// Detail is the problem with its line.
func (e *Error) Detail() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d)", e.Problem, e.Line)
	}
	return e.Problem
}

// TextErrors lists the problems of the rules' texts: a text that does not
// parse or names a field rule texts do not have. Parse leaves them out of
// its problems, so a configuration with them still loads: check lists them
// among its other findings, and a run refuses to start on any.
func TextErrors(rs []Rule) []error {
	var out []error
	for _, r := range rs {
		for _, e := range r.textErrs {
			out = append(out, e)
		}
	}
	return out
}

// triggerHelp lists the triggers for an error message.
func triggerHelp() string {
	var plain, valued []string
	for _, t := range triggers() {
		if t.valued {
			valued = append(valued, t.name+":<code>")
		} else {
			plain = append(plain, t.name)
		}
	}
	return "one of " + strings.Join(plain, ", ") + ", or " + strings.Join(valued, ", ")
}

// findTrigger reads on: into a trigger name and its code.
func findTrigger(on string) (name, arg string, ok bool) {
	name, arg, valued := strings.Cut(on, ":")
	for _, t := range triggers() {
		if t.name == name {
			return name, arg, t.valued == valued && (!valued || arg != "")
		}
	}
	return "", "", false
}
