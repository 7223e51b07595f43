package main

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// funnelMapping maps every status group of the fake RetailCRM to funnel n.
func funnelMapping(n string) string {
	c := "C" + n + ":"
	return "    statuses: { new: " + c + "NEW, group:approval: " + c + "PREPARATION, group:assembling: " + c + "PREPARATION, " +
		"group:delivery: " + c + "PREPARATION, group:complete: " + c + "WON, group:cancel: " + c + "LOSE }\n"
}

// TestCheckEveryFunnel: check validates each funnels entry like the top
// level: its funnel exists, its stages exist in that funnel, and every
// active RetailCRM status maps to one of them; each finding names the
// entry.
func TestCheckEveryFunnel(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	f.bx.SeedCategory(3, "Wholesale")
	good := "funnels:\n  - sites: [shop]\n    order_types: [wholesale]\n    category_id: 3\n" + funnelMapping("3")
	cfg := writeConfig(t, t.TempDir(), f.config(fullMapping+good))
	r := runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitOK)
	wantAll(t, "check output", r.stdout, "funnels[0] (stores shop): every stage exists in DEAL_STAGE_3", "every mapped stage exists in DEAL_STAGE ")

	bad := "rules:\n  - on: created\n    do: { stage: C3:LATER }\n  - on: created\n    do: { stage: PREPARATION }\n" + "funnels:\n  - sites: [shop]\n    category_id: 3\n    statuses: { new: C3:NOPE, group:complete: C3:WON }\n    deleted_stage: C3:GONE\n" +
		"  - sites: [outlet]\n    category_id: 9\n" + funnelMapping("9")
	cfg = writeConfig(t, t.TempDir(), f.config(fullMapping+bad))
	r = runInProcess(t, "--config", cfg, "check", "--json")
	r.mustCode(t, exitConfig)
	rep := checkJSON(t, r)
	for _, tt := range []struct{ check, want string }{
		{"bitrix.funnels[0]", "funnels[0]: stages missing from DEAL_STAGE_3: new → C3:NOPE, deleted_stage C3:GONE"},
		{"bitrix.funnels[1]", "funnels[1].category_id 9: the portal has no such deal funnel"},
		{"bitrix.funnels[1]", "3 Wholesale"},
		{"funnels[0].statuses", "no stage for the RetailCRM status(es) assembling (group assembling)"},
		{"funnels[0].statuses", "to funnels[0].statuses"},
		{"rules.stages", "rules[0].do.stage C3:LATER (not in DEAL_STAGE_3)"},
	} {
		found := false
		for _, fd := range findingOf(rep, tt.check) {
			if fd.Status == checkFail && strings.Contains(fd.Detail+" "+fd.Fix, tt.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no failing %s finding with %q in %+v", tt.check, tt.want, rep.Findings)
		}
	}
	if fs := findingOf(rep, "bitrix.stages"); len(fs) != 1 || fs[0].Status != checkOK {
		t.Errorf("the top level's stages: %+v", fs)
	}
}

// TestCheckInitWritesAFunnelPerStore: with several stores and several deal
// funnels, check --init gives each store but the default one a funnel
// (the funnel of its own name first) with a mapping from that funnel's
// stages, and the file it writes passes check.
func TestCheckInitWritesAFunnelPerStore(t *testing.T) {
	t.Parallel()
	f := newFakes(t, retailcrmtest.Options{Sites: []string{"shop", "outlet", "wholesale"}}, bitrixtest.Options{})
	f.bx.SeedCategory(3, "Retail")
	f.bx.SeedCategory(4, "wholesale")
	dir := t.TempDir()
	r := runInProcess(t, "--config", writeConfig(t, dir, f.config("")), "check", "--init")
	r.mustCode(t, exitOK)
	wantAll(t, "--init", r.stdout, "\nfunnels:", "  - sites: [wholesale]   # wholesale\n    category_id: 4",
		"  - sites: [outlet]   # outlet\n    category_id: 3", "group:complete: C4:WON", "group:cancel: C3:LOSE", "group:new: C3:NEW")
	if strings.Contains(r.stdout, "sites: [shop]") {
		t.Errorf("the default store got a funnel of its own:\n%s", r.stdout)
	}
	generated := strings.Replace(r.stdout, `api_key: ""`, "api_key: "+f.rc.APIKey(), 1)
	generated = strings.Replace(generated, `webhook_url: ""`, "webhook_url: "+f.bx.WebhookURL(), 1)
	p := writeConfig(t, dir, generated)
	runInProcess(t, "--config", p, "check").mustCode(t, exitOK)
}
