package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// A method the portal lacks (its module is off) or a scope the webhook lacks
// ends the run as a configuration error naming the method (exit 4): it is
// the same for every item, so nothing is parked or set aside for a retry.
func TestMissingBitrixMethodOrScopeEndsTheRunWithExit4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		bxOpts  bitrixtest.Options
		command string
		rules   string
		want    string
	}{
		{"task module off", bitrixtest.Options{MissingMethods: []string{"tasks.task.add"}}, "pull",
			"rules:\n  - on: created\n    do:\n      task: {title: \"Call about {{.Number}}\", responsible_id: 1}\n",
			"method tasks.task.add not found on the portal (module or scope missing)"},
		{"im scope missing", bitrixtest.Options{Scopes: []string{"crm", "task"}}, "pull",
			"rules:\n  - on: created\n    do:\n      notify: {user_ids: [1], message: \"New order {{.Number}}\"}\n",
			"the webhook lacks the scope im.notify.system.add needs"},
		{"timeline comments missing", bitrixtest.Options{MissingMethods: []string{"crm.timeline.comment.list"}}, "push", "",
			"method crm.timeline.comment.list not found on the portal (module or scope missing)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t, retailcrmtest.Options{}, tc.bxOpts)
			dir := t.TempDir()
			cfg := writeConfig(t, dir, f.config(fullMapping+tc.rules))
			db := filepath.Join(dir, "c.db")
			for i := range 3 {
				f.rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Ann", Email: fmt.Sprintf("ann%d@example.com", i)},
					TotalSumm: decimal.RequireFromString("10"), Currency: "RUB"})
			}
			if tc.command == "push" {
				// Deals linked by a pull first, one with a manager's comment.
				runInProcess(t, "--config", cfg, "--db", db, "pull").mustCode(t, exitOK)
				for _, d := range f.bx.Deals() {
					f.bx.AddComment("deal", d.ID, 7, "Call back")
					break
				}
			}
			r := runInProcess(t, "--config", cfg, "--db", db, tc.command)
			r.mustCode(t, exitConfig)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not name the method (%q):\n%s", tc.want, r.stderr)
			}
			st := runInProcess(t, "--config", cfg, "--db", db, "status", "--json")
			st.mustCode(t, exitOK)
			var rep statusReport
			if err := json.Unmarshal([]byte(st.stdout), &rep); err != nil {
				t.Fatalf("status --json: %v\n%s", err, st.stdout)
			}
			if rep.Failures.Parked != 0 || rep.Failures.Pending != 0 || len(rep.Failures.Items) != 0 {
				t.Errorf("items set aside for a configuration error: %+v", rep.Failures)
			}
			if got := rep.LastRuns[tc.command].Result; got != "failed" {
				t.Errorf("%s run recorded as %q, want failed", tc.command, got)
			}
		})
	}
}
