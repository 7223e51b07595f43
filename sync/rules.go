package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

// intentSuffix marks a rule action recorded as about to be sent.
const intentSuffix = "-intent"

// rule is one compiled entry of the rules section (SPEC §5).
type rule struct {
	key     string // rules[i]:<on>, the key of its fires in the store
	trigger string // created, returned, repeat_purchase, status, status_group, method
	arg     string // the code of a valued trigger
	cond    map[string]string
	actions []ruleAction
}

// ruleAction is one action of a rule, its texts compiled.
type ruleAction struct {
	kind        string // task, notify, comment, workflow, stage
	text        *template.Template
	description *template.Template // task only
	responsible int64
	deadline    deadline
	userIDs     []int64
	templateID  int64
	params      map[string]*template.Template // workflow parameters
	stage       string
}

// ValidateRules compiles the configured rules as the engine does at start
// and returns every problem, each naming its rule by index (rules[2].do.task:
// …): unknown triggers, conditions or actions, missing ids, and templates
// that do not parse or use a field rule texts do not have. check reports
// them before a run would refuse to start.
func ValidateRules(cfg []config.Rule) []error {
	var errs []error
	for _, r := range cfg {
		if _, err := compileRule(r); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// compileRules turns the configured rules into rules the engine runs. Any
// problem is a configuration error (exit 4) naming the rule.
func compileRules(cfg []config.Rule) ([]*rule, error) {
	out := make([]*rule, 0, len(cfg))
	var errs []error
	for _, r := range cfg {
		cr, err := compileRule(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, cr)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func compileRule(r config.Rule) (*rule, error) {
	where := fmt.Sprintf("rules[%d]", r.Index)
	cr := &rule{key: fmt.Sprintf("rules[%d]:%s", r.Index, r.On), cond: map[string]string{}}
	cr.trigger, cr.arg, _ = strings.Cut(r.On, ":")
	if !knownTrigger(cr.trigger, cr.arg) {
		return nil, fmt.Errorf("%s.on: unknown trigger %q (created, returned, repeat_purchase, status:<code>, status_group:<code>, method:<code>): %w",
			where, r.On, config.ErrInvalid)
	}
	for _, k := range slices.Sorted(maps.Keys(r.If)) {
		v := fmt.Sprint(r.If[k])
		switch k {
		case "method", "site", "status_group":
		case "amount_over", "amount_under":
			if _, err := decimal.NewFromString(v); err != nil {
				return nil, fmt.Errorf("%s.if.%s: %q is not an amount: %w", where, k, v, config.ErrInvalid)
			}
		default:
			return nil, fmt.Errorf("%s.if.%s: unknown condition (method, site, status_group, amount_over, amount_under): %w", where, k, config.ErrInvalid)
		}
		cr.cond[k] = v
	}
	if len(r.Do) == 0 {
		return nil, fmt.Errorf("%s.do: a rule needs at least one action: %w", where, config.ErrInvalid)
	}
	for _, kind := range slices.Sorted(maps.Keys(r.Do)) {
		a, err := compileAction(kind, r.Do[kind])
		if err != nil {
			return nil, fmt.Errorf("%s.do.%s: %w: %w", where, kind, err, config.ErrInvalid)
		}
		cr.actions = append(cr.actions, a)
	}
	return cr, nil
}

func knownTrigger(trigger, arg string) bool {
	switch trigger {
	case "created", "returned", "repeat_purchase":
		return arg == ""
	case "status", "status_group", "method":
		return arg != ""
	}
	return false
}

// compileText parses a rule text and runs it once against empty order
// data, so a misspelt field ({{.Numbr}}) is a configuration error at start
// instead of a parked order in the middle of the night.
func compileText(name, s string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(textFuncs).Parse(s)
	if err != nil {
		return nil, err
	}
	escapeActions(t)
	if err := t.Execute(&bytes.Buffer{}, ruleData{}); err != nil {
		return nil, fmt.Errorf("%w (the fields rule texts can use are listed in README, Business rules)", err)
	}
	return t, nil
}

func compileAction(kind string, v any) (ruleAction, error) {
	a := ruleAction{kind: kind}
	m, _ := v.(map[string]any)
	var err error
	switch kind {
	case "comment":
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return a, fmt.Errorf("must be the comment text")
		}
		a.text, err = compileText(kind, s)
		return a, err
	case "task":
		if m == nil {
			return a, fmt.Errorf("must be a mapping with title and responsible_id")
		}
		title, _ := m["title"].(string)
		if strings.TrimSpace(title) == "" {
			return a, fmt.Errorf("needs a title")
		}
		a.responsible = toInt(m["responsible_id"])
		if a.responsible <= 0 {
			return a, fmt.Errorf("needs responsible_id, the Bitrix24 user id who gets the task")
		}
		if d, ok := m["deadline"]; ok && d != nil {
			if a.deadline, err = parseDeadline(fmt.Sprint(d)); err != nil {
				return a, err
			}
		}
		if desc, ok := m["description"].(string); ok && desc != "" {
			if a.description, err = compileText("description", desc); err != nil {
				return a, fmt.Errorf("description: %w", err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains([]string{"title", "description", "responsible_id", "deadline"}, k) {
				return a, fmt.Errorf("unknown key %q (title, description, responsible_id, deadline)", k)
			}
		}
		a.text, err = compileText("title", title)
		return a, err
	case "notify":
		if m == nil {
			return a, fmt.Errorf("must be a mapping with user_ids and message")
		}
		msg, _ := m["message"].(string)
		if strings.TrimSpace(msg) == "" {
			return a, fmt.Errorf("needs a message")
		}
		ids, _ := m["user_ids"].([]any)
		for _, id := range ids {
			n := toInt(id)
			if n <= 0 {
				return a, fmt.Errorf("user_ids: %v is not a Bitrix24 user id", id)
			}
			a.userIDs = append(a.userIDs, n)
		}
		if len(a.userIDs) == 0 {
			return a, fmt.Errorf("needs user_ids, the Bitrix24 users to notify")
		}
		a.text, err = compileText(kind, msg)
		return a, err
	case "workflow":
		if m == nil {
			return a, fmt.Errorf("must be a mapping with template_id")
		}
		a.templateID = toInt(m["template_id"])
		if a.templateID <= 0 {
			return a, fmt.Errorf("needs template_id, the id of a business process template on deals")
		}
		if p, ok := m["parameters"]; ok && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return a, fmt.Errorf("parameters must be a mapping of parameter name to text")
			}
			a.params = map[string]*template.Template{}
			for _, k := range slices.Sorted(maps.Keys(pm)) {
				t, err := compileText(k, fmt.Sprint(pm[k]))
				if err != nil {
					return a, fmt.Errorf("parameters.%s: %w", k, err)
				}
				a.params[k] = t
			}
		}
		return a, nil
	case "stage":
		s, ok := v.(string)
		if !ok || s == "" {
			return a, fmt.Errorf("must be a stage id")
		}
		a.stage = s
		return a, nil
	}
	return a, fmt.Errorf("unknown action (task, notify, comment, workflow, stage)")
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		if x > 1<<62 {
			return 0
		}
		return int64(x)
	case float64:
		if x != float64(int64(x)) {
			return 0
		}
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n
	}
	return 0
}

// deadline is a task's due time: after a duration, at the next occurrence
// of a time of day, or at a fixed time.
type deadline struct {
	after   time.Duration
	clock   time.Duration // time of day since midnight; used when hasTime
	hasTime bool
	at      time.Time
}

func (d deadline) set() bool { return d.after > 0 || d.hasTime || !d.at.IsZero() }

// due returns the deadline for a task created at now.
func (d deadline) due(now time.Time) time.Time {
	switch {
	case !d.at.IsZero():
		return d.at
	case d.hasTime:
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
		t := day.Add(d.clock)
		if !t.After(now) {
			t = day.AddDate(0, 0, 1).Add(d.clock)
		}
		return t
	}
	return now.Add(d.after)
}

const deadlineHelp = "use a duration (2h, 30m, 3d), a time of day (18:00) or a date and time (2026-12-31 18:00)"

// parseDeadline reads "2h", "30m", "3d", "18:00" or "2026-12-31 18:00".
func parseDeadline(s string) (deadline, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 3650 {
			return deadline{}, fmt.Errorf("deadline %q: %s", s, deadlineHelp)
		}
		return deadline{after: time.Duration(n) * 24 * time.Hour}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return deadline{}, fmt.Errorf("deadline %q: must be in the future; %s", s, deadlineHelp)
		}
		return deadline{after: d}, nil
	}
	if t, err := time.Parse("15:04", s); err == nil {
		return deadline{clock: time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, hasTime: true}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return deadline{at: t}, nil
		}
	}
	return deadline{}, fmt.Errorf("deadline %q: %s", s, deadlineHelp)
}

// ruleEvent is something that happened to an order, as rules see it.
type ruleEvent struct {
	key      string // order:<id>:created for a creation, else history:<record id>
	trigger  string
	arg      string
	oldState string
	items    []string // the items a return names
}

// createdEventKey keys the events of an order's creation by the order, not
// by a history record: a backfill (which sees no history) and the pull that
// later reads the creation record then share the key, so a rule on created
// or repeat_purchase fires once whichever came first.
func createdEventKey(orderID int64) string {
	return "order:" + strconv.FormatInt(orderID, 10) + ":created"
}

// ruleEvents lists the events of an order's kept history records. An order
// without history records (a backfill, a retried failure) has none, unless
// created is set: then it is taken as just created.
func (e *Engine) ruleEvents(it *item, created bool) []ruleEvent {
	var out []ruleEvent
	createdEvents := func() {
		key := createdEventKey(it.order.ID)
		out = append(out, ruleEvent{key: key, trigger: "created"})
		if it.order.OrderMethod != "" {
			out = append(out, ruleEvent{key: key, trigger: "method", arg: it.order.OrderMethod})
		}
		if it.deal != nil && it.deal.fields[e.mapper.repeatField()] == "Y" {
			out = append(out, ruleEvent{key: key, trigger: "repeat_purchase"})
		}
	}
	if it.events == nil {
		if created {
			createdEvents()
		}
		return out
	}
	// A return is one event per page however many records show it (the
	// status and each line): index of it in out, -1 before it.
	ret := -1
	creation := false
	for _, r := range it.events.records {
		key := historyEventKey(r.ID)
		// The creation flag may sit on any record of the order, not only on
		// its status (docs/api-notes.md, "History and order filters").
		if r.Created && !creation {
			creation = true
			createdEvents()
		}
		switch r.Field {
		case "status":
			code, old := r.NewValue.Code(), r.OldValue.Code()
			if code == "" || code == old {
				continue
			}
			group := e.mapper.groups[code]
			out = append(out, ruleEvent{key: key, trigger: "status", arg: code, oldState: old},
				ruleEvent{key: key, trigger: "status_group", arg: group, oldState: old})
			if e.mapper.ref.returnStatus(code, group) {
				items := orderReturnItems(it.order, e.mapper.ref)
				if ret >= 0 {
					out[ret].oldState = old
					for _, name := range items {
						if !slices.Contains(out[ret].items, name) {
							out[ret].items = append(out[ret].items, name)
						}
					}
					continue
				}
				out = append(out, ruleEvent{key: key, trigger: "returned", oldState: old, items: items})
				ret = len(out) - 1
			}
		case "order_product.status":
			if !e.mapper.ref.productCancelled(r.NewValue.Code()) {
				continue
			}
			name := itemName(it.order, &r)
			if ret < 0 {
				out = append(out, ruleEvent{key: key, trigger: "returned"})
				ret = len(out) - 1
			}
			if !slices.Contains(out[ret].items, name) {
				out[ret].items = append(out[ret].items, name)
			}
		case "order_method":
			// At creation the method is an event of the creation (above).
			if code := r.NewValue.Code(); code != "" && !r.Created {
				out = append(out, ruleEvent{key: key, trigger: "method", arg: code})
			}
		}
	}
	return out
}

// matches reports whether a rule fires on an event of an order.
func (e *Engine) matches(r *rule, ev ruleEvent, o *retailcrm.Order) bool {
	if r.trigger != ev.trigger || (r.arg != "" && r.arg != ev.arg) {
		return false
	}
	for k, v := range r.cond {
		switch k {
		case "method":
			if o.OrderMethod != v {
				return false
			}
		case "site":
			if o.Site != v {
				return false
			}
		case "status_group":
			if e.mapper.groups[o.Status] != v {
				return false
			}
		case "amount_over", "amount_under":
			limit, err := decimal.NewFromString(v)
			if err != nil {
				return false
			}
			if k == "amount_over" && !o.TotalSumm.GreaterThan(limit) || k == "amount_under" && !o.TotalSumm.LessThan(limit) {
				return false
			}
		}
	}
	return true
}

// pendingAction is a rule action owed for an event.
type pendingAction struct {
	rule     *rule
	action   ruleAction
	eventKey string
	data     ruleData
	intended bool // recorded as about to be sent by a run that did not finish
}

// ruleActions lists the actions the rules owe an order. An order without
// history records and without a deal yet (a backfill, or a retry of an
// order parked before its deal was written) is taken as just created: its
// creation record, if any, was read without its rules firing.
func (e *Engine) ruleActions(ctx context.Context, it *item) ([]pendingAction, error) {
	if len(e.rules) == 0 {
		return nil, nil
	}
	created := it.events == nil && it.link == nil
	var out []pendingAction
	for _, ev := range e.ruleEvents(it, created) {
		for _, r := range e.rules {
			if !e.matches(r, ev, it.order) {
				continue
			}
			for _, a := range r.actions {
				_, done, err := e.store.RuleFired(ctx, r.key, ev.key, a.kind)
				if err != nil {
					return nil, fmt.Errorf("reading fired rules: %w", err)
				}
				if done {
					continue
				}
				_, intended, err := e.store.RuleFired(ctx, r.key, ev.key, a.kind+intentSuffix)
				if err != nil {
					return nil, fmt.Errorf("reading fired rules: %w", err)
				}
				out = append(out, pendingAction{rule: r, action: a, eventKey: ev.key, data: e.ruleData(it.order, ev), intended: intended})
			}
		}
	}
	return out, nil
}

// render executes a compiled text.
func render(t *template.Template, d ruleData) (string, error) {
	if t == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return capText(clean(b.String()), maxTextBytes), nil
}

// actionCmds builds the Bitrix24 commands of an action for the order's deal
// and contact, and the line the report shows for it.
func (e *Engine) actionCmds(p *pendingAction, dealID, contactID int64) ([]bitrix.Cmd, string, error) {
	p.data.DealID = dealID
	p.data.ContactID = contactID
	p.data.DealURL = e.entityURL(dealID)
	text, err := render(p.action.text, p.data)
	if err != nil {
		return nil, "", err
	}
	ent := e.mapper.entity()
	id := bitrix.ID(dealID)
	switch p.action.kind {
	case "comment":
		if text == "" {
			return nil, "", fmt.Errorf("the comment is empty")
		}
		return []bitrix.Cmd{bitrix.TimelineCommentAddCmd(string(ent), id, text)}, text, nil
	case "task":
		desc, err := render(p.action.description, p.data)
		if err != nil {
			return nil, "", err
		}
		fields := bitrix.Fields{"TITLE": text, "RESPONSIBLE_ID": p.action.responsible}
		if desc != "" {
			fields["DESCRIPTION"] = desc
		}
		bind := []string{bitrix.TaskCRMBinding(id)}
		if ent == bitrix.EntityLead {
			bind = []string{"L_" + id.String()}
		}
		if contactID != 0 {
			bind = append(bind, "C_"+strconv.FormatInt(contactID, 10))
		}
		fields["UF_CRM_TASK"] = bind
		if p.action.deadline.set() {
			fields["DEADLINE"] = bitrix.FormatTime(p.action.deadline.due(e.now()))
		}
		return []bitrix.Cmd{bitrix.TaskAddCmd(fields)}, text, nil
	case "notify":
		var cmds []bitrix.Cmd
		for _, u := range p.action.userIDs {
			cmds = append(cmds, bitrix.NotifySystemAddCmd(bitrix.ID(u), text, nil))
		}
		return cmds, text, nil
	case "workflow":
		doc := bitrix.DealDocumentID(id)
		if ent == bitrix.EntityLead {
			doc = bitrix.LeadDocumentID(id)
		}
		var params map[string]any
		for _, k := range slices.Sorted(maps.Keys(p.action.params)) {
			v, err := render(p.action.params[k], p.data)
			if err != nil {
				return nil, "", fmt.Errorf("parameters.%s: %w", k, err)
			}
			if params == nil {
				params = map[string]any{}
			}
			params[k] = v
		}
		return []bitrix.Cmd{bitrix.WorkflowStartCmd(bitrix.ID(p.action.templateID), doc, params)},
			fmt.Sprintf("workflow template %d on %s", p.action.templateID, strings.Join(doc, ":")), nil
	case "stage":
		return []bitrix.Cmd{bitrix.UpdateCmd(ent, id, bitrix.Fields{e.mapper.stageField(): p.action.stage}, sonet())},
			e.mapper.stageField() + "=" + p.action.stage, nil
	}
	return nil, "", fmt.Errorf("unknown action %q", p.action.kind)
}

// writeRuleActions runs the rule actions owed by the chunk's orders in one
// batch. Tasks, notifications and workflow starts are not idempotent and
// cannot be looked up, so they are sent at most once: each is recorded as
// intended before the batch and as done after it; an action whose intent
// survives a crash, or that belongs to a deal that existed without a local
// link (a lost database), is not sent again.
func (e *Engine) writeRuleActions(ctx context.Context, items []*item) error {
	type sending struct {
		it   *item
		pa   *pendingAction
		keys []string
		text string
	}
	b := bitrix.NewBatch(false)
	var sends []*sending
	var assumed []*pendingAction
	for _, it := range items {
		if it.err != nil || !it.dealDone || it.dealID == 0 {
			continue
		}
		for i := range it.actions {
			pa := &it.actions[i]
			if pa.intended || (it.link == nil && it.remote != nil) {
				assumed = append(assumed, pa)
				continue
			}
			var contactID int64
			if it.cust != nil {
				contactID = it.cust.contactID
			}
			cmds, text, err := e.actionCmds(pa, it.dealID, contactID)
			if err != nil {
				it.err = badOrder("order %s: %s: %s: %v", orderName(it.order), pa.rule.key, pa.action.kind, err)
				break
			}
			s := &sending{it: it, pa: pa, text: text}
			for _, c := range cmds {
				k := fmt.Sprintf("a%d", b.Len())
				if err := b.Add(k, c); err != nil {
					return err
				}
				s.keys = append(s.keys, k)
			}
			sends = append(sends, s)
		}
	}
	mark := func(list []*pendingAction, suffix string) error {
		if len(list) == 0 {
			return nil
		}
		return e.store.Tx(ctx, func(tx *store.Tx) error {
			for _, pa := range list {
				if _, err := tx.MarkRuleFired(ctx, store.RuleFire{RuleKey: pa.rule.key, EventKey: pa.eventKey,
					Action: pa.action.kind + suffix}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, pa := range assumed {
		e.log.Warn("rule action may have run before; not repeated", "rule", pa.rule.key, "event", pa.eventKey, "action", pa.action.kind)
	}
	if err := mark(assumed, ""); err != nil {
		return err
	}
	if len(sends) == 0 {
		return nil
	}
	intents := make([]*pendingAction, len(sends))
	for i, s := range sends {
		intents[i] = s.pa
	}
	if err := mark(intents, intentSuffix); err != nil {
		return err
	}
	// A comment a rule writes is crmsync's own: push must not carry it back.
	var ledger []store.LedgerEntry
	for _, s := range sends {
		if s.pa.action.kind == "comment" {
			ledger = append(ledger, store.LedgerEntry{Side: store.SideBitrix, Entity: ledgerComment, EntityID: s.it.dealID,
				Field: ledgerCommentField, Value: s.text})
		}
	}
	if len(ledger) > 0 {
		if err := e.store.Tx(ctx, func(tx *store.Tx) error { return addLedger(ctx, tx, ledger) }); err != nil {
			return err
		}
	}
	// An unknown outcome counts as done: at most once.
	atMostOnce := func(_ context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
		out := map[string]json.RawMessage{}
		for k := range cmds {
			out[k] = json.RawMessage("0")
		}
		return out, nil
	}
	results, err := e.writeAll(ctx, b, atMostOnce)
	if err != nil {
		return err
	}
	var done []*pendingAction
	for _, s := range sends {
		var failed error
		for _, k := range s.keys {
			if cr := results[k]; cr == nil || cr.Status != bitrix.Done {
				failed = cmdError(cr)
			}
		}
		if failed != nil {
			s.it.err = badOrder("order %s: %s: %s: %v", orderName(s.it.order), s.pa.rule.key, s.pa.action.kind, failed)
			continue
		}
		done = append(done, s.pa)
		e.sum.RuleActions++
		e.addChange(Change{Op: OpRule, Entity: s.pa.action.kind, EntityID: s.it.dealID, OrderID: s.it.order.ID,
			OrderNumber: s.it.order.Number, Site: s.it.order.Site, Text: s.text})
	}
	return mark(done, "")
}
