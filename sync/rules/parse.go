package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// stagePattern is a Bitrix24 stage id: NEW, WON, UC_A1B2C3 in the default
// funnel; C1:NEW in funnel 1 (the configuration's mapping checks stages the
// same way).
var stagePattern = regexp.MustCompile(`^(C(\d+):)?[A-Z0-9_]+$`)

// Parse reads the rules section as the YAML parser gives it (nil when the
// file has none). Its problems are mistakes in the shape of the rules (an
// unknown trigger, condition or action, a missing id, a bad deadline or
// amount), each naming its key and line; a rule with one is left out. The
// problems of the rules' texts are kept with the rules (TextErrors).
func Parse(n *yaml.Node) ([]Rule, []*Error) {
	n = resolve(n)
	if n == nil || isNull(n) {
		return nil, nil
	}
	p := &parser{}
	if n.Kind != yaml.SequenceNode {
		p.fail("rules", n.Line, "must be a list of rules")
		return nil, p.errs
	}
	var out []Rule
	for i, item := range n.Content {
		before := len(p.errs)
		r := p.rule(i, resolve(item))
		if len(p.errs) == before {
			out = append(out, r)
		}
	}
	return out, p.errs
}

type parser struct {
	errs []*Error
}

func (p *parser) fail(path string, line int, format string, args ...any) {
	p.errs = append(p.errs, &Error{Path: path, Line: line, Problem: fmt.Sprintf(format, args...)})
}

func (p *parser) rule(i int, n *yaml.Node) Rule {
	path := fmt.Sprintf("rules[%d]", i)
	r := Rule{Index: i}
	if n.Kind != yaml.MappingNode {
		p.fail(path, n.Line, "must be a mapping with on: and do:")
		return r
	}
	onLine, doLine := n.Line, n.Line
	var ifNode, doNode *yaml.Node
	onBad := false
	for _, kv := range pairs(n) {
		switch kv.key {
		case "on":
			onLine = kv.line
			if kv.val.Kind != yaml.ScalarNode {
				p.fail(path+".on", kv.val.Line, "must be a trigger string")
				onBad = true
				continue
			}
			r.On = strings.TrimSpace(kv.val.Value)
		case "if":
			ifNode = kv.val
		case "do":
			doNode, doLine = kv.val, kv.line
		default:
			p.fail(path+"."+kv.key, kv.line, "unknown key; a rule has on:, if: and do:")
		}
	}
	switch {
	case onBad:
	case r.On == "":
		p.fail(path+".on", onLine, "missing; %s", triggerHelp())
	default:
		name, arg, ok := findTrigger(r.On)
		if !ok {
			p.fail(path+".on", onLine, "unknown trigger; %s", triggerHelp())
		}
		r.trigger, r.arg = name, arg
	}
	r.Key = fmt.Sprintf("rules[%d]:%s", i, r.On)
	if ifNode != nil {
		p.conditions(&r, path+".if", ifNode)
	}
	p.actions(&r, path+".do", doNode, doLine)
	return r
}

func (p *parser) conditions(r *Rule, path string, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.fail(path, n.Line, "must be a mapping")
		return
	}
	known := conditions()
	var names []string
	for _, c := range known {
		names = append(names, c.name)
	}
	for _, kv := range pairs(n) {
		if kv.keyNode.Kind != yaml.ScalarNode {
			p.fail(path, kv.line, "keys must be plain names")
			continue
		}
		at := path + "." + kv.key
		i := slices.IndexFunc(known, func(c condition) bool { return c.name == kv.key })
		if i < 0 {
			p.fail(at, kv.line, "unknown condition; one of %s", strings.Join(names, ", "))
			continue
		}
		v, ok := scalar(kv.val)
		if !ok {
			p.fail(at, kv.line, "must be a single value")
			continue
		}
		holds, err := known[i].parse(fmt.Sprint(v))
		if err != nil {
			p.fail(at, kv.line, "%v", err)
			continue
		}
		r.conds = append(r.conds, cond{holds: holds})
	}
}

// actionSpec is one action rules can name in do:, with how it is read.
type actionSpec struct {
	kind  string
	parse func(a *actionParser)
}

// actionSpecs is every action, in the order the help text lists them.
func actionSpecs() []actionSpec {
	return []actionSpec{
		{Task, (*actionParser).task},
		{Notify, (*actionParser).notify},
		{Comment, (*actionParser).comment},
		{Workflow, (*actionParser).workflow},
		{Stage, (*actionParser).stage},
	}
}

func (p *parser) actions(r *Rule, path string, n *yaml.Node, line int) {
	specs := actionSpecs()
	var kinds []string
	for _, s := range specs {
		kinds = append(kinds, s.kind)
	}
	if n != nil && !isNull(n) && n.Kind != yaml.MappingNode {
		p.fail(path, n.Line, "must be a mapping")
		return
	}
	kvs := pairs(n)
	if len(kvs) == 0 {
		p.fail(path, line, "missing; a rule needs at least one action (%s)", strings.Join(kinds, ", "))
		return
	}
	// Actions run in the order of their names, whatever the file's order.
	slices.SortStableFunc(kvs, func(a, b pair) int { return strings.Compare(a.key, b.key) })
	for _, kv := range kvs {
		if kv.keyNode.Kind != yaml.ScalarNode {
			p.fail(path, kv.line, "keys must be plain names")
			continue
		}
		i := slices.IndexFunc(specs, func(s actionSpec) bool { return s.kind == kv.key })
		if i < 0 {
			p.fail(path+"."+kv.key, kv.line, "unknown action; one of %s", strings.Join(kinds, ", "))
			continue
		}
		a := &actionParser{p: p, r: r, path: path + "." + kv.key, line: kv.line, n: kv.val, act: Action{Kind: kv.key}}
		specs[i].parse(a)
		r.Actions = append(r.Actions, a.act)
	}
}

// actionParser reads one action.
type actionParser struct {
	p    *parser
	r    *Rule
	path string // rules[1].do.task
	line int    // of the action's key
	n    *yaml.Node
	act  Action
}

// fields returns the action's keys when it is a mapping; else it reports
// what the action must be.
func (a *actionParser) fields(what string) (map[string]pair, bool) {
	if a.n.Kind != yaml.MappingNode {
		a.p.fail(a.path, a.line, "must be a mapping with %s", what)
		return nil, false
	}
	m := map[string]pair{}
	for _, kv := range pairs(a.n) {
		m[kv.key] = kv
	}
	return m, true
}

// text compiles a rule text; its problem is kept with the rule.
func (a *actionParser) text(name, prefix, s string, line int) *Text {
	t, err := compileText(name, s)
	if err != nil {
		a.r.textErrs = append(a.r.textErrs, &Error{Path: a.path, Line: line, Problem: prefix + err.Error()})
	}
	return t
}

// str reads a non-blank string.
func str(kv pair, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	v, _ := scalar(kv.val)
	s, isStr := v.(string)
	return s, isStr && strings.TrimSpace(s) != ""
}

// lineOf is the line of a field, or of the action when it is missing.
func (a *actionParser) lineOf(kv pair, ok bool) int {
	if ok {
		return kv.line
	}
	return a.line
}

func (a *actionParser) task() {
	m, ok := a.fields("title and responsible_id")
	if !ok {
		return
	}
	for _, kv := range pairs(a.n) {
		if !slices.Contains([]string{"title", "description", "responsible_id", "deadline"}, kv.key) {
			a.p.fail(a.path+"."+kv.key, kv.line, "unknown key; a task has title, description, responsible_id, deadline")
		}
	}
	titleKV, hasTitle := m["title"]
	title, titleOK := str(titleKV, hasTitle)
	if !titleOK {
		a.p.fail(a.path+".title", a.lineOf(titleKV, hasTitle), "missing or not a text: the task's title")
	}
	idKV, hasID := m["responsible_id"]
	if v, _ := scalar(idKV.val); hasID && v == ResponsibleManager {
		a.act.ResponsibleManager = true
	} else if a.act.Responsible = positiveID(idKV, hasID); a.act.Responsible == 0 {
		a.p.fail(a.path+".responsible_id", a.lineOf(idKV, hasID), "missing or not a positive number: the Bitrix24 user id who gets the task, or manager (the deal's responsible manager)")
	}
	if kv, ok := m["deadline"]; ok {
		if v, ok := scalar(kv.val); ok {
			d, err := parseDeadline(fmt.Sprint(v))
			if err != nil {
				a.p.fail(a.path+".deadline", kv.line, "%v", err)
			}
			a.act.Deadline = d
		} else if !isNull(kv.val) {
			a.p.fail(a.path+".deadline", kv.line, "%s", deadlineHelp)
		}
	}
	if kv, ok := m["description"]; ok && !isNull(kv.val) {
		v, _ := scalar(kv.val)
		if desc, isStr := v.(string); !isStr {
			a.p.fail(a.path+".description", kv.line, "must be a text")
		} else if desc != "" {
			a.act.Description = a.text("description", "description: ", desc, kv.line)
		}
	}
	if titleOK {
		a.act.Text = a.text("title", "", title, titleKV.line)
	}
}

func (a *actionParser) notify() {
	m, ok := a.fields("user_ids and message")
	if !ok {
		return
	}
	msgKV, hasMsg := m["message"]
	msg, msgOK := str(msgKV, hasMsg)
	if !msgOK {
		a.p.fail(a.path+".message", a.lineOf(msgKV, hasMsg), "missing or not a text: the notification")
	}
	idsKV, hasIDs := m["user_ids"]
	if hasIDs && idsKV.val.Kind == yaml.SequenceNode {
		for _, item := range idsKV.val.Content {
			id := positiveID(pair{val: resolve(item)}, true)
			if id == 0 {
				a.act.UserIDs = nil
				break
			}
			a.act.UserIDs = append(a.act.UserIDs, id)
		}
	}
	if len(a.act.UserIDs) == 0 {
		a.p.fail(a.path+".user_ids", a.lineOf(idsKV, hasIDs), "missing or not a positive number: the Bitrix24 user ids to notify, e.g. [7]")
	}
	if msgOK {
		a.act.Text = a.text(Notify, "", msg, msgKV.line)
	}
}

func (a *actionParser) comment() {
	s, ok := str(pair{val: a.n}, true)
	if !ok {
		a.p.fail(a.path, a.line, "must be a text")
		return
	}
	a.act.Text = a.text(Comment, "", s, a.line)
}

func (a *actionParser) workflow() {
	m, ok := a.fields("template_id")
	if !ok {
		return
	}
	idKV, hasID := m["template_id"]
	if a.act.TemplateID = positiveID(idKV, hasID); a.act.TemplateID == 0 {
		a.p.fail(a.path+".template_id", a.lineOf(idKV, hasID), "missing or not a positive number: the id of a business process template on deals")
	}
	kv, ok := m["parameters"]
	if !ok || isNull(kv.val) {
		return
	}
	if kv.val.Kind != yaml.MappingNode {
		a.p.fail(a.path+".parameters", kv.line, "must be a mapping of parameter name to text")
		return
	}
	a.act.Params = map[string]*Text{}
	params := pairs(kv.val)
	slices.SortStableFunc(params, func(a, b pair) int { return strings.Compare(a.key, b.key) })
	for _, param := range params {
		var v any
		if err := param.val.Decode(&v); err != nil {
			a.p.fail(a.path+".parameters."+param.key, param.line, "must be a text")
			continue
		}
		a.act.Params[param.key] = a.text(param.key, "parameters."+param.key+": ", fmt.Sprint(v), param.line)
	}
}

func (a *actionParser) stage() {
	s, ok := str(pair{val: a.n}, true)
	if !ok || !stagePattern.MatchString(s) {
		a.p.fail(a.path, a.line, "must be a Bitrix24 stage id (like PREPARATION, or C1:NEW in funnel 1)")
		return
	}
	a.act.Stage = s
}

// pair is one key and value of a mapping node.
type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node // aliases resolved
	line    int        // of the key
}

// pairs lists a mapping node's keys and values in the file's order; nil
// for anything else.
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		out = append(out, pair{key: k.Value, keyNode: k, val: resolve(n.Content[i+1]), line: k.Line})
	}
	return out
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalar decodes a scalar that is not null: a string, a number or a bool.
func scalar(n *yaml.Node) (any, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return nil, false
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// positiveID reads a Bitrix24 id written as a number or as a numeric
// string; 0 when it is missing or not a positive whole number.
func positiveID(kv pair, ok bool) int64 {
	if !ok {
		return 0
	}
	v, _ := scalar(kv.val)
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		if x <= 1<<62 {
			n = int64(x)
		}
	case float64:
		if x == float64(int64(x)) {
			n = int64(x)
		}
	case string:
		n, _ = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	}
	return max(n, 0)
}
