package sync

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// TestTextsFollowTheLocale: the deal's title, SOURCE_DESCRIPTION and
// COMMENTS, the timeline comment of a status change and the alert about a
// parked order are Russian without locale: and English with locale: en;
// either way they name delivery and payment types, payment statuses and
// statuses by the shop's own names, never by their codes.
func TestTextsFollowTheLocale(t *testing.T) {
	type want struct {
		title, source, comments, status, alert string
	}
	for _, tc := range []struct {
		locale string
		want   want
	}{
		{"", want{
			title:    "Заказ №%N",
			source:   "Заказ RetailCRM %N (id %I, магазин shop)",
			comments: "Доставка: Курьер\nОплата: Наличные (Не оплачен)\nКомментарий покупателя: Позвонить до обеда",
			status:   "Статус заказа изменён: Новый → Выполнен (",
			alert:    "crmsync: заказ RetailCRM %P не удалось синхронизировать после 1 попытки, он отложен: ",
		}},
		{"en", want{
			title:    "Order %N",
			source:   "RetailCRM order %N (id %I, site shop)",
			comments: "Delivery: Курьер\nPayment: Наличные (Не оплачен)\nCustomer comment: Позвонить до обеда",
			status:   "Order status changed: Новый → Выполнен (",
			alert:    "crmsync: RetailCRM order %P could not be synced after 1 attempt and is parked: ",
		}},
	} {
		t.Run("locale="+tc.locale, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Locale = tc.locale
			e.cfg.Alerts.NotifyUserIDs = []int{1}
			c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"})
			o := order(&c, "1890")
			o.Site = "shop"
			o.CustomerComment = "Позвонить до обеда"
			o.Payments = retailcrm.Payments{{Type: "cash", Status: "not-paid", Amount: money("1890")}}
			created := e.rc.CreateOrder(o)
			// A status in a group the mapping does not name: parked after
			// its one attempt, with an alert.
			e.rc.AddStatus(retailcrm.Status{Code: "on-hold", Name: "Отложен", Group: "hold", Active: true})
			bad := order(&c, "10")
			bad.Status = "on-hold"
			parked := e.rc.CreateOrder(bad)
			e.pull(func(o *Options) { o.MaxAttempts = 1 })

			sub := strings.NewReplacer("%N", created.Number, "%I", strconv.FormatInt(created.ID, 10),
				"%P", strconv.FormatInt(parked.ID, 10))
			d := dealOf(t, e, created.ID)
			if got, w := d["TITLE"], sub.Replace(tc.want.title); got != w {
				t.Errorf("TITLE %q, want %q", got, w)
			}
			if got, w := d["SOURCE_DESCRIPTION"], sub.Replace(tc.want.source); got != w {
				t.Errorf("SOURCE_DESCRIPTION %q, want %q", got, w)
			}
			if got, w := d["COMMENTS"], tc.want.comments; got != w {
				t.Errorf("COMMENTS %q, want %q", got, w)
			}
			notes := e.bx.Notifications()
			if len(notes) != 1 || !strings.HasPrefix(notes[0].Message, sub.Replace(tc.want.alert)) {
				t.Errorf("alerts %+v, want one starting %q", notes, sub.Replace(tc.want.alert))
			}

			e.updateOrder(created.ID, func(o *retailcrm.Order) { o.Status = "complete" })
			e.pull()
			comments := commentsOf(e, d["ID"].(string))
			if len(comments) != 1 || !strings.HasPrefix(comments[0], tc.want.status) {
				t.Errorf("timeline %q, want one comment starting %q", comments, tc.want.status)
			}
			for _, code := range []string{"courier", "cash", "not-paid", ": complete", "→ new"} {
				for _, text := range append(comments, d["COMMENTS"].(string)) {
					if strings.Contains(text, code) {
						t.Errorf("%q names the code %q", text, code)
					}
				}
			}
		})
	}
}

// TestDealTitleTemplate: mapping.deal_title is a template over the rule
// text fields, values escaped as in rule texts; a title that renders
// nothing falls back to the locale's default.
func TestDealTitleTemplate(t *testing.T) {
	e := newEnv(t)
	e.cfg.Locale = ""
	e.cfg.Mapping.DealTitle = "{{.Number}}: {{.CustomerName}}, {{.DeliveryName}}"
	c := e.rc.AddCustomer(retailcrm.Customer{FirstName: "[B]Anna[/B]", Email: "anna@example.com"})
	o := e.rc.CreateOrder(order(&c, "100"))
	e.pull()
	got := dealOf(t, e, o.ID)["TITLE"].(string)
	if !strings.HasPrefix(got, o.Number+": ") || !strings.HasSuffix(got, ", Курьер") || strings.Contains(got, "[B]") {
		t.Errorf("TITLE %q: want the number, the escaped name and the delivery type's name", got)
	}

	e2 := newEnv(t)
	e2.cfg.Mapping.DealTitle = "{{if .Paid}}paid{{end}}"
	o2 := e2.rc.CreateOrder(order(&retailcrm.Customer{FirstName: "B", Email: "b@example.com"}, "5"))
	e2.pull()
	if got := dealOf(t, e2, o2.ID)["TITLE"]; got != "Order "+o2.Number {
		t.Errorf("TITLE %q, want the default", got)
	}
}

// TestRunFailureAlertInTheLocale: the alert about a failed run is worded
// in the configured locale.
func TestRunFailureAlertInTheLocale(t *testing.T) {
	for locale, want := range map[string]string{
		"":   "crmsync: pull завершился с ошибкой: boom. Об ошибках того же рода сегодня больше не сообщается.",
		"en": "crmsync: pull failed: boom. Later runs failing the same way today are not reported again.",
	} {
		e := newEnv(t)
		cfg := &config.Config{Locale: locale, Alerts: config.Alerts{NotifyUserIDs: []int{3}}}
		n := e.alert(RunAlert{Config: cfg, Command: "pull", Err: errors.New("boom"), Now: time.Now()})
		notes := e.bx.Notifications()
		if n != 1 || len(notes) != 1 || !strings.HasPrefix(notes[0].Message, want) {
			t.Errorf("locale %q: %d sent, %+v; want %q", locale, n, notes, want)
		}
	}
}

// TestUnnamedRowFollowsTheLocale: a line without a name or an article (an
// offer the catalogue lost its name for) still gets a row named in the
// configured language, like the delivery row.
func TestUnnamedRowFollowsTheLocale(t *testing.T) {
	for _, tc := range []struct{ locale, item, delivery string }{
		{"", "товар 7", "Доставка"},
		{"en", "item 7", "Delivery"},
	} {
		t.Run("locale="+tc.locale, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Locale = tc.locale
			o := order(&retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}, "400")
			o.Items = []retailcrm.Item{{ID: 7, InitialPrice: money("100"), Quantity: money("1"), Offer: &retailcrm.Offer{ID: 70}}}
			o.Delivery = &retailcrm.Delivery{Code: "courier", Cost: money("300")}
			o = e.rc.CreateOrder(o)
			if res := e.pull(); res.Parked() != 0 {
				t.Fatalf("parked: %+v", res.Report.Parked)
			}
			var names []string
			for _, r := range e.bx.ProductRows("deal", dealID(t, e, o.ID)) {
				names = append(names, r.ProductName)
			}
			if got, want := strings.Join(names, ", "), tc.item+", "+tc.delivery; got != want {
				t.Errorf("rows %q, want %q", got, want)
			}
		})
	}
}
