package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// TestPushFailingOutrightAlertsOnce: a push that cannot run at all (the
// portal blocks the stage history with OVERLOAD_LIMIT) tells
// alerts.notify_user_ids once, not on every scheduled run.
func TestPushFailingOutrightAlertsOnce(t *testing.T) {
	t.Parallel()
	f := newFakes(t, retailcrmtest.Options{}, bitrixtest.Options{})
	f.bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultOverload, Method: "crm.stagehistory.list", Probability: 1})
	dir := t.TempDir()
	body := fmt.Sprintf("retailcrm:\n  url: %s\n  api_key: %s\nbitrix:\n  webhook_url: %s\n%salerts:\n  notify_user_ids: [7]\n",
		f.rc.URL(), f.rc.APIKey(), f.bx.WebhookURL(), fullMapping)
	cfg := writeConfig(t, dir, body)
	db := filepath.Join(dir, "alert.db")
	for run := 0; run < 2; run++ {
		r := runInProcess(t, "--config", cfg, "--db", db, "push")
		if r.code == exitOK {
			t.Fatalf("push against a blocked portal succeeded: %s", r.stderr)
		}
	}
	notes := f.bx.Notifications()
	if len(notes) != 1 {
		t.Fatalf("%d notifications after two failed pushes, want 1: %+v", len(notes), notes)
	}
	if !strings.Contains(fmt.Sprint(notes[0]), "push") {
		t.Errorf("the alert does not name the command: %+v", notes[0])
	}
}
