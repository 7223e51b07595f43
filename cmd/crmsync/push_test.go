package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
	"github.com/crmsync/crmsync/store"
)

const pushTestKey = "rcrm-secret-key-0001"

// pushFixture is a shop with linked orders and deals, and a config file.
type pushFixture struct {
	fakes
	dir, cfg, db string
}

func newPushFixture(t *testing.T) *pushFixture {
	t.Helper()
	f := &pushFixture{fakes: newFakes(t, retailcrmtest.Options{APIKey: pushTestKey}, bitrixtest.Options{})}
	f.dir, f.cfg, f.db = workFiles(t, fmt.Sprintf(`retailcrm:
  url: %s
  api_key: %s
bitrix:
  webhook_url: %s
  rate: 100
mapping:
  statuses:
    new: NEW
    complete: WON
  stages:
    EXECUTING: no-such-status
`, f.rc.URL(), pushTestKey, f.bx.WebhookURL()))
	return f
}

// link creates an order and its deal and links them in the database.
func (f *pushFixture) link(t *testing.T) (orderID, dealID int64) {
	t.Helper()
	o := f.rc.CreateOrder(retailcrm.Order{Site: retailcrmtest.DefaultSite, Status: "new"})
	dealID = f.bx.SeedDeal(map[string]any{"TITLE": "Order", "STAGE_ID": "NEW", "ORIGINATOR_ID": "retailcrm",
		"ORIGIN_ID": itoa(o.ID)})
	ctx := context.Background()
	st, err := store.Open(ctx, f.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Tx(ctx, func(tx *store.Tx) error {
		return tx.PutOrderLink(ctx, store.OrderLink{OrderID: o.ID, Site: o.Site, EntityType: store.EntityDeal, EntityID: dealID})
	}); err != nil {
		t.Fatal(err)
	}
	return o.ID, dealID
}

func (f *pushFixture) run(t *testing.T, args ...string) result {
	t.Helper()
	return runInProcess(t, append([]string{"--config", f.cfg, "--db", f.db, "push"}, args...)...)
}

// manage moves deal to stage as a manager (user 7) and, unless comment is
// empty, writes comment on its timeline.
func (f *pushFixture) manage(t *testing.T, deal int64, stage, comment string) {
	t.Helper()
	if err := f.bx.MoveDeal(deal, stage, 7); err != nil {
		t.Fatal(err)
	}
	if comment != "" {
		f.bx.AddComment("deal", deal, 7, comment)
	}
}

func TestPushWritesStatusesAndComments(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t)
	o1, d1 := f.link(t)
	f.manage(t, d1, "WON", "Client asked for a call")
	r := f.run(t)
	r.mustCode(t, exitOK)
	o, _ := f.rc.Order(o1)
	if o.Status != "complete" || !strings.Contains(o.ManagerComment, "пользователь 7] Client asked for a call") {
		t.Errorf("order %+v", o)
	}
	if strings.Contains(r.stderr, pushTestKey) || strings.Contains(r.stderr, f.bx.Secret()) {
		t.Error("a secret reached the output")
	}
	if !strings.Contains(r.stderr, "statuses pushed 1") {
		t.Errorf("stderr %q", r.stderr)
	}
	// status shows the push run.
	rep := statusOf(t, f.cfg, f.db)
	found := false
	for _, run := range rep.Runs {
		if run.Command == "push" && run.Result == "ok" && run.Counters["statuses_pushed"] == 1 && run.Counters["comments_pushed"] == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no push run in status: %+v", rep.Runs)
	}
	// Nothing new: a second run writes nothing.
	edits := f.rc.Requests("/api/v5/orders/{id}/edit")
	f.run(t).mustCode(t, exitOK)
	if got := f.rc.Requests("/api/v5/orders/{id}/edit"); got != edits {
		t.Errorf("second run made %d edits", got-edits)
	}
}

func TestPushParksRejectedStatusExit3(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t)
	o1, d1 := f.link(t)
	o2, d2 := f.link(t)
	f.manage(t, d1, "EXECUTING", "") // maps to a status RetailCRM rejects
	f.manage(t, d2, "WON", "")
	r := f.run(t)
	r.mustCode(t, exitParked)
	if o, _ := f.rc.Order(o2); o.Status != "complete" {
		t.Errorf("the run did not go on after the parked item: %q", o.Status)
	}
	s := runInProcess(t, "--config", f.cfg, "--db", f.db, "status", "--failed")
	s.mustCode(t, exitOK)
	if !strings.Contains(s.stdout, "stage "+itoa(o1)) || !strings.Contains(s.stdout, "no-such-status") {
		t.Errorf("status --failed:\n%s", s.stdout)
	}
}

func TestPushDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t)
	o1, d1 := f.link(t)
	f.manage(t, d1, "WON", "Wants delivery on Friday")
	before, err := os.ReadFile(f.db)
	if err != nil {
		t.Fatal(err)
	}
	r := f.run(t, "--dry-run", "--detailed-exitcode")
	r.mustCode(t, exitUsage) // changes pending
	if !strings.Contains(r.stdout, "status: new → complete (stage WON)") || !strings.Contains(r.stdout, "Wants delivery on Friday") {
		t.Errorf("dry-run report:\n%s", r.stdout)
	}
	j := f.run(t, "--dry-run", "--json")
	j.mustCode(t, exitOK)
	var doc struct {
		DryRun  bool `json:"dry_run"`
		Changes []struct {
			Op        string `json:"op"`
			OrderID   int64  `json:"order_id"`
			NewStatus string `json:"new_status"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, j.stdout)
	}
	if !doc.DryRun || len(doc.Changes) != 2 || doc.Changes[0].OrderID != o1 || doc.Changes[0].NewStatus != "complete" {
		t.Errorf("json %+v", doc)
	}
	if n := f.rc.Requests("/api/v5/orders/{id}/edit"); n != 0 {
		t.Errorf("dry run made %d edits", n)
	}
	after, err := os.ReadFile(f.db)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("dry run changed the database file")
	}
	if o, _ := f.rc.Order(o1); o.Status != "new" || o.ManagerComment != "" {
		t.Errorf("order changed: %+v", o)
	}
}

// TestPushFailingOutrightAlertsOnce: a push that cannot run at all (the
// portal blocks the stage history with OVERLOAD_LIMIT) tells
// alerts.notify_user_ids once, not on every scheduled run.
func TestPushFailingOutrightAlertsOnce(t *testing.T) {
	t.Parallel()
	f := defaultFakes(t)
	_, cfg, db := workFiles(t, f.config(fullMapping+"alerts:\n  notify_user_ids: [7]\n"))
	// A linked deal: push reads the stage history (with none it reads nothing).
	f.order("Anna", "anna@example.com", 100)
	if r := runInProcess(t, "--config", cfg, "--db", db, "pull"); r.code != exitOK {
		t.Fatalf("pull: %d %s", r.code, r.stderr)
	}
	f.bx.InjectFault(bitrixtest.Fault{Kind: bitrixtest.FaultOverload, Method: "crm.stagehistory.list", Probability: 1})
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

// TestPushParksFailingEditExit3: an edit RetailCRM keeps answering 5xx is
// parked waiting for a retry, the run goes on with the other order, and the
// exit is 3 as for any parked item (a push once exited 0 unless an item was
// out of attempts), with the run recorded as partial; once RetailCRM
// answers again, a later run's retry writes it.
func TestPushParksFailingEditExit3(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t)
	o1, d1 := f.link(t)
	o2, d2 := f.link(t)
	f.manage(t, d1, "WON", "")
	f.manage(t, d2, "WON", "")
	f.rc.InjectFault(retailcrmtest.Fault{Kind: retailcrmtest.FaultServerError, Path: "/api/v5/orders/" + itoa(o1) + "/edit",
		Status: 500, Count: 1000})
	r := f.run(t)
	r.mustCode(t, exitParked)
	if !strings.Contains(r.stderr, "parked 1 (1 waiting for a retry, 0 out of attempts)") {
		t.Errorf("stderr %q", r.stderr)
	}
	if o, _ := f.rc.Order(o2); o.Status != "complete" {
		t.Errorf("the run did not go on after the parked item: %q", o.Status)
	}
	if run := statusOf(t, f.cfg, f.db).LastRuns["push"]; run.Result != "partial" {
		t.Errorf("push run recorded as %q, want partial", run.Result)
	}
	s := runInProcess(t, "--config", f.cfg, "--db", f.db, "status", "--failed")
	if !strings.Contains(s.stdout, "stage "+itoa(o1)) || !strings.Contains(s.stdout, "attempts 1") || !strings.Contains(s.stdout, "HTTP 500") {
		t.Errorf("status --failed:\n%s", s.stdout)
	}
	f.rc.ClearFaults()
	// Not due yet: the next run leaves it alone (and parks nothing new).
	f.run(t).mustCode(t, exitOK)
	if o, _ := f.rc.Order(o1); o.Status == "complete" {
		t.Fatal("retried before its backoff")
	}
	ids := failureIDs(t, f.dir, f.cfg, f.db)
	runInProcess(t, append([]string{"--config", f.cfg, "--db", f.db, "retry"}, ids...)...).mustCode(t, exitOK)
	f.run(t).mustCode(t, exitOK)
	if o, _ := f.rc.Order(o1); o.Status != "complete" {
		t.Errorf("the retried edit did not go through: %q", o.Status)
	}
}
