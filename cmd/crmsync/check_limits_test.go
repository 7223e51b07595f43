package main

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestCheckReportsThePortalsLimits: check names the pacing configured with
// bitrix.rate and bitrix.burst and what the portal's answers said about
// its limits: operating-time counters or none (an on-premise portal with
// that limit off), and refusals for the request rate.
func TestCheckReportsThePortalsLimits(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		bitrix, status string // bitrix: keys added under bitrix:
		portal         bitrixtest.Options
		limit          bool // the portal allows 1 request a second, 2 at once
		wants          []string
	}{
		"cloud defaults": {status: checkOK,
			wants: []string{"paced at 2 a second with a burst of 50", "none refused for rate", "counts operating time per method"}},
		"on-premise without the operating limit": {bitrix: "  rate: 20\n  burst: 500\n", status: checkOK,
			portal: bitrixtest.Options{OmitOperating: true},
			wants:  []string{"paced at 20 a second with a burst of 500", "no operating-time counters"}},
		"portal below the pacing": {bitrix: "  rate: 50\n  burst: 100\n", status: checkWarn, limit: true,
			wants: []string{"with QUERY_LIMIT_EXCEEDED", "paced at 50 a second with a burst of 100", "lower bitrix.rate and bitrix.burst"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, retailcrmtest.Options{}, tt.portal)
			if tt.limit {
				f.bx.SetLimits(1, 2)
			}
			body := strings.Replace(f.config(fullMapping), "bitrix:\n", "bitrix:\n"+tt.bitrix, 1)
			rep := checkJSON(t, runInProcess(t, "--config", writeConfig(t, t.TempDir(), body), "check", "--json"))
			got := findingOf(rep, "bitrix.limits")
			if len(got) != 1 {
				t.Fatalf("bitrix.limits findings %+v", got)
			}
			if got[0].Status != tt.status {
				t.Errorf("status %q, want %q: %+v", got[0].Status, tt.status, got[0])
			}
			wantAll(t, "bitrix.limits", got[0].Detail+" "+got[0].Fix, tt.wants...)
		})
	}
}
