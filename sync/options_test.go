package sync

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

func TestLeadsInsteadOfDeals(t *testing.T) {
	e := newEnv(t)
	e.cfg.Bitrix.Entity = "lead"
	e.cfg.Mapping.Statuses = map[string]string{"new": "NEW", "group:complete": "CONVERTED", "group:cancel": "JUNK"}
	o := e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "Lena", Email: "lena@example.com"}, "42"))
	e.pull()
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.Status = "complete" })
	e.pull()
	leads := e.bx.Leads()
	if len(leads) != 1 || len(e.bx.Deals()) != 0 {
		t.Fatalf("%d leads, %d deals", len(leads), len(e.bx.Deals()))
	}
	l := leads[0]
	if l.Str("STATUS_ID") != "CONVERTED" || l.Str("ORIGIN_ID") != strconv.FormatInt(o.ID, 10) || l.Str("CONTACT_ID") == "" ||
		l.Str("OPPORTUNITY") != "42.00" {
		t.Errorf("lead %+v", l.Fields)
	}
	if cs := e.bx.Comments(); len(cs) != 1 || cs[0].EntityType != "lead" {
		t.Errorf("comments %+v", cs)
	}
}

func TestMappedFieldsAndNeverWipe(t *testing.T) {
	e := newEnv(t)
	e.bx.SeedUserField("CRM_DEAL", "UF_CRM_DELIVERY", "string", false)
	e.bx.SeedUserField("CRM_DEAL", "UF_CRM_NPS", "string", false)
	e.bx.SeedUserField("CRM_CONTACT", "UF_CRM_CITY", "string", false)
	e.cfg.Mapping.OrderMethods = map[string]string{"shopping-cart": "WEB"}
	e.cfg.Mapping.DealFields = map[string]string{"UF_CRM_DELIVERY": "delivery.code", "UF_CRM_NPS": "customFields.nps"}
	e.cfg.Mapping.ContactFields = map[string]string{"UF_CRM_CITY": "customer.customFields.city"}
	in := order(&retailcrm.Customer{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com",
		Phones:       []retailcrm.Phone{{Number: "+7 916 555-44-33"}},
		CustomFields: retailcrm.CustomFields{"city": []byte(`"Kazan"`)}}, "10")
	in.CustomFields = retailcrm.CustomFields{"nps": []byte(`9`)}
	in.CustomerComment = "ring twice"
	o := e.rc.CreateOrder(in)
	e.pull()
	d := dealOf(t, e, o.ID)
	if d["SOURCE_ID"] != "WEB" || d["UF_CRM_DELIVERY"] != "courier" || d["UF_CRM_NPS"] != "9" {
		t.Errorf("deal %+v", d)
	}
	contacts := e.bx.Contacts()
	if len(contacts) != 1 || contacts[0].Str("UF_CRM_CITY") != "Kazan" {
		t.Fatalf("contacts %+v", contacts)
	}

	// The shop empties the comment, the phone and the e-mail, and adds a
	// second phone in another format: nothing filled is wiped, the new
	// phone is added once.
	e.updateOrder(o.ID, func(o *retailcrm.Order) { o.CustomerComment = ""; o.TotalSumm = money("12") })
	if err := e.rc.UpdateCustomer(o.Customer.ID, func(c *retailcrm.Customer) {
		c.Email = ""
		c.Phones = []retailcrm.Phone{{Number: "8 (916) 555-44-33"}, {Number: "+7 916 777 00 11"}}
	}); err != nil {
		t.Fatal(err)
	}
	e.pull()
	d = dealOf(t, e, o.ID)
	if d["OPPORTUNITY"] != "12.00" {
		t.Errorf("amount %v", d["OPPORTUNITY"])
	}
	if !strings.Contains(d["COMMENTS"].(string), "Delivery: Курьер") { // the delivery type by its name
		t.Errorf("COMMENTS %q", d["COMMENTS"])
	}
	c, _ := e.bx.Contact(contacts[0].ID)
	if v := c.Values("EMAIL"); len(v) != 1 || v[0] != "ann@example.com" {
		t.Errorf("e-mails %v", v)
	}
	if v := c.Values("PHONE"); len(v) != 2 {
		t.Errorf("phones %v", v)
	}
	if c.Str("LAST_NAME") != "Lee" {
		t.Errorf("name wiped: %+v", c.Fields)
	}
}

func TestMaxDurationStopsBetweenPages(t *testing.T) {
	e := newEnv(t)
	for range 150 {
		e.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "X", Email: "x@example.com"}, "1"))
	}
	start := time.Now()
	late := false
	res := e.pull(func(o *Options) {
		o.MaxDuration = time.Minute
		// The first page takes "two minutes".
		o.Progress = func(Progress) { late = true }
		o.Now = func() time.Time {
			if late {
				return start.Add(2 * time.Minute)
			}
			return start
		}
	})
	if res.Report.Summary.Pages != 1 || res.Report.Summary.Stopped != "max-duration" {
		t.Errorf("summary %+v", res.Report.Summary)
	}
}
