package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// scopeNeed is a scope of the RetailCRM key and what needs it.
type scopeNeed struct {
	scope, usedBy string
}

func (n scopeNeed) String() string { return n.scope + " (" + n.usedBy + ")" }

// requiredScopes lists the scopes crmsync's commands need and which part of
// which command needs each (docs/api-notes.md, "Scopes, auth and
// transport"). Every command is always available, so all are required.
func requiredScopes() []scopeNeed {
	return []scopeNeed{
		{retailcrm.ScopeOrderRead, "pull: order history and orders; backfill: orders and the history head; push: reading orders back"},
		{retailcrm.ScopeOrderWrite, "push: statuses and manager comments"},
		{retailcrm.ScopeCustomerRead, "pull: customer changes; backfill: the customers history head"},
		{retailcrm.ScopeReferenceRead, "pull, backfill, push and check: statuses, status groups, order methods, stores"},
	}
}

func scopeNames(needs []scopeNeed) []string {
	out := make([]string, len(needs))
	for i, n := range needs {
		out[i] = n.scope
	}
	return out
}

func joinNeeds(needs []scopeNeed) string {
	parts := make([]string, len(needs))
	for i, n := range needs {
		parts[i] = n.String()
	}
	return strings.Join(parts, "; ")
}

func (a *app) checkRetailCRM(ctx context.Context, cfg *config.Config, rep *checkReport) {
	rc, err := a.newRetailCRM(cfg, interactive)
	if err != nil {
		rep.add("retailcrm", checkFail, err.Error(), "fix retailcrm.url and retailcrm.api_key")
		return
	}
	creds, err := rc.Credentials(ctx)
	if err != nil {
		rep.add("retailcrm.credentials", checkFail, err.Error(), "check retailcrm.url and that retailcrm.api_key is active")
		return
	}
	var missing []scopeNeed
	for _, n := range requiredScopes() {
		if !creds.HasScope(n.scope) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		rep.add("retailcrm.scopes", checkFail, "the API key lacks "+joinNeeds(missing),
			"in RetailCRM: Settings → Integration → API keys, allow "+strings.Join(scopeNames(missing), ", "))
	} else {
		rep.add("retailcrm.scopes", checkOK, "the API key has "+joinNeeds(requiredScopes()), "")
	}

	settings, err := rc.Settings(ctx)
	if err != nil {
		rep.add("retailcrm.timezone", checkWarn, "cannot read /api/v5/settings: "+err.Error(), "allow the key to read settings; until then dates are read in UTC")
	} else if _, lerr := settings.Location(); lerr != nil {
		rep.add("retailcrm.timezone", checkWarn, lerr.Error(), "")
	} else {
		rep.add("retailcrm.timezone", checkOK, "account time zone "+settings.Timezone, "")
	}

	if len(cfg.RetailCRM.Sites) > 0 {
		checkSites(ctx, rc, creds, cfg, rep)
	}
	if !creds.HasScope("reference_read") {
		return // the dictionaries below need it; already reported
	}
	checkStatuses(ctx, rc, cfg, rep)
	if len(cfg.Mapping.OrderMethods) > 0 {
		methods, err := rc.OrderMethods(ctx)
		if err != nil {
			rep.add("retailcrm.order_methods", checkFail, err.Error(), "")
		} else {
			var unknown []string
			for _, m := range slices.Sorted(maps.Keys(cfg.Mapping.OrderMethods)) {
				if _, ok := methods[m]; !ok {
					unknown = append(unknown, m)
				}
			}
			if len(unknown) > 0 {
				rep.add("retailcrm.order_methods", checkWarn, "mapping.order_methods names methods RetailCRM does not have: "+strings.Join(unknown, ", "),
					"use codes from RetailCRM: Settings → Order methods ("+strings.Join(slices.Sorted(maps.Keys(methods)), ", ")+")")
			}
		}
	}
}

func checkSites(ctx context.Context, rc *retailcrm.Client, creds *retailcrm.Credentials, cfg *config.Config, rep *checkReport) {
	sites, err := rc.Sites(ctx)
	if err != nil {
		rep.add("retailcrm.sites", checkFail, err.Error(), "")
		return
	}
	var unknown, denied []string
	for _, s := range cfg.RetailCRM.Sites {
		if _, ok := sites[s]; !ok {
			unknown = append(unknown, s)
		} else if creds.SiteAccess == retailcrm.SiteAccessSelective && !slices.Contains(creds.SitesAvailable, s) {
			denied = append(denied, s)
		}
	}
	switch {
	case len(unknown) > 0:
		rep.add("retailcrm.sites", checkFail, "retailcrm.sites names stores RetailCRM does not have: "+strings.Join(unknown, ", "),
			"use store codes from: "+strings.Join(slices.Sorted(maps.Keys(sites)), ", "))
	case len(denied) > 0:
		rep.add("retailcrm.sites", checkFail, "the API key may not read the stores "+strings.Join(denied, ", "),
			"give the key access to them, or remove them from retailcrm.sites")
	default:
		rep.add("retailcrm.sites", checkOK, "stores "+strings.Join(cfg.RetailCRM.Sites, ", ")+" exist and are readable", "")
	}
}

// checkStatuses reports active statuses no mapping covers, and mapping keys
// that name statuses or groups RetailCRM does not have.
func checkStatuses(ctx context.Context, rc *retailcrm.Client, cfg *config.Config, rep *checkReport) {
	statuses, err := rc.Statuses(ctx)
	if err != nil {
		rep.add("retailcrm.statuses", checkFail, err.Error(), "")
		return
	}
	groups, err := rc.StatusGroups(ctx)
	if err != nil {
		rep.add("retailcrm.statuses", checkFail, err.Error(), "")
		return
	}
	all := cfg.AllFunnels()
	for _, f := range append(all[len(all)-1:], all[:len(all)-1]...) { // the top level first
		checkFunnelStatuses(f, statuses, groups, rep)
	}
}

// checkFunnelStatuses reports, for one funnel (the top level as
// mapping.statuses, an entry as funnels[i].statuses), the active statuses
// it maps to no stage and the statuses or groups it names that RetailCRM
// lacks.
func checkFunnelStatuses(f config.Funnel, statuses map[string]retailcrm.Status, groups map[string]retailcrm.StatusGroup, rep *checkReport) {
	check := f.Path() + ".statuses"
	var unmapped []string
	for _, code := range slices.Sorted(maps.Keys(statuses)) {
		st := statuses[code]
		if !st.Active {
			continue
		}
		if _, ok := f.StageFor(code, st.Group); !ok {
			unmapped = append(unmapped, fmt.Sprintf("%s (group %s)", code, st.Group))
		}
	}
	if len(unmapped) > 0 {
		rep.add(check, checkFail, "no stage for the RetailCRM status(es) "+strings.Join(unmapped, ", ")+"; orders in them would be parked",
			"add them, or their group as group:<code>, to "+check)
	} else {
		rep.add(check, checkOK, fmt.Sprintf("all %d active RetailCRM statuses map to a stage", countActive(statuses)), "")
	}
	var unknown []string
	for _, key := range slices.Sorted(maps.Keys(f.Statuses)) {
		if g, ok := strings.CutPrefix(key, "group:"); ok {
			if _, ok := groups[g]; !ok {
				unknown = append(unknown, key)
			}
		} else if _, ok := statuses[key]; !ok {
			unknown = append(unknown, key)
		}
	}
	for _, stage := range slices.Sorted(maps.Keys(f.Stages)) {
		if _, ok := statuses[f.Stages[stage]]; !ok {
			unknown = append(unknown, "stages."+stage+" → "+f.Stages[stage])
		}
	}
	if len(unknown) > 0 {
		rep.add(check, checkFail, "the mapping names statuses or groups RetailCRM does not have: "+strings.Join(unknown, ", "),
			"status codes are case-sensitive; RetailCRM has groups "+strings.Join(slices.Sorted(maps.Keys(groups)), ", "))
	}
}

func countActive(statuses map[string]retailcrm.Status) int {
	n := 0
	for _, s := range statuses {
		if s.Active {
			n++
		}
	}
	return n
}
