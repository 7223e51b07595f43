package sync

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// managersEnv seeds two RetailCRM managers and their Bitrix24 users (one
// e-mail written in another case), and a third manager nobody on the
// portal matches.
func managersEnv(t *testing.T) (e *env, anna, boris int64) {
	e = newEnv(t)
	e.rc.AddUser(retailcrm.User{ID: 14, Active: true, IsManager: true, FirstName: "Anna", LastName: "Petrova", Email: "anna@shop.example"})
	e.rc.AddUser(retailcrm.User{ID: 15, Active: true, IsManager: true, FirstName: "Boris", Email: "Boris@Shop.example"})
	e.rc.AddUser(retailcrm.User{ID: 16, Active: true, IsManager: true, FirstName: "Vera", Email: "vera@shop.example"})
	// The person behind UpdateOrder's history records.
	e.rc.AddUser(retailcrm.User{ID: retailcrmtest.DefaultUserID, Active: true, FirstName: "Olga", Email: "olga@shop.example"})
	anna = e.bx.SeedUser(bitrixtest.UserRow{Email: "ANNA@shop.example", Name: "Anna", Active: true})
	boris = e.bx.SeedUser(bitrixtest.UserRow{Email: "boris@shop.example", Name: "Boris", Active: true})
	e.bx.SeedUser(bitrixtest.UserRow{Email: "vera@shop.example", Name: "Vera (left)", Active: false})
	return e, anna, boris
}

func assigned(t *testing.T, e *env, orderID int64) string {
	t.Helper()
	return bitrixtest.Str(dealOf(t, e, orderID)[bitrix.FieldAssignedByID])
}

// TestDealFollowsTheOrdersManager: a new deal gets the Bitrix24 user whose
// e-mail the order's manager has; a manager change in RetailCRM moves it;
// a person's reassignment in Bitrix24 stands until the manager changes
// again. The users are read once, and a pull with nothing new reads none.
func TestDealFollowsTheOrdersManager(t *testing.T) {
	e, anna, boris := managersEnv(t)
	e.cfg.Bitrix.AssignedByID = 7
	o := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "100")
	o.ManagerID = 14
	o = e.rc.CreateOrder(o)
	e.pull()
	if got := assigned(t, e, o.ID); got != strconv.FormatInt(anna, 10) {
		t.Fatalf("new deal assigned to %s, want %d (Anna, matched by e-mail)", got, anna)
	}
	if n := e.rc.Requests("/api/v5/users"); n != 1 {
		t.Errorf("%d /users requests, want 1", n)
	}

	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerID = 15 })
	e.pull()
	if got := assigned(t, e, o.ID); got != strconv.FormatInt(boris, 10) {
		t.Fatalf("after the manager change: assigned to %s, want %d (Boris)", got, boris)
	}

	// A person gives the deal to someone else; a change that is not the
	// manager's leaves it with them.
	dealID, _ := strconv.ParseInt(bitrixtest.Str(dealOf(t, e, o.ID)["ID"]), 10, 64)
	if _, err := e.bxc.Run(context.Background(), bitrix.UpdateCmd(bitrix.EntityDeal, bitrix.ID(dealID), bitrix.Fields{bitrix.FieldAssignedByID: 99}, nil), nil); err != nil {
		t.Fatal(err)
	}
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.TotalSumm = money("150") })
	e.pull()
	if got := assigned(t, e, o.ID); got != "99" {
		t.Errorf("a change other than the manager's reassigned the deal to %s, want the person's 99", got)
	}
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.ManagerID = 14 })
	e.pull()
	if got := assigned(t, e, o.ID); got != strconv.FormatInt(anna, 10) {
		t.Errorf("after the next manager change: assigned to %s, want %d", got, anna)
	}

	users, bxReq := e.rc.Requests("/api/v5/users"), e.bx.Stats().Requests
	e.pull()
	if n := e.rc.Requests("/api/v5/users"); n != users {
		t.Errorf("an idle pull read /users (%d → %d)", users, n)
	}
	if n := e.bx.Stats().Requests; n != bxReq {
		t.Errorf("an idle pull made %d Bitrix24 requests", n-bxReq)
	}
	if users != 1 {
		t.Errorf("%d /users requests over the runs, want 1 (the matches are cached)", users)
	}
	// A day later, the next order that names a manager reads them again.
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.TotalSumm = money("160") })
	e.pull(func(o *Options) { o.Now = func() time.Time { return time.Now().Add(25 * time.Hour) } })
	if n := e.rc.Requests("/api/v5/users"); n != 2 {
		t.Errorf("%d /users requests after a day, want 2", n)
	}
}

// TestUnknownManagerFallsBack: a manager RetailCRM does not list, or whose
// e-mail no active Bitrix24 user has, gets bitrix.assigned_by_id;
// mapping.managers wins over the e-mail.
func TestUnknownManagerFallsBack(t *testing.T) {
	e, _, _ := managersEnv(t)
	e.cfg.Bitrix.AssignedByID = 7
	e.cfg.Mapping.Managers = map[string]string{"15": "40"}
	mk := func(manager int64, email string) retailcrm.Order {
		o := order(&retailcrm.Customer{FirstName: "C", Email: email}, "100")
		o.ManagerID = manager
		return e.rc.CreateOrder(o)
	}
	unknown, inactive, mapped, none := mk(99, "a@example.com"), mk(16, "b@example.com"), mk(15, "c@example.com"), mk(0, "d@example.com")
	e.pull()
	for _, tt := range []struct {
		name string
		id   int64
		want string
	}{{"unknown to RetailCRM", unknown.ID, "7"}, {"only an inactive Bitrix24 user", inactive.ID, "7"},
		{"mapping.managers", mapped.ID, "40"}, {"no manager", none.ID, "7"}} {
		if got := assigned(t, e, tt.id); got != tt.want {
			t.Errorf("%s: assigned to %s, want %s", tt.name, got, tt.want)
		}
	}
	st := e.openDB()
	defer st.Close()
	m, err := st.ManagerMatches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := m[99]; !ok || got.BitrixUserID != 0 {
		t.Errorf("the unknown manager is not stored unmatched: %+v %v", got, ok)
	}
	if m[14].Name != "Anna Petrova" || m[14].BitrixUserID == 0 {
		t.Errorf("match of 14: %+v", m[14])
	}

}

// TestManagersWithoutUserScope: a key without user_read leaves matching to
// mapping.managers; the run goes on and deals get bitrix.assigned_by_id.
func TestManagersWithoutUserScope(t *testing.T) {
	e := newEnv(t)
	e.useRetailCRM(retailcrmtest.Options{Scopes: []string{"order_read", "order_write",
		"customer_read", "customer_write", "reference_read"}})
	checkAssignedByFallback(t, e, "without user_read")
}

// checkAssignedByFallback: an order of a manager whose user the portal has
// (by e-mail) makes a deal assigned to bitrix.assigned_by_id, as a run
// that cannot match managers to users does, and is not parked.
func checkAssignedByFallback(t *testing.T, e *env, what string) {
	t.Helper()
	e.rc.AddUser(retailcrm.User{ID: 14, Active: true, Email: "anna@shop.example"})
	e.bx.SeedUser(bitrixtest.UserRow{Email: "anna@shop.example", Active: true})
	e.cfg.Bitrix.AssignedByID = 7
	o := order(&retailcrm.Customer{FirstName: "C", Email: "c@example.com"}, "100")
	o.ManagerID = 14
	o = e.rc.CreateOrder(o)
	res := e.pull()
	if got := assigned(t, e, o.ID); got != "7" || res.Parked() != 0 {
		t.Errorf("%s: assigned to %s, %d parked; want 7, none", what, got, res.Parked())
	}
}

// TestRuleTaskGoesToTheManager: responsible_id: manager gives the task to
// the deal's responsible user.
func TestRuleTaskGoesToTheManager(t *testing.T) {
	e, anna, _ := managersEnv(t)
	e.cfg.Rules = ruleSet(t, []map[string]any{{"on": "created",
		"do": map[string]any{"task": map[string]any{"title": "Call about {{.Number}}", "responsible_id": "manager"}}}})
	o := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "100")
	o.ManagerID = 14
	o = e.rc.CreateOrder(o)
	e.pull()
	tasks := e.bx.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("tasks %+v", tasks)
	}
	if got := bitrixtest.Str(tasks[0].Fields["RESPONSIBLE_ID"]); got != strconv.FormatInt(anna, 10) {
		t.Errorf("task for %s, want %d (the order's manager)", got, anna)
	}
	if got := assigned(t, e, o.ID); got != strconv.FormatInt(anna, 10) {
		t.Errorf("deal assigned to %s", got)
	}
}

// TestManagersWithoutWebhookUserScope: a webhook that may not read users
// (no user scope) or shows no e-mails (user_brief) leaves the fallback; the
// run goes on.
func TestManagersWithoutWebhookUserScope(t *testing.T) {
	for _, scopes := range [][]string{{"crm"}, {"crm", "user_brief"}} {
		t.Run(scopes[len(scopes)-1], func(t *testing.T) {
			e := newEnv(t)
			e.useBitrix(bitrixtest.Options{Scopes: scopes})
			checkAssignedByFallback(t, e, "without the webhook's user scope")
		})
	}
}
