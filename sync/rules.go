package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	responsible int64
	deadline    time.Duration
	userIDs     []int64
	templateID  int64
	stage       string
}

// ruleData is what rule texts can use: {{.Number}}, {{.StatusComment}}, ….
type ruleData struct {
	ID            int64
	Number        string
	Site          string
	Status        string
	StatusGroup   string
	OldStatus     string
	StatusComment string
	Method        string
	Total         string
	Currency      string
	FirstName     string
	LastName      string
	Email         string
	Phone         string
	CustomerID    int64
	DealID        int64
}

// compileRules turns the configured rules into rules the engine runs.
func compileRules(cfg []config.Rule) ([]*rule, error) {
	var out []*rule
	for _, r := range cfg {
		where := fmt.Sprintf("rules[%d]", r.Index)
		cr := &rule{key: fmt.Sprintf("rules[%d]:%s", r.Index, r.On), cond: map[string]string{}}
		cr.trigger, cr.arg, _ = strings.Cut(r.On, ":")
		for k, v := range r.If {
			cr.cond[k] = fmt.Sprint(v)
		}
		for _, kind := range sortedKeys(r.Do) {
			a, err := compileAction(kind, r.Do[kind])
			if err != nil {
				return nil, fmt.Errorf("%s.do.%s: %w: %w", where, kind, err, config.ErrInvalid)
			}
			cr.actions = append(cr.actions, a)
		}
		out = append(out, cr)
	}
	return out, nil
}

func compileAction(kind string, v any) (ruleAction, error) {
	a := ruleAction{kind: kind}
	m, _ := v.(map[string]any)
	text := func(s string) error {
		t, err := template.New(kind).Option("missingkey=error").Parse(s)
		if err != nil {
			return err
		}
		a.text = t
		return nil
	}
	switch kind {
	case "comment":
		s, ok := v.(string)
		if !ok {
			return a, fmt.Errorf("must be the comment text")
		}
		return a, text(s)
	case "task":
		title, _ := m["title"].(string)
		if title == "" {
			return a, fmt.Errorf("needs title")
		}
		a.responsible = toInt(m["responsible_id"])
		if a.responsible <= 0 {
			return a, fmt.Errorf("needs responsible_id")
		}
		if d, ok := m["deadline"].(string); ok && d != "" {
			dd, err := parseDeadline(d)
			if err != nil {
				return a, err
			}
			a.deadline = dd
		}
		return a, text(title)
	case "notify":
		msg, _ := m["message"].(string)
		if msg == "" {
			return a, fmt.Errorf("needs message")
		}
		ids, _ := m["user_ids"].([]any)
		for _, id := range ids {
			if n := toInt(id); n > 0 {
				a.userIDs = append(a.userIDs, n)
			}
		}
		if len(a.userIDs) == 0 {
			return a, fmt.Errorf("needs user_ids")
		}
		return a, text(msg)
	case "workflow":
		a.templateID = toInt(m["template_id"])
		if a.templateID <= 0 {
			return a, fmt.Errorf("needs template_id")
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
	return a, fmt.Errorf("unknown action")
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// parseDeadline reads "2h", "30m" or "3d".
func parseDeadline(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("deadline %q: use e.g. 2h, 30m or 3d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("deadline %q: use e.g. 2h, 30m or 3d", s)
	}
	return d, nil
}

// ruleEvent is something that happened to an order, as rules see it.
type ruleEvent struct {
	key      string // history:<record id>
	trigger  string
	arg      string
	oldState string
}

// ruleEvents lists the events of an order's kept history records.
func (e *Engine) ruleEvents(it *item) []ruleEvent {
	if it.events == nil {
		return nil
	}
	var out []ruleEvent
	for _, r := range it.events.records {
		key := historyEventKey(r.ID)
		switch r.Field {
		case "status":
			code, old := r.NewValue.Code(), r.OldValue.Code()
			if r.Created {
				out = append(out, ruleEvent{key: key, trigger: "created"})
				if it.order.OrderMethod != "" {
					out = append(out, ruleEvent{key: key, trigger: "method", arg: it.order.OrderMethod})
				}
				if it.deal != nil && it.deal.fields[bitrix.FieldIsReturnCustomer] == "Y" {
					out = append(out, ruleEvent{key: key, trigger: "repeat_purchase"})
				}
			}
			if code == "" || code == old {
				continue
			}
			group := e.mapper.groups[code]
			out = append(out, ruleEvent{key: key, trigger: "status", arg: code, oldState: old},
				ruleEvent{key: key, trigger: "status_group", arg: group, oldState: old})
			if isReturn(code) || isReturn(group) {
				out = append(out, ruleEvent{key: key, trigger: "returned", oldState: old})
			}
		case "order_product.status":
			if isReturn(r.NewValue.Code()) {
				out = append(out, ruleEvent{key: key, trigger: "returned"})
			}
		case "order_method":
			if code := r.NewValue.Code(); code != "" {
				out = append(out, ruleEvent{key: key, trigger: "method", arg: code})
			}
		}
	}
	return out
}

func isReturn(code string) bool { return strings.Contains(strings.ToLower(code), "return") }

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

// ruleActions lists the actions the rules owe an order.
func (e *Engine) ruleActions(ctx context.Context, it *item) ([]pendingAction, error) {
	if len(e.rules) == 0 {
		return nil, nil
	}
	var out []pendingAction
	for _, ev := range e.ruleEvents(it) {
		for _, r := range e.rules {
			if !e.matches(r, ev, it.order) {
				continue
			}
			for _, a := range r.actions {
				_, done, err := e.store.RuleFired(ctx, r.key, ev.key, a.kind)
				if err != nil {
					return nil, fmt.Errorf("reading fired rules: %w", err)
				}
				_, intended, err := e.store.RuleFired(ctx, r.key, ev.key, a.kind+intentSuffix)
				if err != nil {
					return nil, fmt.Errorf("reading fired rules: %w", err)
				}
				if done {
					continue
				}
				out = append(out, pendingAction{rule: r, action: a, eventKey: ev.key, data: e.ruleData(it, ev), intended: intended})
			}
		}
	}
	return out, nil
}

func (e *Engine) ruleData(it *item, ev ruleEvent) ruleData {
	o := it.order
	d := ruleData{ID: o.ID, Number: o.Number, Site: o.Site, Status: o.Status, StatusGroup: e.mapper.groups[o.Status],
		OldStatus: ev.oldState, StatusComment: o.StatusComment, Method: o.OrderMethod, Total: o.TotalSumm.StringFixed(2),
		Currency: o.Currency, FirstName: o.FirstName, LastName: o.LastName, Email: o.Email, Phone: o.Phone}
	if c := customerOf(o); c != nil {
		d.CustomerID = c.ID
		if d.FirstName == "" && d.LastName == "" {
			d.FirstName, d.LastName = c.FirstName, c.LastName
		}
	}
	return d
}

// render executes an action's text.
func (a ruleAction) render(d ruleData) (string, error) {
	if a.text == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := a.text.Execute(&b, d); err != nil {
		return "", err
	}
	return clean(b.String()), nil
}

// cmds builds the Bitrix24 commands of an action for the order's deal.
func (e *Engine) actionCmds(p *pendingAction, dealID int64) ([]bitrix.Cmd, string, error) {
	p.data.DealID = dealID
	text, err := p.action.render(p.data)
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
		fields := bitrix.Fields{"TITLE": text, "RESPONSIBLE_ID": p.action.responsible}
		if ent == bitrix.EntityDeal {
			fields["UF_CRM_TASK"] = []string{bitrix.TaskCRMBinding(id)}
		} else {
			fields["UF_CRM_TASK"] = []string{"L_" + id.String()}
		}
		if p.action.deadline > 0 {
			fields["DEADLINE"] = e.now().Add(p.action.deadline).Format("2006-01-02T15:04:05")
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
		return []bitrix.Cmd{bitrix.WorkflowStartCmd(bitrix.ID(p.action.templateID), doc, nil)},
			fmt.Sprintf("workflow template %d", p.action.templateID), nil
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
			cmds, text, err := e.actionCmds(pa, it.dealID)
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
