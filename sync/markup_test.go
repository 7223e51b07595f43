package sync

import (
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/texts"
)

// What a shop's customer may type to plant a link, a picture or a mention.
const (
	injComment = "[URL=https://evil.example/login]Track your parcel[/URL] [IMG]https://evil.example/pixel.gif[/IMG] [USER=1]Director[/USER] <a href=https://evil.example>x</a>"
	injName    = "[URL=https://evil.example]Иван[/URL]"
)

// workingMarkup finds a BBCode or HTML tag a portal would render.
var workingMarkup = regexp.MustCompile(`(?i)\[/?(url|img|user|b)\b|<\s*/?[a-z]`)

func assertInert(t *testing.T, where, s string) {
	t.Helper()
	if m := workingMarkup.FindString(s); m != "" {
		t.Errorf("%s carries working markup %q: %q", where, m, s)
	}
}

// assertCarries checks that the text still says what the customer typed,
// to the eye (the breaks are invisible).
func assertCarries(t *testing.T, where, s, typed string) {
	t.Helper()
	if !strings.Contains(strings.ReplaceAll(s, bitrix.MarkupBreak, ""), typed) {
		t.Errorf("%s lost the customer's text %q: %q", where, typed, s)
	}
}

func TestCustomerMarkupNeverReachesThePortalWorking(t *testing.T) {
	e := newEnv(t)
	e.cfg.RetailCRM.URL = "https://shop.retailcrm.ru"
	e.cfg.Bitrix.WebhookURL = e.bx.WebhookURL()
	e.cfg.Alerts.NotifyUserIDs = []int{3}
	e.cfg.Mapping.ContactFields = map[string]string{"ADDRESS": "customerComment"}
	e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	e.cfg.Rules = ruleSet(t, []map[string]any{
		{"on": "created", "do": map[string]any{
			"task": map[string]any{"title": "Call {{.CustomerName}} about {{.Number}}", "responsible_id": 7,
				"description": "[B]Comment:[/B] {{.CustomerComment}} ({{.Email}})"},
			"notify":   map[string]any{"user_ids": []any{9}, "message": "New order from {{.FirstName}}: {{.CustomerComment}}"},
			"comment":  "[B]{{.LastName}}[/B] wrote: {{.CustomerComment}} / raw: {{raw .CustomerComment}}",
			"workflow": map[string]any{"template_id": 12, "parameters": map[string]any{"Note": "{{.CustomerComment}}"}}}},
		{"on": "returned", "do": map[string]any{"notify": map[string]any{"user_ids": []any{9}, "message": "Returned: {{.ReturnedItems}}"}}},
	})
	c := &retailcrm.Customer{FirstName: injName, LastName: "<b>Петров</b>", Email: "ivan@example.com"}
	o := itemsOrder(c)
	o.FirstName, o.LastName = c.FirstName, c.LastName
	o.CustomerComment = injComment
	o.Items[0].Offer.Name = "[IMG]https://evil.example/kettle.gif[/IMG] Kettle"
	created := e.rc.CreateOrder(o)
	// A second order whose e-mail is markup is parked, and the alert quotes it.
	bad := order(&retailcrm.Customer{FirstName: "Bad", Email: "[URL=https://evil.example]mail[/URL]@x"}, "2")
	e.rc.CreateOrder(bad)
	e.pull(func(o *Options) { o.MaxAttempts = 1 })

	// The customer changes the comment, and then returns the order.
	e.updateOrder(created.ID, func(o *retailcrm.Order) { o.CustomerComment = injComment + " again" })
	e.updateOrder(created.ID, func(o *retailcrm.Order) { o.Items[0].Status = "returned"; o.Status = "return" })
	e.pull(func(o *Options) { o.MaxAttempts = 1 })

	d := dealOf(t, e, created.ID)
	assertInert(t, "deal COMMENTS", d["COMMENTS"].(string))
	assertCarries(t, "deal COMMENTS", d["COMMENTS"].(string), "[URL=https://evil.example/login]Track your parcel[/URL]")
	assertInert(t, "deal TITLE", d["TITLE"].(string))
	contacts := e.bx.Contacts()
	if len(contacts) != 1 {
		t.Fatalf("contacts %+v", contacts)
	}
	for _, f := range []string{"NAME", "LAST_NAME", "ADDRESS"} {
		v := bitrixtest.Str(contacts[0].Fields[f])
		assertInert(t, "contact "+f, v)
		if v == "" {
			t.Errorf("contact %s is empty", f)
		}
	}
	assertCarries(t, "contact NAME", bitrixtest.Str(contacts[0].Fields["NAME"]), injName)

	cs := commentsOf(e, d["ID"].(string))
	if len(cs) < 3 {
		t.Fatalf("comments %q", cs)
	}
	rawKept := false
	for _, cm := range cs {
		if raw, ok := strings.CutPrefix(cm[strings.Index(cm, "/ raw: ")+1:], " raw: "); ok && strings.Contains(cm, "/ raw: ") {
			// The explicit opt-out keeps the value as it came; everything
			// before it is escaped, and the template's own [B] works.
			if raw != injComment {
				t.Errorf("raw value changed: %q", raw)
			}
			rawKept = true
			before, _, _ := strings.Cut(cm, "/ raw: ")
			own := strings.NewReplacer("[B]", "", "[/B]", "")
			assertInert(t, "rule comment (escaped part)", own.Replace(before))
			if !strings.HasPrefix(cm, "[B]<"+bitrix.MarkupBreak+"b>Петров<"+bitrix.MarkupBreak+"/b>[/B] wrote:") {
				t.Errorf("rule comment %q: the template's own markup or the escaped name is wrong", cm)
			}
			continue
		}
		assertInert(t, "timeline comment", cm)
	}
	if !rawKept {
		t.Errorf("no rule comment with the raw value: %q", cs)
	}
	joined := strings.Join(cs, "\n")
	assertCarries(t, "timeline comments", joined, "Customer comment")
	assertCarries(t, "timeline comments", joined, "[IMG]https://evil.example/kettle.gif[/IMG] Kettle")

	tasks := e.bx.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("tasks %+v", tasks)
	}
	title, desc := bitrixtest.Str(tasks[0].Fields["TITLE"]), bitrixtest.Str(tasks[0].Fields["DESCRIPTION"])
	assertInert(t, "task title", title)
	if !strings.HasPrefix(desc, "[B]Comment:[/B] ") {
		t.Errorf("task description lost the template's own markup: %q", desc)
	}
	assertInert(t, "task description", strings.TrimPrefix(desc, "[B]Comment:[/B]"))
	assertCarries(t, "task description", desc, injComment)

	notes := e.bx.Notifications()
	var alerted bool
	for _, n := range notes {
		assertInert(t, "notification to "+itoa(n.UserID), n.Message)
		if n.UserID == 3 {
			alerted = true
			assertCarries(t, "alert", n.Message, "invalid email")
		}
	}
	if !alerted || len(notes) < 3 {
		t.Errorf("notifications %+v", notes)
	}
	ws := e.bx.Workflows()
	if len(ws) != 1 {
		t.Fatalf("workflows %+v", ws)
	}
	assertInert(t, "workflow parameter", bitrixtest.Str(ws[0].Parameters["Note"]))
}

// The dry-run report shows the text as it would be written: escaped.
func TestDryRunReportShowsEscapedText(t *testing.T) {
	e := newEnv(t)
	o := order(&retailcrm.Customer{FirstName: injName, Email: "ivan@example.com"}, "10")
	o.FirstName = injName
	o.CustomerComment = injComment
	e.rc.CreateOrder(o)
	res := e.dryPull(keepChanges)
	var b strings.Builder
	if err := res.Report.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	var seen int
	for _, c := range res.Report.Changes {
		for _, f := range c.Fields {
			if f.Field == "COMMENTS" || f.Field == "NAME" {
				seen++
				assertInert(t, "dry-run "+f.Field, f.New)
				if f.New != esc(f.New) {
					t.Errorf("dry-run %s is not what would be written: %q", f.Field, f.New)
				}
			}
		}
	}
	if seen != 2 {
		t.Errorf("dry run showed %d of COMMENTS and NAME:\n%s", seen, b.String())
	}
	assertInert(t, "dry-run text report", b.String())
}

func TestRuleTextsEscapeValuesUnlessRaw(t *testing.T) {
	d := rules.Data{FirstName: injName, Number: "7", CustomerComment: "<i>hi</i>"}
	for _, tc := range []struct{ text, want string }{
		{"{{.FirstName}}", esc(injName)},
		{"{{raw .FirstName}}", injName},
		{"{{.FirstName | raw}}", injName},
		{"[B]{{.Number}}[/B]", "[B]7[/B]"},
		{`{{printf "%s!" .CustomerComment}}`, esc("<i>hi</i>!")},
		{`{{printf "%s!" (raw .CustomerComment)}}`, esc("<i>hi</i>!")}, // raw only counts as the last step
		{"{{if .FirstName}}{{.FirstName}}{{else}}-{{end}}", esc(injName)},
		{"{{with $x := .CustomerComment}}{{$x}}|{{raw $x}}{{end}}", esc("<i>hi</i>") + "|<i>hi</i>"},
		{`{{define "n"}}{{.FirstName}}{{end}}{{template "n" .}}`, esc(injName)},
	} {
		rs := ruleSet(t, []map[string]any{{"on": "created", "do": map[string]any{"comment": tc.text}}})
		if errs := rules.TextErrors(rs); len(errs) > 0 {
			t.Fatalf("%s: %v", tc.text, errs)
		}
		got, err := render(rs[0].Actions[0].Text, d, texts.For(texts.EN))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}

// A return of 20,000 lines: one comment per history page for the order,
// each within the cap and saying how many lines it left out, in a bounded
// number of requests.
func TestMassReturnIsOneCappedCommentPerPage(t *testing.T) {
	e := newEnv(t)
	e.rc.AddStatus(retailcrm.Status{Code: "return", Name: "Возврат", Group: "cancel", Active: true})
	// The 20,000 lines of the report; fewer under -short and -race, where
	// re-reading an order of 20,000 lines on each of 200 pages costs minutes.
	lines := 20000
	if testing.Short() || raceEnabled {
		lines = 2000
	}
	o := order(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"}, "100")
	for i := range lines {
		o.Items = append(o.Items, retailcrm.Item{ID: int64(100 + i), Quantity: decimal.NewFromInt(1), Status: "new",
			Offer: &retailcrm.Offer{ID: int64(i + 1), Name: "Item " + itoa(int64(i))}})
	}
	created := e.rc.CreateOrder(o)
	e.pull()
	e.updateOrder(created.ID, func(o *retailcrm.Order) {
		for i := range o.Items {
			o.Items[i].Status = "returned"
		}
		o.Status = "return"
	})
	dealID := dealOf(t, e, created.ID)["ID"].(string)
	before := len(commentsOf(e, dealID))
	reqBefore := e.bx.Stats().Requests
	res := e.pull()
	pages := res.Report.Summary.Pages
	cs := commentsOf(e, dealID)[before:]
	wantPages := (lines + 1 + retailcrm.HistoryLimit - 1) / retailcrm.HistoryLimit
	if pages < wantPages || len(cs) != pages {
		t.Fatalf("%d comments over %d pages (want one per page, at least %d pages)", len(cs), pages, wantPages)
	}
	var statusComment string
	for _, c := range cs {
		if len(c) > maxTextBytes {
			t.Errorf("a comment of %d bytes", len(c))
		}
		if strings.Contains(c, "Order status changed") {
			statusComment = c
		}
	}
	shown := strings.Count(statusComment, `"Item `)
	if !strings.Contains(statusComment, "Return registered. Returned items: \"Item 0\", ") || shown < 50 ||
		!strings.HasSuffix(statusComment, ", … and "+texts.For(texts.EN).Number(lines-shown)+" more lines.") {
		t.Errorf("status comment naming %d lines: %q", shown, statusComment)
	}
	if reqs := e.bx.Stats().Requests - reqBefore; reqs > 3*pages {
		t.Errorf("%d Bitrix24 requests for %d pages", reqs, pages)
	}
	// The next run finds nothing left to say.
	n := len(e.bx.Comments())
	e.pull()
	if len(e.bx.Comments()) != n {
		t.Errorf("a second run wrote %d more comments", len(e.bx.Comments())-n)
	}
}

// Product row names (the item's name and article) and the UTM fields come
// from what the shop's site and its visitors typed: they reach the portal
// inert too, and still read as typed, in the dry-run report as in the
// deal.
func TestRowNamesAndUTMAreInert(t *testing.T) {
	e := newEnv(t)
	o := itemsOrder(&retailcrm.Customer{FirstName: "Ann", Email: "ann@example.com"})
	o.Items[0].Offer.Name = "[IMG]https://evil.example/kettle.gif[/IMG] Kettle"
	o.Items[1].Offer.Article = "<a href=https://evil.example>MUG-1</a>"
	o.Source = &retailcrm.Source{Source: injName, Medium: "<b>cpc</b>", Campaign: "[USER=1]spring[/USER]",
		Keyword: "[url]x[/url]", Content: "<img src=x>"}
	created := e.rc.CreateOrder(o)

	res := e.dryPull(keepChanges)
	var report strings.Builder
	if err := res.Report.WriteText(&report); err != nil {
		t.Fatal(err)
	}
	assertInert(t, "dry-run report", report.String())

	e.pull()
	d := dealRow(t, e, created.ID)
	if len(d.Products) != 2 {
		t.Fatalf("rows %+v", d.Products)
	}
	for i, typed := range []string{o.Items[0].Offer.Name, "Mug (" + o.Items[1].Offer.Article + ")"} {
		assertInert(t, "product row", d.Products[i].ProductName)
		assertCarries(t, "product row", d.Products[i].ProductName, typed)
	}
	for field, typed := range map[string]string{"UTM_SOURCE": o.Source.Source, "UTM_MEDIUM": o.Source.Medium,
		"UTM_CAMPAIGN": o.Source.Campaign, "UTM_TERM": o.Source.Keyword, "UTM_CONTENT": o.Source.Content} {
		v := bitrixtest.Str(d.Fields[field])
		assertInert(t, field, v)
		assertCarries(t, field, v, typed)
	}
}

// A company's title and its requisite's names come from what the shop
// typed for its corporate customers and legal buyers: inert too.
func TestCompanyNamesAreInert(t *testing.T) {
	e := newEnv(t)
	companiesOn(e)
	cc, person := e.b2b(injName, retailcrm.Customer{FirstName: "Олег", Email: "oleg@pyshka.example"},
		legalCompany("<b>ООО</b> [IMG]https://evil.example/x.gif[/IMG]", "7704211201", "770401001", "1027739244741"))
	e.rc.CreateOrder(corporateOrder(cc, person, 0, "1000"))
	// An individual's order with a legal buyer: the company is named after it.
	e.rc.CreateOrder(legalOrder(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"},
		retailcrm.Contragent{Type: retailcrm.ContragentLegalEntity, LegalName: "[USER=1]ИП[/USER] <a href=x>Анна</a>",
			INN: "500100732259", OGRN: "1027700132195"}, "500"))
	if res := e.pull(); res.Parked() != 0 {
		t.Fatalf("parked: %+v", res.Report.Parked)
	}
	cos := e.bx.Companies()
	if len(cos) != 2 {
		t.Fatalf("companies %+v", cos)
	}
	for _, co := range cos {
		assertInert(t, "company TITLE", co.Str("TITLE"))
		reqs := e.requisitesOf(co.Str("ID"))
		if len(reqs) != 1 || reqs[0].Str("RQ_COMPANY_NAME") == "" {
			t.Errorf("company %s: requisites %+v", co.Str("TITLE"), reqs)
		}
		for _, rq := range reqs {
			for f, v := range rq.Fields {
				if s, ok := v.(string); ok {
					assertInert(t, "requisite "+f, s)
				}
			}
		}
	}
	assertCarries(t, "company TITLE", cos[0].Str("TITLE")+cos[1].Str("TITLE"), injName)
}
