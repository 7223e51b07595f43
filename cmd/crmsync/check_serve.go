package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/config"
)

// Paths of crmsync serve's wake-up endpoints (docs/operations.md#serve).
const (
	hookRetailCRMPath = "/hooks/retailcrm/"
	hookBitrixPath    = "/hooks/bitrix"
)

// serveEvents are the Bitrix24 events that wake serve's push: a manager
// moving a deal (or lead) or changing its fields, and a timeline comment.
func serveEvents(cfg *config.Config) []string {
	if cfg.Bitrix.Entity == config.EntityLead {
		return []string{bitrix.EventLeadUpdate, bitrix.EventTimelineCommentAdd}
	}
	return []string{bitrix.EventDealUpdate, bitrix.EventTimelineCommentAdd}
}

// checkServe prints the URLs to register for crmsync serve: the RetailCRM
// trigger's (its token shown as ***, with where it comes from) and the
// Bitrix24 outbound webhook's, with the events to tick. Silent when serve is
// not configured (no public_url and no token). With fix it binds the
// Bitrix24 handlers by event.bind where the portal allows it; on an inbound
// webhook it does not (the docs allow event.bind only to applications), so
// check says so and gives the steps to take by hand.
func (a *app) checkServe(ctx context.Context, cfg *config.Config, rep *checkReport, fix bool) {
	s := cfg.Serve
	if s.PublicURL == "" && s.RetailCRMToken == "" && s.BitrixToken == "" {
		return
	}
	if s.PublicURL == "" {
		rep.add("serve.public_url", checkWarn, "not set: crmsync cannot tell the URLs RetailCRM and Bitrix24 must call to wake crmsync serve",
			"set serve.public_url to the https address of the proxy in front of serve.listen, e.g. https://crmsync.example.com")
		return
	}
	base := strings.TrimRight(s.PublicURL, "/")

	if s.RetailCRMToken == "" {
		rep.add("serve.retailcrm", checkWarn, "serve.retailcrm_token is not set: serve refuses every RetailCRM trigger (401)",
			"generate one (openssl rand -hex 16) into "+config.FileKey("serve.retailcrm_token")+" or the systemd credential serve_retailcrm_token")
	} else {
		rep.add("serve.retailcrm", checkOK, fmt.Sprintf("RetailCRM trigger URL: %s%s*** (*** is serve.retailcrm_token, %s)",
			base, hookRetailCRMPath, secretSource(cfg, "serve.retailcrm_token")),
			"")
		rep.add("serve.retailcrm", checkOK, "register it in RetailCRM: Settings → Triggers → add a trigger on the event \"order changed\" (and \"order created\") "+
			"with the action \"HTTP request\", method POST, to that URL with the token in place of ***", "")
	}

	hook := base + hookBitrixPath
	events := serveEvents(cfg)
	steps := fmt.Sprintf("in Bitrix24: Developer resources → Other → Outbound webhook, handler URL %s, events %s; "+
		"put the token Bitrix24 then shows into %s (or the systemd credential serve_bitrix_token)",
		hook, strings.Join(events, ", "), config.FileKey("serve.bitrix_token"))
	if !fix {
		detail := fmt.Sprintf("Bitrix24 outbound webhook: handler %s for %s", hook, strings.Join(events, ", "))
		if s.BitrixToken == "" {
			rep.add("serve.bitrix", checkWarn, detail+"; serve.bitrix_token is not set, so serve refuses every Bitrix24 event (401)", steps)
			return
		}
		rep.add("serve.bitrix", checkOK, detail+" (its application token is serve.bitrix_token, "+secretSource(cfg, "serve.bitrix_token")+")", "")
		return
	}
	a.bindServeEvents(ctx, cfg, rep, hook, events, steps)
}

// bindServeEvents registers hook for events with event.bind, unless bound
// already.
func (a *app) bindServeEvents(ctx context.Context, cfg *config.Config, rep *checkReport, hook string, events []string, steps string) {
	bx, err := a.newBitrix(cfg, interactive)
	if err != nil {
		return // reported by the Bitrix24 checks
	}
	bound, err := bx.EventHandlers(ctx)
	if bitrix.NeedsApplication(err) {
		rep.add("serve.bitrix", checkWarn, "cannot register the event handlers: Bitrix24 lets only applications bind them (event.bind), "+
			"and crmsync uses an inbound webhook; create an outbound webhook by hand", steps)
		return
	}
	if err != nil {
		rep.add("serve.bitrix", checkFail, "reading the bound event handlers: "+err.Error(), steps)
		return
	}
	var done, already []string
	for _, ev := range events {
		if slices.ContainsFunc(bound, func(h bitrix.EventHandler) bool { return strings.EqualFold(h.Event, ev) && h.Handler == hook }) {
			already = append(already, ev)
			continue
		}
		if err := bx.BindEvent(ctx, ev, hook); err != nil {
			rep.add("serve.bitrix", checkFail, fmt.Sprintf("binding %s to %s: %v", ev, hook, err), steps)
			continue
		}
		done = append(done, ev)
	}
	if len(done) > 0 {
		rep.add("serve.bitrix", checkFixed, fmt.Sprintf("bound %s to %s", strings.Join(done, ", "), hook), "")
	}
	if len(already) > 0 {
		rep.add("serve.bitrix", checkOK, fmt.Sprintf("%s already bound to %s", strings.Join(already, ", "), hook), "")
	}
}

// secretSource says where a secret's value came from, never the value.
func secretSource(cfg *config.Config, key string) string {
	for _, f := range cfg.SecretFiles {
		if f.Key == config.FileKey(key) {
			return "read from " + f.Path
		}
	}
	if _, ok := os.LookupEnv(config.EnvName(key)); ok {
		return "from " + config.EnvName(key)
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, config.CredentialName(key))); err == nil {
			return "from the systemd credential " + config.CredentialName(key)
		}
	}
	if cfg.File != "" {
		return "from " + cfg.File
	}
	return "set"
}
