package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/texts"
)

// intentSuffix marks a rule action recorded as about to be sent.
const intentSuffix = "-intent"

// ruleRef answers the rules package's questions from the run's
// dictionaries.
type ruleRef struct{ m *mapper }

func (r ruleRef) StatusGroup(code string) string       { return r.m.groups[code] }
func (r ruleRef) ReturnStatus(code, group string) bool { return r.m.ref.returnStatus(code, group) }
func (r ruleRef) ProductCancelled(code string) bool    { return r.m.ref.productCancelled(code) }
func (r ruleRef) ReturnItems(o *retailcrm.Order) []string {
	return orderReturnItems(o, r.m.ref, r.m.txt)
}
func (r ruleRef) ItemName(o *retailcrm.Order, rec *retailcrm.HistoryRecord) string {
	return itemName(o, rec, r.m.txt)
}

// ruleEvents lists the events of an order's kept history records. An order
// without history records (a backfill, a retried failure) has none, unless
// created is set: then it is taken as just created.
func (e *Engine) ruleEvents(it *item, created bool) []rules.Event {
	h := rules.History{Order: it.order, New: it.events == nil && created,
		Repeat: it.deal != nil && it.deal.fields[e.mapper.repeatField()] == "Y"}
	if it.events != nil {
		h.Records = it.events.records
	}
	return rules.Events(h, ruleRef{e.mapper})
}

// pendingAction is a rule action owed for an event.
type pendingAction struct {
	rule     *rules.Rule
	action   *rules.Action
	eventKey string
	data     rules.Data
	intended bool  // recorded as about to be sent by a run that did not finish
	manager  int64 // the order's RetailCRM manager (responsible_id: manager)
	// offFunnel: a stage action whose stage belongs to another funnel than
	// the deal's; it is not sent (docs/rules.md, "stage").
	offFunnel bool
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
	group := e.mapper.groups[it.order.Status]
	for _, ev := range e.ruleEvents(it, created) {
		for i := range e.rules {
			r := &e.rules[i]
			if !r.Matches(ev, it.order, group) {
				continue
			}
			for j := range r.Actions {
				a := &r.Actions[j]
				_, done, err := e.store.RuleFired(ctx, r.Key, ev.Key, a.Kind)
				if err != nil {
					return nil, fmt.Errorf("reading fired rules: %w", err)
				}
				if done {
					continue
				}
				_, intended, err := e.store.RuleFired(ctx, r.Key, ev.Key, a.Kind+intentSuffix)
				if err != nil {
					return nil, fmt.Errorf("reading fired rules: %w", err)
				}
				out = append(out, pendingAction{rule: r, action: a, eventKey: ev.Key, data: e.mapper.ruleData(it.order, ev), intended: intended,
					manager: it.order.ManagerID})
			}
		}
	}
	return out, nil
}

// render executes a compiled text into what may be sent: valid, capped.
func render(t *rules.Text, d rules.Data, txt *texts.Catalog) (string, error) {
	s, err := t.Render(d)
	if err != nil {
		return "", err
	}
	return capText(clean(s), maxTextBytes, txt), nil
}

// actionCmds builds the Bitrix24 commands of an action for the order's deal
// and contact, and the line the report shows for it.
func (e *Engine) actionCmds(p *pendingAction, dealID, contactID int64) ([]bitrix.Cmd, string, error) {
	p.data.DealID = dealID
	p.data.ContactID = contactID
	p.data.DealURL = e.entityURL(dealID)
	text, err := render(p.action.Text, p.data, e.mapper.txt)
	if err != nil {
		return nil, "", err
	}
	ent := e.mapper.entity()
	id := bitrix.ID(dealID)
	switch p.action.Kind {
	case rules.Comment:
		if text == "" {
			return nil, "", fmt.Errorf("the comment is empty")
		}
		return []bitrix.Cmd{bitrix.TimelineCommentAddCmd(string(ent), id, text)}, text, nil
	case rules.Task:
		desc, err := render(p.action.Description, p.data, e.mapper.txt)
		if err != nil {
			return nil, "", err
		}
		resp, err := e.taskResponsible(p)
		if err != nil {
			return nil, "", err
		}
		fields := bitrix.Fields{"TITLE": text, "RESPONSIBLE_ID": resp}
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
		if p.action.Deadline.Set() {
			fields["DEADLINE"] = bitrix.FormatTime(p.action.Deadline.Due(e.now()))
		}
		return []bitrix.Cmd{bitrix.TaskAddCmd(fields)}, text, nil
	case rules.Notify:
		var cmds []bitrix.Cmd
		for _, u := range p.action.UserIDs {
			cmds = append(cmds, bitrix.NotifySystemAddCmd(bitrix.ID(u), text, nil))
		}
		return cmds, text, nil
	case rules.Workflow:
		doc := bitrix.DealDocumentID(id)
		if ent == bitrix.EntityLead {
			doc = bitrix.LeadDocumentID(id)
		}
		var params map[string]any
		for _, k := range slices.Sorted(maps.Keys(p.action.Params)) {
			v, err := render(p.action.Params[k], p.data, e.mapper.txt)
			if err != nil {
				return nil, "", fmt.Errorf("parameters.%s: %w", k, err)
			}
			if params == nil {
				params = map[string]any{}
			}
			params[k] = v
		}
		return []bitrix.Cmd{bitrix.WorkflowStartCmd(bitrix.ID(p.action.TemplateID), doc, params)},
			fmt.Sprintf("workflow template %d on %s", p.action.TemplateID, strings.Join(doc, ":")), nil
	case rules.Stage:
		return []bitrix.Cmd{bitrix.UpdateCmd(ent, id, bitrix.Fields{e.mapper.stageField(): p.action.Stage}, sonet())},
			e.mapper.stageField() + "=" + p.action.Stage, nil
	}
	return nil, "", fmt.Errorf("unknown action %q", p.action.Kind)
}

// writeRuleActions runs the rule actions owed by the chunk's orders in one
// batch. Tasks, notifications and workflow starts are not idempotent and
// cannot be looked up, so they are sent at most once: each is recorded as
// intended before the batch and as done after it; an action whose intent
// survives a crash, or that belongs to a deal that existed without a local
// link (a lost database), is not sent again.
func (e *Engine) writeRuleActions(ctx context.Context, items []*item) error {
	b, sends, assumed, err := e.planRuleActions(items)
	if err != nil {
		return err
	}
	for _, pa := range assumed {
		if pa.offFunnel {
			e.log.Info("rule stage belongs to another funnel than the deal's; not sent", "rule", pa.rule.Key, "event", pa.eventKey, "stage", pa.action.Stage)
			continue
		}
		e.log.Warn("rule action may have run before; not repeated", "rule", pa.rule.Key, "event", pa.eventKey, "action", pa.action.Kind)
	}
	if err := e.markRuleFired(ctx, assumed, ""); err != nil {
		return err
	}
	if len(sends) == 0 {
		return nil
	}
	if err := e.recordRuleIntents(ctx, sends); err != nil {
		return err
	}
	results, err := e.writeAll(ctx, b, atMostOnce)
	if err != nil {
		return err
	}
	return e.markRuleFired(ctx, e.applyRuleResults(sends, results), "")
}

// ruleSend is one rule action sent in the batch: its commands' keys and
// the text the report and the ledger show for it.
type ruleSend struct {
	it   *item
	pa   *pendingAction
	keys []string
	text string
}

// offFunnel reports whether a rule's stage action names a stage of another
// funnel than the one the order's deal is in: a rule's stage applies to the
// deals of its own funnel, so one rule set can serve several stores.
func (e *Engine) offFunnel(it *item, a *rules.Action) bool {
	if a.Kind != rules.Stage || e.mapper.entity() != bitrix.EntityDeal || it.deal == nil {
		return false
	}
	return config.StageCategory(a.Stage) != it.deal.category
}

// planRuleActions builds the batch of the actions to send and lists those
// assumed to have run already (not sent again). An action that cannot be
// built sets its order's error and ends that order's actions.
func (e *Engine) planRuleActions(items []*item) (*bitrix.Batch, []*ruleSend, []*pendingAction, error) {
	b := bitrix.NewBatch(false)
	var sends []*ruleSend
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
			if e.offFunnel(it, pa.action) {
				pa.offFunnel = true
				assumed = append(assumed, pa)
				continue
			}
			var contactID int64
			if it.cust != nil {
				contactID = it.cust.contactID
			}
			cmds, text, err := e.actionCmds(pa, it.dealID, contactID)
			if err != nil {
				it.err = badOrder("order %s: %s: %s: %v", orderName(it.order), pa.rule.Key, pa.action.Kind, err)
				break
			}
			s := &ruleSend{it: it, pa: pa, text: text}
			for _, c := range cmds {
				k := fmt.Sprintf("a%d", b.Len())
				if err := b.Add(k, c); err != nil {
					return nil, nil, nil, err
				}
				s.keys = append(s.keys, k)
			}
			sends = append(sends, s)
		}
	}
	return b, sends, assumed, nil
}

// markRuleFired records the actions as fired (suffix "") or as intended
// (intentSuffix), in one transaction.
func (e *Engine) markRuleFired(ctx context.Context, list []*pendingAction, suffix string) error {
	if len(list) == 0 {
		return nil
	}
	return e.store.Tx(ctx, func(tx *store.Tx) error {
		for _, pa := range list {
			if _, err := tx.MarkRuleFired(ctx, store.RuleFire{RuleKey: pa.rule.Key, EventKey: pa.eventKey,
				Action: pa.action.Kind + suffix}); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordRuleIntents records every action about to be sent as intended, and
// the comments among them in the ledger: a comment a rule writes is
// crmsync's own, so push must not carry it back.
func (e *Engine) recordRuleIntents(ctx context.Context, sends []*ruleSend) error {
	intents := make([]*pendingAction, len(sends))
	for i, s := range sends {
		intents[i] = s.pa
	}
	if err := e.markRuleFired(ctx, intents, intentSuffix); err != nil {
		return err
	}
	var ledger []store.LedgerEntry
	for _, s := range sends {
		if s.pa.action.Kind == rules.Comment {
			ledger = append(ledger, store.LedgerEntry{Side: store.SideBitrix, Entity: ledgerComment, EntityID: s.it.dealID,
				Field: ledgerCommentField, Value: s.text})
		}
	}
	if len(ledger) > 0 {
		return e.store.Tx(ctx, func(tx *store.Tx) error { return addLedger(ctx, tx, ledger) })
	}
	return nil
}

// atMostOnce resolves the unknown outcome of a rule action's command as
// done: an action is sent at most once.
func atMostOnce(_ context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for k := range cmds {
		out[k] = json.RawMessage("0")
	}
	return out, nil
}

// applyRuleResults sets the order's error of each action a command of which
// failed, counts and reports the others, and returns those done.
func (e *Engine) applyRuleResults(sends []*ruleSend, results map[string]*bitrix.CmdResult) []*pendingAction {
	var done []*pendingAction
	for _, s := range sends {
		var failed error
		for _, k := range s.keys {
			if cr := results[k]; cr == nil || cr.Status != bitrix.Done {
				failed = cmdError(cr)
			}
		}
		if failed != nil {
			s.it.err = badOrder("order %s: %s: %s: %v", orderName(s.it.order), s.pa.rule.Key, s.pa.action.Kind, failed)
			continue
		}
		done = append(done, s.pa)
		e.sum.RuleActions++
		e.addChange(Change{Op: OpRule, Entity: s.pa.action.Kind, EntityID: s.it.dealID, OrderID: s.it.order.ID,
			OrderNumber: s.it.order.Number, Site: s.it.order.Site, Text: s.text})
	}
	return done
}
