package bitrix_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

func bindings(t *testing.T, p *pair, e bitrix.Entity, id bitrix.ID) []bitrix.ContactBinding {
	t.Helper()
	list, err := p.c.LinkedContacts(context.Background(), e, id)
	if err != nil {
		t.Fatalf("crm.%s.contact.items.get %d: %v", e, id, err)
	}
	return list
}

func primary(b bool) *bool { return &b }

// TestPeopleBuilders pins the query strings of the new commands, as a batch
// sends them.
func TestPeopleBuilders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cmd  bitrix.Cmd
		want string
	}{
		{"requisite add with a reference", bitrix.RequisiteAddCmd(bitrix.ResultRef("co"), bitrix.Requisite{PresetID: 1,
			Name: "Organization", INN: "7701234567", KPP: "770101001", CompanyName: `ООО "Ромашка"`}),
			`crm.requisite.add?fields[ENTITY_ID]=$result[co]&fields[ENTITY_TYPE_ID]=4&fields[NAME]=Organization&fields[PRESET_ID]=1&` +
				`fields[RQ_COMPANY_NAME]=%D0%9E%D0%9E%D0%9E+%22%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0%22&fields[RQ_INN]=7701234567&fields[RQ_KPP]=770101001`},
		{"requisite update leaves empty values out", bitrix.RequisiteUpdateCmd(21, bitrix.RequisiteFields(bitrix.Requisite{OGRN: "1027700000000"}, nil)),
			`crm.requisite.update?fields[RQ_OGRN]=1027700000000&id=21`},
		{"requisites by INN", bitrix.RequisitesByINNCmd("7701234567", ""),
			`crm.requisite.list?filter[ENTITY_TYPE_ID]=4&filter[RQ_INN]=7701234567&order[ID]=ASC&select[0]=ID&select[1]=ENTITY_TYPE_ID&select[2]=ENTITY_ID&` +
				`select[3]=PRESET_ID&select[4]=NAME&select[5]=XML_ID&select[6]=RQ_INN&select[7]=RQ_KPP&select[8]=RQ_OGRN&select[9]=RQ_OGRNIP&` +
				`select[10]=RQ_COMPANY_NAME&select[11]=RQ_COMPANY_FULL_NAME&start=0`},
		{"contact company add", bitrix.ContactCompanyAddCmd(7, 9), `crm.contact.company.add?fields[COMPANY_ID]=9&id=7`},
		{"company contact add by reference", bitrix.CompanyContactAddCmd(bitrix.ResultRef("co"), 7), `crm.company.contact.add?fields[CONTACT_ID]=7&id=$result[co]`},
		{"companies by origin", bitrix.OriginListCmd(bitrix.EntityCompany, "retailcrm", []string{"c5", "inn:7701234567"}, []string{"ID"}),
			`crm.company.list?filter[%40ORIGIN_ID][0]=c5&filter[%40ORIGIN_ID][1]=inn%3A7701234567&filter[ORIGINATOR_ID]=retailcrm&order[ID]=ASC&select[0]=ID&start=0`},
		{"users by e-mail", bitrix.UsersByEmailCmd([]string{"a@x.ru"}),
			`user.get?FILTER[%40EMAIL][0]=a%40x.ru&ORDER=ASC&SORT=ID&select[0]=ID&select[1]=EMAIL&select[2]=NAME&select[3]=LAST_NAME&select[4]=ACTIVE&start=0`},
		{"deal delete", bitrix.DealDeleteCmd(5), `crm.deal.delete?id=5`},
	} {
		got, err := tc.cmd.Query()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestPeopleDecoders reads the documented answers (testdata/bitrix).
func TestPeopleDecoders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("user.get", func(t *testing.T) {
		t.Parallel()
		c, _ := serveFixture(t, fixtureDir, "user_get.json", 200)
		users, err := c.Users(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []bitrix.User{{ID: 1, Email: "v.r.valeev@bitrix.com", Name: "Vadim", LastName: "Valeev", Active: true},
			{ID: 3, Email: "test@gmail.com", Name: "John", LastName: "Smith", Active: true}}
		if d := cmp.Diff(want, users); d != "" {
			t.Error(d)
		}
	})
	t.Run("presets", func(t *testing.T) {
		t.Parallel()
		c, _ := serveFixture(t, fixtureDir, "crm_requisite_preset_list.json", 200)
		ps, err := c.Presets(ctx)
		if err != nil || len(ps) != 4 || ps[1].ID != 2 || ps[1].Name != "Sole Proprietorship" || !ps[1].Active {
			t.Fatalf("%+v %v", ps, err)
		}
	})
	t.Run("requisite.list by INN", func(t *testing.T) {
		t.Parallel()
		c, _ := serveFixture(t, fixtureDir, "crm_requisite_get.json", 200)
		// A get answers one object; through the list decoder it must fail
		// loudly rather than pass as an empty list.
		if _, err := c.Requisites(ctx, bitrix.RequisitesByINNCmd("1717586110", "")); err == nil {
			t.Fatal("an object decoded as a list of requisites")
		}
		c, _ = serveFixture(t, fixtureDir, "crm_requisite_list.json", 200)
		rs, err := c.Requisites(ctx, bitrix.RequisitesByINNCmd("1717586110", ""))
		if err != nil || len(rs) != 3 || rs[0].ID != 40 || rs[0].EntityID != 3027 || rs[0].EntityTypeID != 4 {
			t.Fatalf("%+v %v", rs, err)
		}
	})
	t.Run("contact companies", func(t *testing.T) {
		t.Parallel()
		c, _ := serveFixture(t, fixtureDir, "crm_contact_company_items_get.json", 200)
		bs, err := c.ContactCompanies(ctx, 1)
		want := []bitrix.CompanyBinding{{ID: 7, Sort: 100, Primary: true}, {ID: 8, Sort: 110}, {ID: 9, Sort: 120}}
		if err != nil || !cmp.Equal(bs, want) {
			t.Fatalf("%+v %v", bs, err)
		}
	})
	for _, tc := range []struct{ file, call string }{
		{"crm_company_update_error.json", "company update"},
		{"crm_company_get_error.json", "company get"},
		{"crm_requisite_update_error.json", "requisite update"},
		{"crm_deal_delete_error.json", "deal delete"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			c, _ := serveFixture(t, fixtureDir, tc.file, 400)
			var err error
			switch tc.call {
			case "company update":
				err = c.Update(ctx, bitrix.EntityCompany, 999, bitrix.Fields{"TITLE": "x"}, nil)
			case "company get":
				_, err = c.Get(ctx, bitrix.EntityCompany, 999)
			case "requisite update":
				err = c.RequisiteUpdate(ctx, 57, bitrix.Fields{"RQ_KPP": "1"})
			case "deal delete":
				_, err = c.Run(ctx, bitrix.DealDeleteCmd(0), nil)
			}
			wantNotFound := tc.call != "deal delete"
			if errors.Is(err, bitrix.ErrNotFound) != wantNotFound || err == nil {
				t.Fatalf("err = %v, want not-found %v", err, wantNotFound)
			}
		})
	}
}

func TestDecodeUsersLoose(t *testing.T) {
	t.Parallel()
	got, err := bitrix.DecodeUsers([]byte(`[{"ID":"5","ACTIVE":"Y","EMAIL":"A@x.ru","NAME":"Anna"},{"ID":6,"ACTIVE":false},{"ID":"7","ACTIVE":"N"}]`))
	want := []bitrix.User{{ID: 5, Active: true, Email: "A@x.ru", Name: "Anna"}, {ID: 6}, {ID: 7}}
	if err != nil || !cmp.Equal(got, want) {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := bitrix.DecodeUsers([]byte(`{"error":1`)); err == nil {
		t.Fatal("bad JSON decoded")
	}
	m := bitrix.UsersByEmail([]bitrix.User{{ID: 1, Email: " Boss@X.ru ", Active: true}, {ID: 2, Email: "gone@x.ru"},
		{ID: 3, Email: "twin@x.ru", Active: true}, {ID: 4, Email: "TWIN@x.ru", Active: true}})
	if len(m) != 1 || m["boss@x.ru"].ID != 1 {
		t.Fatalf("by e-mail: %+v (inactive and ambiguous users must be left out)", m)
	}
	if u := (bitrix.User{Name: " Anna ", LastName: "Lee"}); u.FullName() != "Anna Lee" {
		t.Fatal(u.FullName())
	}
}

// TestUserGetScopes: user.get runs under user, user_basic and user_brief;
// only the first two show EMAIL, so only they can match managers by e-mail.
func TestUserGetScopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		scope     string
		canEmail  bool
		wantErr   error
		byEmailOK bool // the e-mail filter finds exactly the one user
	}{
		{scope: "user", canEmail: true, byEmailOK: true},
		{scope: "user_basic", canEmail: true, byEmailOK: true},
		{scope: "user_brief"},
		{scope: "", wantErr: bitrix.ErrAuth},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			t.Parallel()
			scopes := []string{"crm"}
			if tc.scope != "" {
				scopes = append(scopes, tc.scope)
			}
			p := newPair(t, bitrixtest.Options{Scopes: scopes, Unlimited: true})
			anna := p.srv.SeedUser(bitrixtest.UserRow{Email: "anna@shop.ru", Name: "Anna", LastName: "Lee", Active: true})
			p.srv.SeedUser(bitrixtest.UserRow{Email: "old@shop.ru", Name: "Old", Active: false})
			if got := bitrix.CanReadUserEmails(scopes); got != tc.canEmail {
				t.Errorf("CanReadUserEmails = %v", got)
			}
			users, err := p.c.Users(ctx, map[string]any{"ACTIVE": true})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 2 { // the webhook's user and Anna; Old is fired
				t.Fatalf("active users: %+v", users)
			}
			byEmail := bitrix.UsersByEmail(users)
			if got := byEmail["anna@shop.ru"].ID; (got == bitrix.ID(anna)) != tc.canEmail {
				t.Errorf("match by e-mail gave %d", got)
			}
			resp, err := p.c.Run(ctx, bitrix.UsersByEmailCmd([]string{"anna@shop.ru"}), nil)
			if err != nil {
				t.Fatal(err)
			}
			found, err := bitrix.DecodeUsers(resp.Result)
			if err != nil {
				t.Fatal(err)
			}
			if exact := len(found) == 1 && found[0].ID == bitrix.ID(anna); exact != tc.byEmailOK {
				t.Errorf("filter by e-mail answered %+v", found)
			}
		})
	}
}

func TestUserGetPages(t *testing.T) {
	t.Parallel()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	for i := range 60 {
		p.srv.SeedUser(bitrixtest.UserRow{Email: "u" + string(rune('a'+i%26)) + "@x.ru", Active: true})
	}
	before := p.srv.Stats().Requests
	users, err := p.c.Users(context.Background(), nil)
	if err != nil || len(users) != 61 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	if n := p.srv.Stats().Requests - before; n != 2 {
		t.Fatalf("%d requests for 61 users, want 2", n)
	}
	for i := 1; i < len(users); i++ {
		if users[i].ID <= users[i-1].ID {
			t.Fatalf("not ID ascending at %d", i)
		}
	}
}

// TestCompanyWithRequisiteInOneBatch creates a company, its requisite and
// the contact's link in one batch request, the requisite and the link
// naming the company by $result[co].
func TestCompanyWithRequisiteInOneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	contact := bitrix.ID(p.srv.SeedContact(map[string]any{"NAME": "Ivan"}))
	presets, err := p.c.Presets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	org, ok := bitrix.FindPreset(presets, bitrix.PresetXMLCompany)
	ip, ok2 := bitrix.FindPreset(presets, bitrix.PresetXMLIndividual)
	if !ok || !ok2 || org.CountryID != bitrix.CountryRussia || org.ID == ip.ID {
		t.Fatalf("presets of a Russian portal: %+v", presets)
	}
	b := bitrix.NewBatch(true)
	mustAdd(t, b, "co", bitrix.AddCmd(bitrix.EntityCompany, bitrix.Fields{"TITLE": "Romashka", bitrix.FieldOriginatorID: "retailcrm",
		bitrix.FieldOriginID: "c5", bitrix.FieldCompanyType: "CUSTOMER"}, nil))
	mustAdd(t, b, "rq", bitrix.RequisiteAddCmd(bitrix.ResultRef("co"), bitrix.Requisite{PresetID: org.ID, Name: org.Name,
		INN: "7701234567", KPP: "770101001", OGRN: "1027700000000", CompanyName: "Romashka LLC"}))
	mustAdd(t, b, "ln", bitrix.CompanyContactAddCmd(bitrix.ResultRef("co"), contact))
	res, err := p.c.Batch(ctx, b)
	if err != nil || res.Requests != 1 {
		t.Fatalf("requests %d, err %v", res.Requests, err)
	}
	var company, rq bitrix.ID
	if err := res.Get("co").Decode(&company); err != nil {
		t.Fatal(err)
	}
	if err := res.Get("rq").Decode(&rq); err != nil {
		t.Fatal(err)
	}
	if added, err := bitrix.DecodeAdded(res.Get("ln").Result); err != nil || !added {
		t.Fatalf("link: %v %v", added, err)
	}
	rs := p.srv.Requisites()
	if len(rs) != 1 || rs[0].Str("ENTITY_ID") != company.String() || rs[0].Str("ENTITY_TYPE_ID") != "4" || rs[0].Str("RQ_INN") != "7701234567" {
		t.Fatalf("requisite: %+v", rs)
	}
	if cs := p.srv.ContactCompanies(int64(contact)); len(cs) != 1 || cs[0].CompanyID != int64(company) || !cs[0].Primary {
		t.Fatalf("contact's companies: %+v", cs)
	}
	if row, _ := p.srv.Contact(int64(contact)); row.Str("COMPANY_ID") != company.String() {
		t.Fatalf("contact COMPANY_ID = %q", row.Str("COMPANY_ID"))
	}

	// Lookups: by ORIGIN_ID, by INN, by INN and KPP.
	rows, err := p.c.ListPages(ctx, bitrix.EntityCompany, bitrix.ListRequest{Filter: map[string]any{
		bitrix.FieldOriginatorID: "retailcrm", "@" + bitrix.FieldOriginID: []string{"c5", "c6"}}})
	if err != nil || len(rows) != 1 || rows[0].ID() != company {
		t.Fatalf("by origin: %v %v", rows, err)
	}
	for _, tc := range []struct {
		inn, kpp string
		want     int
	}{{"7701234567", "", 1}, {"7701234567", "770101001", 1}, {"7701234567", "770201001", 0}, {"7700000000", "", 0}} {
		got, err := p.c.Requisites(ctx, bitrix.RequisitesByINNCmd(tc.inn, tc.kpp))
		if err != nil || len(got) != tc.want || tc.want == 1 && (got[0].EntityID != company || got[0].ID != rq) {
			t.Errorf("INN %s KPP %s: %+v %v", tc.inn, tc.kpp, got, err)
		}
	}
	// An update that changes nothing answers false, which is no error.
	if err := p.c.RequisiteUpdate(ctx, rq, bitrix.Fields{"RQ_KPP": "770101001"}); err != nil {
		t.Fatal(err)
	}
}

// TestRequisiteRefusals: the fake refuses what the docs list, in their
// words; a failed company add leaves its requisite unsent under halt.
func TestRequisiteRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	company := p.srv.SeedCompany(map[string]any{"TITLE": "Own"})
	ok := map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Organization", "RQ_INN": "7701234567"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"no type", with("ENTITY_TYPE_ID", nil), "ENTITY_TYPE_ID is not defined or invalid."},
		{"a deal", with("ENTITY_TYPE_ID", 2), "ENTITY_TYPE_ID is not defined or invalid."},
		{"no owner", with("ENTITY_ID", 0), "ENTITY_ID is not defined or invalid."},
		{"unknown preset", with("PRESET_ID", 99), "PRESET_ID is not defined or invalid."},
		{"missing company", with("ENTITY_ID", 999), "Entity not found."},
		{"no name", with("NAME", nil), "NAME is required"},
		{"INN too long", with("RQ_INN", "7701 2345 6789 0000"), "RQ_INN is longer than 15"},
	} {
		_, err := p.c.Run(ctx, bitrix.Cmd{Method: "crm.requisite.add", Params: map[string]any{"fields": tc.fields}}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if len(p.srv.Requisites()) != 0 {
		t.Fatal("a refused add stored a requisite")
	}
	b := bitrix.NewBatch(true)
	mustAdd(t, b, "co", bitrix.AddCmd(bitrix.EntityCompany, bitrix.Fields{"COMPANY_TYPE": "CUSTOMER"}, nil)) // no TITLE
	mustAdd(t, b, "rq", bitrix.RequisiteAddCmd(bitrix.ResultRef("co"), bitrix.Requisite{PresetID: 1, Name: "x", INN: "1"}))
	res, err := p.c.Batch(ctx, b)
	if err != nil || res.Get("co").Status != bitrix.Failed || res.Get("rq").Status != bitrix.NotExecuted {
		t.Fatalf("co %v rq %v err %v", res.Get("co").Status, res.Get("rq").Status, err)
	}
}

// TestContactCompanyLinksAddOnly: links are only added; a person's primary
// company stays primary, a repeated add changes nothing, and the link shows
// from both sides.
func TestContactCompanyLinksAddOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	contact := p.srv.SeedContact(map[string]any{"NAME": "Ivan"})
	own := p.srv.SeedCompany(map[string]any{"TITLE": "Person's own"})
	ours := p.srv.SeedCompany(map[string]any{"TITLE": "From the shop"})
	if err := p.srv.LinkContactCompany(contact, own); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		added, err := p.c.LinkContactCompany(ctx, bitrix.ID(contact), bitrix.ID(ours))
		if err != nil || added != want {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	got, err := p.c.ContactCompanies(ctx, bitrix.ID(contact))
	want := []bitrix.CompanyBinding{{ID: bitrix.ID(own), Sort: 10, Primary: true}, {ID: bitrix.ID(ours), Sort: 20}}
	if err != nil || !cmp.Equal(got, want) {
		t.Fatalf("%+v %v", got, err)
	}
	resp, err := p.c.Run(ctx, bitrix.CompanyContactAddCmd(bitrix.ID(ours), bitrix.ID(contact)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if added, _ := bitrix.DecodeAdded(resp.Result); added {
		t.Fatal("the same link added again from the company's side")
	}
	resp, err = p.c.Run(ctx, bitrix.CompanyContactsCmd(bitrix.ID(ours)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bs, err := bitrix.DecodeCompanyBindings(resp.Result, bitrix.FieldContactID); err != nil || len(bs) != 1 || bs[0].ID != bitrix.ID(contact) {
		t.Fatalf("company's contacts: %+v %v", bs, err)
	}
	if row, _ := p.srv.Contact(contact); row.Str("COMPANY_ID") != bitrix.ID(own).String() {
		t.Fatalf("contact COMPANY_ID %q, want the person's company", row.Str("COMPANY_ID"))
	}
	// Refusals as documented.
	for _, tc := range []struct {
		cmd  bitrix.Cmd
		want error
	}{
		{bitrix.ContactCompanyAddCmd(0, bitrix.ID(ours)), bitrix.ErrBadRequest},
		{bitrix.ContactCompanyAddCmd(999, bitrix.ID(ours)), bitrix.ErrNotFound},
		{bitrix.Cmd{Method: "crm.contact.company.add", Params: map[string]any{"id": contact, "fields": map[string]any{"SORT": 5}}}, bitrix.ErrBadRequest},
	} {
		if _, err := p.c.Run(ctx, tc.cmd, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s %v: err = %v, want %v", tc.cmd.Method, tc.cmd.Params, err, tc.want)
		}
	}
}

// TestDeletedDeal: after a person deletes a deal, every method answers for
// its id as for an id that never existed ("Not found"), and a lookup by
// ORIGIN_ID no longer finds it.
func TestDeletedDeal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	byPerson := p.srv.SeedDeal(map[string]any{"TITLE": "a", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "41"})
	byAPI := p.srv.SeedDeal(map[string]any{"TITLE": "b", "ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": "42"})
	p.srv.AddComment("deal", byPerson, 1, "note")
	if err := p.srv.DeleteDeal(byPerson); err != nil {
		t.Fatal(err)
	}
	if _, err := p.c.Run(ctx, bitrix.DealDeleteCmd(bitrix.ID(byAPI)), nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []bitrix.ID{bitrix.ID(byPerson), bitrix.ID(byAPI)} {
		if _, err := p.c.Get(ctx, bitrix.EntityDeal, id); !errors.Is(err, bitrix.ErrNotFound) || !strings.Contains(err.Error(), "Not found") {
			t.Errorf("get %d: %v", id, err)
		}
		if err := p.c.Update(ctx, bitrix.EntityDeal, id, bitrix.Fields{"TITLE": "x"}, nil); !errors.Is(err, bitrix.ErrNotFound) {
			t.Errorf("update %d: %v", id, err)
		}
		if _, err := p.c.Run(ctx, bitrix.DealDeleteCmd(id), nil); !errors.Is(err, bitrix.ErrNotFound) {
			t.Errorf("delete again %d: %v", id, err)
		}
	}
	rows, err := p.c.ListPages(ctx, bitrix.EntityDeal, bitrix.ListRequest{Filter: map[string]any{
		bitrix.FieldOriginatorID: "retailcrm", "@" + bitrix.FieldOriginID: []string{"41", "42"}}})
	if err != nil || len(rows) != 0 {
		t.Fatalf("deleted deals listed: %v %v", rows, err)
	}
	if len(p.srv.Comments()) != 0 {
		t.Fatal("the deleted deal's comments remain")
	}
	if _, err := p.c.Run(ctx, bitrix.DealDeleteCmd(0), nil); err == nil || !strings.Contains(err.Error(), "ID is not defined or invalid.") {
		t.Fatalf("id 0: %v", err)
	}
}

// TestPresetsOfAPortal: a fresh portal has the three Russian presets; an
// administrator may delete one, and FindPreset then says so.
func TestPresetsOfAPortal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t, bitrixtest.Options{Unlimited: true})
	ps, err := p.c.Presets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pr := range ps {
		got = append(got, pr.ID.String()+" "+pr.XMLID)
	}
	want := []string{"1 " + bitrix.PresetXMLCompany, "2 " + bitrix.PresetXMLIndividual, "3 " + bitrix.PresetXMLPerson}
	if !cmp.Equal(got, want) {
		t.Fatalf("%v", got)
	}
	p.srv.DeletePreset(2)
	own := p.srv.SeedPreset("ИП (наш)", "shop-ip", 1)
	ps, err = p.c.Presets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bitrix.FindPreset(ps, bitrix.PresetXMLIndividual); ok {
		t.Fatal("a deleted preset found")
	}
	if pr, ok := bitrix.FindPreset(ps, "shop-ip"); !ok || pr.ID != bitrix.ID(own) {
		t.Fatalf("own preset: %+v", pr)
	}
}

// TestDealContactsAsDocumented walks a deal's list of contacts through the
// methods that change it, as b24restdocs api-reference/crm/deals/contacts/*
// and crm-deal-add/update/get describe them (docs/api-notes.md, "Deal contacts").
func TestDealContactsAsDocumented(t *testing.T) {
	ctx, p := parallelPair(t)
	var c [5]bitrix.ID
	for i := range c {
		id, err := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "C" + string(rune('0'+i))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c[i] = id
	}
	deal, err := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "Order 1", "CONTACT_IDS": []bitrix.ID{c[0], c[1]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []bitrix.ContactBinding{{ContactID: c[0], Sort: 10, Primary: true}, {ContactID: c[1], Sort: 20}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after crm.deal.add CONTACT_IDS: %s", cmp.Diff(want, got))
	}
	// crm.deal.get and crm.deal.list show the primary contact as CONTACT_ID
	// and never CONTACT_IDS.
	d, err := p.c.Get(ctx, bitrix.EntityDeal, deal)
	if err != nil || d.IDField("CONTACT_ID") != c[0] || d.Has("CONTACT_IDS") {
		t.Fatalf("crm.deal.get: %v %v", d, err)
	}

	// contact.add without IS_PRIMARY: appended, not primary; a second time
	// it answers false and changes nothing.
	added, err := p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[2]})
	if err != nil || !added {
		t.Fatalf("link c2: %v %v", added, err)
	}
	added, err = p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[2], Primary: primary(true)})
	if err != nil || added {
		t.Fatalf("link c2 again: %v %v", added, err)
	}
	want = append(want, bitrix.ContactBinding{ContactID: c[2], Sort: 30})
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after crm.deal.contact.add: %s", cmp.Diff(want, got))
	}

	// IS_PRIMARY=Y takes the flag; CONTACT_ID follows it.
	if _, err := p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[3], Primary: primary(true), Sort: 5}); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[3], Sort: 5, Primary: true}, {ContactID: c[0], Sort: 10},
		{ContactID: c[1], Sort: 20}, {ContactID: c[2], Sort: 30}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after IS_PRIMARY=Y: %s", cmp.Diff(want, got))
	}
	if d, _ := p.c.Get(ctx, bitrix.EntityDeal, deal); d.IDField("CONTACT_ID") != c[3] {
		t.Fatalf("CONTACT_ID %v, want the primary %d", d.String("CONTACT_ID"), c[3])
	}

	// An update without contact fields keeps the list.
	if err := p.c.Update(ctx, bitrix.EntityDeal, deal, bitrix.Fields{"TITLE": "Order 1 (2)"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after a plain update: %s", cmp.Diff(want, got))
	}
	// The deprecated CONTACT_ID on update replaces the list (the harsh
	// reading: nothing may rely on it keeping a person's contacts).
	if err := p.c.Update(ctx, bitrix.EntityDeal, deal, bitrix.Fields{"CONTACT_ID": c[1]}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[1], Sort: 10, Primary: true}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after CONTACT_ID on update: %s", cmp.Diff(want, got))
	}
	// CONTACT_IDS on update is "completely replaced".
	if err := p.c.Update(ctx, bitrix.EntityDeal, deal, bitrix.Fields{"CONTACT_IDS": []bitrix.ID{c[4], c[0]}}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[4], Sort: 10, Primary: true}, {ContactID: c[0], Sort: 20}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after CONTACT_IDS on update: %s", cmp.Diff(want, got))
	}

	// items.set replaces; the first IS_PRIMARY=Y wins; default SORT (i+1)*10.
	if _, err := p.c.Call(ctx, "crm.deal.contact.items.set", map[string]any{"id": deal, "items": []map[string]any{
		{"CONTACT_ID": c[2]}, {"CONTACT_ID": c[3], "IS_PRIMARY": "Y"}, {"CONTACT_ID": c[1], "IS_PRIMARY": "Y", "SORT": 100}}}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[2], Sort: 10}, {ContactID: c[3], Sort: 20, Primary: true}, {ContactID: c[1], Sort: 100}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after items.set: %s", cmp.Diff(want, got))
	}
	// Deleting the primary link makes the first remaining one primary.
	if _, err := p.c.Call(ctx, "crm.deal.contact.delete", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": c[3]}}, nil); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[2], Sort: 10, Primary: true}, {ContactID: c[1], Sort: 100}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("after contact.delete: %s", cmp.Diff(want, got))
	}
	if _, err := p.c.Call(ctx, "crm.deal.contact.items.delete", map[string]any{"id": deal}, nil); err != nil {
		t.Fatal(err)
	}
	if got := bindings(t, p, bitrix.EntityDeal, deal); len(got) != 0 {
		t.Fatalf("after items.delete: %v", got)
	}
	if d, _ := p.c.Get(ctx, bitrix.EntityDeal, deal); d.Has("CONTACT_ID") {
		t.Fatalf("a deal without contacts shows CONTACT_ID %s", d.String("CONTACT_ID"))
	}
	// The first contact linked to a deal without contacts becomes primary.
	if _, err := p.c.LinkContact(ctx, bitrix.EntityDeal, deal, bitrix.ContactLink{ContactID: c[0], Primary: primary(false)}); err != nil {
		t.Fatal(err)
	}
	want = []bitrix.ContactBinding{{ContactID: c[0], Sort: 10, Primary: true}}
	if got := bindings(t, p, bitrix.EntityDeal, deal); !cmp.Equal(got, want) {
		t.Fatalf("first link: %s", cmp.Diff(want, got))
	}
}

func TestDealContactMethodsRefuseAsDocumented(t *testing.T) {
	ctx, p := parallelPair(t)
	cid, _ := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "Anna"}, nil)
	deal, _ := p.c.Add(ctx, bitrix.EntityDeal, bitrix.Fields{"TITLE": "x"}, nil)
	for _, tc := range []struct {
		name   string
		method string
		params map[string]any
		is     error
		desc   string
	}{
		{"add without id", "crm.deal.contact.add", map[string]any{"fields": map[string]any{"CONTACT_ID": cid}}, bitrix.ErrBadRequest, "ownerEntityID"},
		{"add to a missing deal", "crm.deal.contact.add", map[string]any{"id": 99999, "fields": map[string]any{"CONTACT_ID": cid}}, bitrix.ErrNotFound, "Not found."},
		{"add without fields", "crm.deal.contact.add", map[string]any{"id": deal}, bitrix.ErrBadRequest, "'fields' must be array"},
		{"add without CONTACT_ID", "crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"SORT": 10}}, bitrix.ErrBadRequest, "'fields' is not valid"},
		{"add CONTACT_ID 0", "crm.deal.contact.add", map[string]any{"id": deal, "fields": map[string]any{"CONTACT_ID": 0}}, bitrix.ErrBadRequest, "'fields' is not valid"},
		{"items.get without id", "crm.deal.contact.items.get", map[string]any{}, bitrix.ErrBadRequest, "ownerEntityID"},
		{"items.get of a missing deal", "crm.deal.contact.items.get", map[string]any{"id": 99999}, bitrix.ErrNotFound, "Not found."},
		{"items.set without items", "crm.deal.contact.items.set", map[string]any{"id": deal, "items": "x"}, bitrix.ErrBadRequest, "items must be array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.c.Call(ctx, tc.method, tc.params, nil)
			var ae *bitrix.APIError
			if !errors.Is(err, tc.is) || !errors.As(err, &ae) || !strings.Contains(ae.Description, tc.desc) {
				t.Fatalf("%s: got %v, want %v with %q", tc.method, err, tc.is, tc.desc)
			}
		})
	}
	if got := bindings(t, p, bitrix.EntityDeal, deal); len(got) != 0 {
		t.Fatalf("a refused call linked %v", got)
	}
}

// TestLeadContacts: a lead's CONTACT_ID is its documented link field (not
// deprecated); saving the lead with it makes a repeat lead, linking through
// crm.lead.contact.add does not.
func TestLeadContacts(t *testing.T) {
	ctx, p := parallelPair(t)
	a, _ := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "A"}, nil)
	b, _ := p.c.Add(ctx, bitrix.EntityContact, bitrix.Fields{"NAME": "B"}, nil)
	lead, err := p.c.Add(ctx, bitrix.EntityLead, bitrix.Fields{"TITLE": "L", "CONTACT_ID": a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []bitrix.ContactBinding{{ContactID: a, Sort: 10, Primary: true}}
	if got := bindings(t, p, bitrix.EntityLead, lead); !cmp.Equal(got, want) {
		t.Fatalf("lead add: %s", cmp.Diff(want, got))
	}
	if l, _ := p.srv.Lead(int64(lead)); l.Str("IS_RETURN_CUSTOMER") != "Y" || l.Str("CONTACT_ID") != a.String() {
		t.Fatalf("lead %v", l.Fields)
	}
	plain, _ := p.c.Add(ctx, bitrix.EntityLead, bitrix.Fields{"TITLE": "M"}, nil)
	if _, err := p.c.LinkContact(ctx, bitrix.EntityLead, plain, bitrix.ContactLink{ContactID: b}); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.srv.Lead(int64(plain)); l.Str("IS_RETURN_CUSTOMER") != "N" || l.Str("CONTACT_ID") != b.String() {
		t.Fatalf("crm.lead.contact.add: %v", l.Fields)
	}
	if err := p.c.Update(ctx, bitrix.EntityLead, plain, bitrix.Fields{"CONTACT_ID": b}, nil); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.srv.Lead(int64(plain)); l.Str("IS_RETURN_CUSTOMER") != "Y" {
		t.Fatalf("crm.lead.update CONTACT_ID: %v", l.Fields)
	}
}
