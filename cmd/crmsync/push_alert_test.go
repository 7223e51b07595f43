package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// TestPushFailingOutrightAlertsOnce: a push that cannot run at all (the
// portal blocks the stage history with OVERLOAD_LIMIT) tells
// alerts.notify_user_ids once, not on every scheduled run.
func TestPushFailingOutrightAlertsOnce(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	f.bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultOverload, Method: "crm.stagehistory.list", Probability: 1})
	_, cfg, db := workFiles(t, f.config(fullMapping+"alerts:\n  notify_user_ids: [7]\n"))
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
