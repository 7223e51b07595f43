package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/rules"
)

// checkRules reports rule texts that a run would refuse (a text that does
// not parse or names a field that does not exist), each naming its rule and
// line; the rest of a rule's shape is checked when the configuration loads.
// It also reports the purchase profile and repeat purchase fields the
// portal lacks; with fix it creates the missing UF_CRM_* ones.
func (a *app) checkRules(ctx context.Context, cfg *config.Config, rep *checkReport, fix bool) {
	if len(cfg.Rules) > 0 {
		errs := rules.TextErrors(cfg.Rules)
		for _, err := range errs {
			rep.add("rules", checkFail, err.Error(), "see docs/rules.md: triggers, actions and the fields texts can use")
		}
		if len(errs) == 0 {
			rep.add("rules", checkOK, fmt.Sprintf("%d rule(s) compile; their texts use known order fields", len(cfg.Rules)), "")
		}
	}
	type want struct {
		field, userType, label string
	}
	var contact, deal []want
	for _, key := range config.ProfileKeys() {
		if f, ok := cfg.Mapping.ProfileFields[key]; ok {
			contact = append(contact, want{f, profileFieldType(key), "Purchase profile: " + strings.ReplaceAll(key, "_", " ")})
		}
	}
	if f := cfg.Mapping.RepeatPurchaseField; f != "" && cfg.Bitrix.Entity == config.EntityDeal {
		deal = append(deal, want{f, "boolean", "Repeat purchase"})
	}
	if len(contact)+len(deal) == 0 {
		return
	}
	bx, err := a.newBitrix(cfg, interactive)
	if err != nil {
		return // reported by the Bitrix24 checks
	}
	for _, part := range []struct {
		entity bitrix.Entity
		key    string
		fields []want
	}{
		{bitrix.EntityContact, "mapping.profile_fields", contact},
		{bitrix.EntityDeal, "mapping.repeat_purchase_field", deal},
	} {
		if len(part.fields) == 0 {
			continue
		}
		missing, ok := missingFields(ctx, bx, part.entity, part.key, part.fields, func(w want) string { return w.field }, rep)
		if !ok {
			continue
		}
		for _, w := range missing {
			switch {
			case !strings.HasPrefix(w.field, "UF_CRM_"):
				rep.add(part.key, checkFail, fmt.Sprintf("the %s has no field %s", part.entity, w.field),
					"name a UF_CRM_* field; check --fix can create it")
			case !fix:
				rep.add(part.key, checkFail, fmt.Sprintf("the %s user field %s does not exist", part.entity, w.field),
					"run crmsync check --fix to create it (needs a CRM administrator's webhook)")
			default:
				_, err := bx.UserFieldAdd(ctx, part.entity, bitrix.Fields{
					"FIELD_NAME": strings.TrimPrefix(w.field, "UF_CRM_"), "USER_TYPE_ID": w.userType,
					"LABEL": w.label, "XML_ID": "crmsync_" + strings.ToLower(w.field),
				})
				if err != nil {
					rep.add(part.key, checkFail, fmt.Sprintf("creating %s %s: %v", part.entity, w.field, err), "create it by hand in CRM settings → fields")
				} else {
					rep.add(part.key, checkFixed, fmt.Sprintf("created the %s user field %s (%s)", part.entity, w.field, w.userType), "")
				}
			}
		}
	}
}

// profileFieldType is the Bitrix24 user field type that holds a profile
// value.
func profileFieldType(key string) string {
	switch key {
	case config.ProfileOrdersCount:
		return "integer"
	case config.ProfileTotalSpent:
		return "double"
	case config.ProfileFirstOrderDate, config.ProfileLastOrderDate:
		return "date"
	}
	return "string"
}
