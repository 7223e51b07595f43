package sync

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
)

// commands counts the calls of method the portal ran, in batches or alone.
func (e *env) commands(method string) int {
	s := e.bx.Stats()
	return s.CommandsPerMethod[method] + s.PerMethod[method]
}

// loseDatabase points the next runs at an empty database, as after losing
// the SQLite file: the remote keys are all crmsync has.
func (e *env) loseDatabase() {
	e.dbPath = filepath.Join(e.t.(*testing.T).TempDir(), "fresh.db")
}

// noContactFieldsOnUpdate fails when a recorded crm.<e>.update carries
// CONTACT_ID or CONTACT_IDS: on a deal either would replace the contacts a
// manager linked.
func noContactFieldsOnUpdate(t *testing.T, sent []sentCmd) {
	t.Helper()
	for _, s := range sent {
		if s.Cmd.Method != "crm.deal.update" && s.Cmd.Method != "crm.lead.update" {
			continue
		}
		fields, _ := s.Cmd.Params["fields"].(map[string]any)
		for _, f := range []string{bitrix.FieldContactID, bitrix.FieldContactIDs} {
			if _, ok := fields[f]; ok && s.Cmd.Method == "crm.deal.update" {
				t.Errorf("%s %s sent %s=%v", s.Key, s.Cmd.Method, f, fields[f])
			}
		}
	}
}

func (e *env) pullRecorded(t *testing.T, mod ...func(*Options)) (*Result, []sentCmd) {
	t.Helper()
	eng, st := e.engine(false, mod...)
	rec := eng.recordWrites()
	res, err := eng.Pull(context.Background())
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	st.Close()
	if res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	return res, *rec
}

func TestNewDealIsCreatedWithContactIDs(t *testing.T) {
	e := newEnv(t)
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "10"))
	_, sent := e.pullRecorded(t)
	d := dealOf(t, e, o.ID)
	contacts := e.bx.Contacts()
	if len(contacts) != 1 {
		t.Fatalf("%d contacts", len(contacts))
	}
	anna := contacts[0].ID
	var adds int
	for _, s := range sent {
		if s.Cmd.Method != "crm.deal.add" {
			continue
		}
		adds++
		fields, _ := s.Cmd.Params["fields"].(map[string]any)
		if ids, _ := fields[bitrix.FieldContactIDs].([]bitrix.ID); len(ids) != 1 || int64(ids[0]) != anna {
			t.Errorf("crm.deal.add CONTACT_IDS = %v, want [%d]", fields[bitrix.FieldContactIDs], anna)
		}
		if _, ok := fields[bitrix.FieldContactID]; ok {
			t.Errorf("crm.deal.add sent the deprecated CONTACT_ID")
		}
	}
	if adds != 1 {
		t.Fatalf("%d crm.deal.add", adds)
	}
	id, _ := strconv.ParseInt(d["ID"].(string), 10, 64)
	want := []bitrixtest.Binding{{ContactID: anna, Sort: 10, Primary: true}}
	if got := e.bx.DealContacts(id); !cmp.Equal(got, want) {
		t.Fatalf("deal contacts: %s", cmp.Diff(want, got))
	}
	if n := e.commands("crm.deal.contact.add") + e.commands("crm.deal.contact.items.get"); n != 0 {
		t.Fatalf("a new deal cost %d contact-link requests", n)
	}
}

// TestManagerLinkedContactsSurvivePulls: a manager added a second contact
// to the deal and made it primary; pulls that change the order keep the
// deal's contacts exactly, with the database and after losing it.
func TestManagerLinkedContactsSurvivePulls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		entity string
		lostDB bool
		reads  int // crm.<e>.contact.items.get the pull may cost
	}{
		{name: "deal", entity: "deal"},
		{name: "deal, database lost", entity: "deal", lostDB: true, reads: 1},
		{name: "lead", entity: "lead"},
		{name: "lead, database lost", entity: "lead", lostDB: true, reads: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ent := bitrix.EntityDeal
			list := e.bx.Deals
			contactsOf := e.bx.DealContacts
			stage := "WON"
			if tc.entity == "lead" {
				ent, list, contactsOf, stage = bitrix.EntityLead, e.bx.Leads, e.bx.LeadContacts, "CONVERTED"
				e.cfg.Bitrix.Entity = "lead"
				e.cfg.Mapping.Statuses = map[string]string{"new": "NEW", "group:complete": "CONVERTED", "group:cancel": "JUNK"}
			}
			o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "10"))
			e.pull()
			rows := list()
			if len(rows) != 1 {
				t.Fatalf("%d %ss", len(rows), tc.entity)
			}
			id := rows[0].ID
			anna, _ := strconv.ParseInt(rows[0].Str("CONTACT_ID"), 10, 64)
			boris := e.bx.SeedContact(map[string]any{"NAME": "Boris"})
			yes := true
			if _, err := e.bxc.LinkContact(context.Background(), ent, bitrix.ID(id), bitrix.ContactLink{ContactID: bitrix.ID(boris), Primary: &yes}); err != nil {
				t.Fatal(err)
			}
			before := contactsOf(id)
			if want := []bitrixtest.Binding{{ContactID: anna, Sort: 10}, {ContactID: boris, Sort: 20, Primary: true}}; !cmp.Equal(before, want) {
				t.Fatalf("manager's contacts: %v", before)
			}

			e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete"; o.TotalSumm = money("12") })
			if tc.lostDB {
				e.loseDatabase()
			}
			reads0, links0 := e.commands("crm."+tc.entity+".contact.items.get"), e.commands("crm."+tc.entity+".contact.add")
			_, sent := e.pullRecorded(t)
			noContactFieldsOnUpdate(t, sent)
			row := list()[0]
			if row.Str(e.mapperStageField()) != stage || row.Str("OPPORTUNITY") != "12.00" {
				t.Fatalf("the order's change was not written: %v", row.Fields)
			}
			if got := contactsOf(id); !cmp.Equal(got, before) {
				t.Fatalf("the pull changed the manager's contacts: %s", cmp.Diff(before, got))
			}
			if row.Str("CONTACT_ID") != strconv.FormatInt(boris, 10) {
				t.Fatalf("primary contact flipped back: CONTACT_ID %s", row.Str("CONTACT_ID"))
			}
			if n := e.commands("crm."+tc.entity+".contact.add") - links0; n != 0 {
				t.Fatalf("%d contact links added to a %s that has the contact", n, tc.entity)
			}
			if n := e.commands("crm."+tc.entity+".contact.items.get") - reads0; n != tc.reads {
				t.Fatalf("%d reads of the contact list, want %d", n, tc.reads)
			}
		})
	}
}

func (e *env) mapperStageField() string {
	if e.cfg.Bitrix.Entity == "lead" {
		return bitrix.FieldStatusID
	}
	return bitrix.FieldStageID
}

// TestDealWithoutTheOrdersContactGetsItOnce: a deal that carries the order's
// key but not its contact (typed in by a manager, or left by another tool)
// gains the contact as one more link, once; its own contacts stay as they
// are, and the primary one stays primary.
func TestDealWithoutTheOrdersContactGetsItOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		seedOther bool
		reads     int // crm.deal.contact.items.get on the first pull
		want      func(other, anna int64) []bitrixtest.Binding
	}{
		{name: "deal with another contact", seedOther: true, reads: 1,
			want: func(other, anna int64) []bitrixtest.Binding {
				return []bitrixtest.Binding{{ContactID: other, Sort: 10, Primary: true}, {ContactID: anna, Sort: 20}}
			}},
		// A deal without contacts shows no CONTACT_ID: nothing to read.
		{name: "deal without contacts", reads: 0,
			want: func(_, anna int64) []bitrixtest.Binding {
				return []bitrixtest.Binding{{ContactID: anna, Sort: 10, Primary: true}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "10"))
			seed := map[string]any{"TITLE": "typed in", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(o.ID, 10)}
			var other int64
			if tc.seedOther {
				other = e.bx.SeedContact(map[string]any{"NAME": "Olga"})
				seed["CONTACT_IDS"] = []any{other}
			}
			deal := e.bx.SeedDeal(seed)

			// A dry run announces the link and sends nothing.
			dry := e.dryPull()
			var text bytes.Buffer
			if err := dry.Report.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "CONTACT_ID: added ") || e.commands("crm.deal.contact.add") != 0 {
				t.Fatalf("dry run: %d links sent, report:\n%s", e.commands("crm.deal.contact.add"), text.String())
			}
			reads0 := e.commands("crm.deal.contact.items.get")

			res, sent := e.pullRecorded(t, keepChanges)
			noContactFieldsOnUpdate(t, sent)
			text.Reset()
			if err := res.Report.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "CONTACT_ID: added ") {
				t.Errorf("the report does not show the link:\n%s", text.String())
			}
			if n := len(e.bx.Deals()); n != 1 {
				t.Fatalf("%d deals", n)
			}
			var anna int64
			for _, c := range e.bx.Contacts() {
				if c.Str("NAME") == "Anna" {
					anna = c.ID
				}
			}
			want := tc.want(other, anna)
			if got := e.bx.DealContacts(deal); !cmp.Equal(got, want) {
				t.Fatalf("deal contacts: %s", cmp.Diff(want, got))
			}
			if n := e.commands("crm.deal.contact.add"); n != 1 {
				t.Fatalf("%d crm.deal.contact.add, want 1", n)
			}
			if n := e.commands("crm.deal.contact.items.get") - reads0; n != tc.reads {
				t.Fatalf("%d crm.deal.contact.items.get, want %d", n, tc.reads)
			}

			// Re-running changes nothing: not after an order change (the
			// database knows the link), nor over the whole history again
			// without the database (the list is read, the contact is there).
			e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
			_, sent = e.pullRecorded(t)
			noContactFieldsOnUpdate(t, sent)
			if n := e.commands("crm.deal.contact.add") + e.commands("crm.deal.contact.items.get") - reads0; n != 1+tc.reads {
				t.Fatalf("a pull with a known link cost %d more contact-link requests", n-1-tc.reads)
			}
			e.loseDatabase()
			_, sent = e.pullRecorded(t)
			noContactFieldsOnUpdate(t, sent)
			if n := e.commands("crm.deal.contact.add"); n != 1 {
				t.Fatalf("%d crm.deal.contact.add after losing the database, want 1", n)
			}
			if got := e.bx.DealContacts(deal); !cmp.Equal(got, want) {
				t.Fatalf("deal contacts after re-runs: %s", cmp.Diff(want, got))
			}
			if d, _ := e.bx.Deal(deal); d.Str("STAGE_ID") != "WON" {
				t.Fatalf("deal stage %s", d.Str("STAGE_ID"))
			}
		})
	}
}

// TestLeadWithoutTheOrdersContact: a found lead without any contact gets the
// order's contact through its own CONTACT_ID field (documented, and it
// makes a repeat lead like crm.lead.add with CONTACT_ID); a lead with
// another contact gains one more link and keeps its primary one.
func TestLeadWithoutTheOrdersContact(t *testing.T) {
	for _, tc := range []struct {
		name      string
		seedOther bool
		links     int // crm.lead.contact.add
	}{
		{name: "lead without contacts"},
		{name: "lead with another contact", seedOther: true, links: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Bitrix.Entity = "lead"
			e.cfg.Mapping.Statuses = map[string]string{"new": "NEW", "group:complete": "CONVERTED", "group:cancel": "JUNK"}
			o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "10"))
			seed := map[string]any{"TITLE": "typed in", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": strconv.FormatInt(o.ID, 10)}
			var other int64
			if tc.seedOther {
				other = e.bx.SeedContact(map[string]any{"NAME": "Olga"})
				seed["CONTACT_ID"] = other
			}
			lead := e.bx.SeedLead(seed)
			_, sent := e.pullRecorded(t)
			var anna int64
			for _, c := range e.bx.Contacts() {
				if c.Str("NAME") == "Anna" {
					anna = c.ID
				}
			}
			want := []bitrixtest.Binding{{ContactID: anna, Sort: 10, Primary: true}}
			if tc.seedOther {
				want = []bitrixtest.Binding{{ContactID: other, Sort: 10, Primary: true}, {ContactID: anna, Sort: 20}}
			}
			if got := e.bx.LeadContacts(lead); !cmp.Equal(got, want) {
				t.Fatalf("lead contacts: %s", cmp.Diff(want, got))
			}
			if n := e.commands("crm.lead.contact.add"); n != tc.links {
				t.Fatalf("%d crm.lead.contact.add, want %d", n, tc.links)
			}
			for _, s := range sent {
				fields, _ := s.Cmd.Params["fields"].(map[string]any)
				if _, ok := fields[bitrix.FieldContactID]; ok && s.Cmd.Method == "crm.lead.update" && tc.seedOther {
					t.Errorf("CONTACT_ID sent on a lead with a contact: %v", fields)
				}
			}
			if l, _ := e.bx.Lead(lead); !tc.seedOther && l.Str("IS_RETURN_CUSTOMER") != "Y" {
				t.Errorf("lead linked by CONTACT_ID is not a repeat lead: %v", l.Fields)
			}
			// Again without the database: nothing more.
			e.loseDatabase()
			e.pullRecorded(t)
			if n := e.commands("crm.lead.contact.add"); n != tc.links {
				t.Fatalf("%d crm.lead.contact.add after a re-run, want %d", n, tc.links)
			}
			if got := e.bx.LeadContacts(lead); !cmp.Equal(got, want) {
				t.Fatalf("lead contacts after a re-run: %s", cmp.Diff(want, got))
			}
		})
	}
}
