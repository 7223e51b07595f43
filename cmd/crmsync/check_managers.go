package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// checkManagers reports what matching order managers to Bitrix24 users
// needs (docs/configuration.md, "Responsible manager"): the API key's
// user_read, the webhook's user or user_basic (user_brief shows no
// e-mails), and the active RetailCRM managers that neither mapping.managers
// nor an e-mail gives a Bitrix24 user (their deals get
// bitrix.assigned_by_id). Matching is a refinement, so these are warnings.
// Problems reaching either API are reported by the checks before.
func (a *app) checkManagers(ctx context.Context, cfg *config.Config, rep *checkReport) {
	rc, err := a.newRetailCRM(cfg, interactive)
	if err != nil {
		return
	}
	creds, err := rc.Credentials(ctx)
	if err != nil {
		return
	}
	bx, err := a.newBitrix(cfg, interactive)
	if err != nil {
		return
	}
	var scopes []string
	if _, err := bx.Run(ctx, bitrix.ScopeCmd(), &scopes); err != nil {
		return
	}
	fallback := "bitrix.assigned_by_id (" + strconv.Itoa(cfg.Bitrix.AssignedByID) + ")"
	if cfg.Bitrix.AssignedByID == 0 {
		fallback = "the webhook's user (bitrix.assigned_by_id is 0)"
	}
	rcOK, bxOK := creds.HasScope(retailcrm.ScopeUserRead), bitrix.CanReadUserEmails(scopes)
	var lacks, fixes []string
	if !rcOK {
		lacks = append(lacks, "the API key lacks user_read (RetailCRM's users and their e-mails)")
		fixes = append(fixes, "in RetailCRM: Settings → Integration → API keys, allow user_read")
	}
	if !bxOK {
		if slices.Contains(scopes, "user_brief") {
			lacks = append(lacks, "the webhook has only user_brief, which shows no e-mails")
		} else {
			lacks = append(lacks, "the webhook lacks the scope user (or user_basic)")
		}
		fixes = append(fixes, "in Bitrix24: Developer resources → Inbound webhook, tick user")
	}
	if len(lacks) > 0 {
		rep.add("managers.scopes", checkWarn, strings.Join(lacks, "; ")+"; order managers are matched only through mapping.managers, the others' deals get "+fallback,
			strings.Join(fixes, "; "))
		return
	}
	rep.add("managers.scopes", checkOK, "the API key has user_read and the webhook can read users' e-mails: order managers are matched to Bitrix24 users by e-mail", "")

	yes := true
	managers, err := rc.AllUsers(ctx, retailcrm.UsersFilter{Active: &yes, IsManager: &yes})
	if err != nil {
		rep.add("managers", checkWarn, "cannot list RetailCRM managers: "+err.Error(), "")
		return
	}
	users, err := bx.Users(ctx, map[string]any{"ACTIVE": true})
	if err != nil {
		rep.add("managers", checkWarn, "cannot list Bitrix24 users: "+err.Error(), "")
		return
	}
	byEmail := bitrix.UsersByEmail(users)
	active := map[int64]bool{}
	for _, u := range users {
		if u.Active {
			active[int64(u.ID)] = true
		}
	}
	var unmatched []string
	for _, m := range managers {
		if _, ok := cfg.Mapping.ManagerFor(m.ID); ok {
			continue
		}
		if _, ok := byEmail[bitrix.NormalizeEmail(m.Email)]; ok && m.Email != "" {
			continue
		}
		who := strconv.FormatInt(m.ID, 10)
		if n := m.Name(); n != "" {
			who += " " + n
		}
		if m.Email != "" {
			who += " <" + m.Email + ">"
		}
		unmatched = append(unmatched, who)
	}
	var gone []string
	for _, k := range slices.Sorted(maps.Keys(cfg.Mapping.Managers)) {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			if bid, ok := cfg.Mapping.ManagerFor(id); ok && !active[bid] {
				gone = append(gone, fmt.Sprintf("%s → %d", k, bid))
			}
		}
	}
	if len(gone) > 0 {
		rep.add("mapping.managers", checkWarn, "mapping.managers names Bitrix24 users that are not active users: "+strings.Join(gone, ", "),
			"use ids of active users (Bitrix24: Employees)")
	}
	if len(unmatched) > 0 {
		rep.add("managers", checkWarn, fmt.Sprintf("%d of %d active RetailCRM manager(s) have no Bitrix24 user: %s; their deals get %s",
			len(unmatched), len(managers), strings.Join(unmatched, ", "), fallback),
			"give their Bitrix24 users the same e-mail, or add them to mapping.managers (RetailCRM user id: Bitrix24 user id)")
		return
	}
	rep.add("managers", checkOK, fmt.Sprintf("all %d active RetailCRM manager(s) have a Bitrix24 user", len(managers)), "")
}
