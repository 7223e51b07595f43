package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const funnelsYAML = `
bitrix:
  category_id: 0
funnels:
  - sites: [wholesale]
    category_id: 3
    statuses:
      new: C3:NEW
      Client-Confirmed: C3:PREPARATION
      group:complete: C3:WON
      group:cancel: C3:LOSE
    stages:
      C3:WON: complete
    deleted_stage: C3:LOSE
  - sites: [shop]
    order_types: [b2b]
    methods: [phone, call-request]
    category_id: 5
    statuses: { new: "C5:NEW" }
`

// TestFunnelsLoad: the funnels section is read with its keys' case (stage
// ids such as C3:NEW, status codes such as Client-Confirmed) and each
// entry keeps its place for messages.
func TestFunnelsLoad(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, funnelsYAML)
	want := []Funnel{
		{Sites: []string{"wholesale"}, CategoryID: 3, Index: 0,
			Statuses:     map[string]string{"new": "C3:NEW", "Client-Confirmed": "C3:PREPARATION", "group:complete": "C3:WON", "group:cancel": "C3:LOSE"},
			Stages:       map[string]string{"C3:WON": "complete"},
			DeletedStage: "C3:LOSE"},
		{Sites: []string{"shop"}, OrderTypes: []string{"b2b"}, Methods: []string{"phone", "call-request"}, CategoryID: 5, Index: 1,
			Statuses: map[string]string{"new": "C5:NEW"}},
	}
	if d := cmp.Diff(want, cfg.Funnels); d != "" {
		t.Errorf("funnels (-want +got):\n%s", d)
	}
}

// TestFunnelFor: the first entry that matches the order's store, type and
// method wins; an order no entry takes goes to the top level.
func TestFunnelFor(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, funnelsYAML)
	tests := []struct {
		site, typ, method string
		want              int // Index
		stage             string
	}{
		{"wholesale", "", "", 0, "C3:NEW"},
		{"wholesale", "b2b", "phone", 0, "C3:NEW"},
		{"shop", "b2b", "phone", 1, "C5:NEW"},
		{"shop", "b2b", "shopping-cart", -1, "NEW"},
		{"shop", "", "phone", -1, "NEW"},
		{"other", "", "", -1, "NEW"},
	}
	for _, tt := range tests {
		f := cfg.FunnelFor(tt.site, tt.typ, tt.method)
		stage, _ := f.StageFor("new", "new")
		if f.Index != tt.want || stage != tt.stage {
			t.Errorf("FunnelFor(%q, %q, %q) = %s with new → %s, want index %d with %s", tt.site, tt.typ, tt.method, f.Path(), stage, tt.want, tt.stage)
		}
	}
	f := cfg.FunnelOfCategory("wholesale", 3)
	if s, ok := f.StatusForStage("C3:WON"); !ok || s != "complete" || f.DeletedStageOr() != "C3:LOSE" {
		t.Errorf("funnel 3 maps C3:WON to %q %v, deleted stage %q", s, ok, f.DeletedStageOr())
	}
	if s, _ := cfg.FunnelOfCategory("shop", 0).StatusForStage("NEW"); s != "new" {
		t.Errorf("the default funnel maps NEW back to %q", s)
	}
}

// TestFunnelsInvalid: every problem names the entry (funnels[i]...) and
// the fix.
func TestFunnelsInvalid(t *testing.T) {
	t.Parallel()
	loadInvalidCases(t, []invalidCase{
		{"stage of another funnel", "funnels:\n  - sites: [a]\n    category_id: 1\n    statuses: { new: C1:NEW }\n  - sites: [b]\n    category_id: 2\n    statuses:\n      new: C3:NEW\n",
			[]string{`funnels[1].statuses.new: stage "C3:NEW" belongs to funnel 3, but funnels[1].category_id is 2; prefix it with C2: (line 8)`}, nil},
		{"default-funnel stage", "funnels:\n  - sites: [a]\n    category_id: 4\n    statuses: { new: NEW }\n",
			[]string{`funnels[0].statuses.new: stage "NEW" belongs to funnel 0, but funnels[0].category_id is 4; prefix it with C4:`}, nil},
		{"reverse stage", "funnels:\n  - sites: [a]\n    category_id: 4\n    statuses: { new: C4:NEW }\n    stages: { C1:WON: complete }\n",
			[]string{`funnels[0].stages.C1:WON: stage "C1:WON" belongs to funnel 1`}, nil},
		{"deleted stage", "funnels:\n  - sites: [a]\n    category_id: 4\n    statuses: { new: C4:NEW }\n    deleted_stage: LOSE\n",
			[]string{`funnels[0].deleted_stage: stage "LOSE" belongs to funnel 0`}, nil},
		{"no statuses", "funnels:\n  - sites: [a]\n    category_id: 4\n", []string{"funnels[0].statuses: must map RetailCRM statuses"}, nil},
		{"matches everything", "funnels:\n  - category_id: 4\n    statuses: { new: C4:NEW }\n", []string{"funnels[0]: matches every order"}, nil},
		{"unknown key", "funnels:\n  - sites: [a]\n    category: 4\n    statuses: { new: C0:NEW }\n", []string{"funnels[0].category: unknown key; a funnel has sites, order_types"}, nil},
		{"store not synced", "retailcrm: { sites: [shop] }\nfunnels:\n  - sites: [outlet]\n    category_id: 1\n    statuses: { new: C1:NEW }\n",
			[]string{"funnels[0].sites[0]: names a store retailcrm.sites leaves out"}, nil},
		{"not a list", "funnels: { sites: [a] }\n", []string{"funnels: must be a list of funnels"}, nil},
		{"bad category", "funnels:\n  - sites: [a]\n    category_id: x\n    statuses: { new: NEW }\n", []string{"funnels[0].category_id: must be a whole number"}, nil},
		{"leads", "bitrix: { entity: lead }\nmapping: { statuses: { new: NEW } }\nfunnels:\n  - sites: [a]\n    category_id: 1\n    statuses: { new: C1:NEW }\n", []string{"funnels: leads have no funnels"}, nil},
		{"rule stage of no funnel", "funnels:\n  - sites: [a]\n    category_id: 1\n    statuses: { new: C1:NEW }\nrules:\n  - on: created\n    do: { stage: C7:WON }\n",
			[]string{`rules[0].do.stage: stage "C7:WON" belongs to funnel 7, which neither bitrix.category_id nor funnels names`}, nil},
	})
}
