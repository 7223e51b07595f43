// Package texts is crmsync's message catalogue: every phrase crmsync itself
// writes into Bitrix24 or RetailCRM (deal titles and COMMENTS, timeline
// comments, alerts), in each locale the configuration's locale: key takes.
// The names the phrases carry (statuses, delivery and payment types, items)
// are the shop's own and are not translated. A phrase is added to every
// locale at once (TestEveryPhraseInEveryLocale).
package texts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Locale is the language of crmsync's texts.
type Locale string

// The locales; Default is the one of a configuration without locale:.
const (
	RU      Locale = "ru"
	EN      Locale = "en"
	Default        = RU
)

// Locales lists every locale, the default first.
func Locales() []Locale { return []Locale{RU, EN} }

// Parse reads a configured locale; "" is the default.
func Parse(s string) (Locale, bool) {
	switch l := Locale(strings.ToLower(strings.TrimSpace(s))); l {
	case "":
		return Default, true
	case RU, EN:
		return l, true
	}
	return "", false
}

// Key names one phrase. Phrases are fmt formats; a plural phrase (see
// Catalog.Plural) lists its forms separated by "|".
type Key string

// The phrases, by where they are written.
const (
	// DealTitle is the default deal title, a rule-text template.
	DealTitle Key = "deal.title"
	// DealSource is SOURCE_DESCRIPTION: number, id; DealSourceSite adds the store.
	DealSource     Key = "deal.source"
	DealSourceSite Key = "deal.source.site"
	// The lines of the deal's COMMENTS.
	CommentsDelivery Key = "comments.delivery"
	CommentsPayment  Key = "comments.payment"
	CommentsPaid     Key = "comments.paid"
	CommentsCustomer Key = "comments.customer"
	CommentsManager  Key = "comments.manager"
	// RowDelivery names the product row of a delivery that costs something.
	RowDelivery Key = "rows.delivery"
	// OrderDeleted (number, who) and OrderDeletedStage (stage): the comment on
	// the deal of an order deleted in RetailCRM.
	OrderDeleted      Key = "timeline.order_deleted"
	OrderDeletedStage Key = "timeline.order_deleted.stage"
	// CustomerMerged (merged id, survivor id, contact): the comment on a
	// merged customer's contact; MergedContact (id) and MergedContactNamed
	// (id, name) name the survivor's contact.
	CustomerMerged     Key = "timeline.customer_merged"
	MergedContact      Key = "timeline.customer_merged.contact"
	MergedContactNamed Key = "timeline.customer_merged.contact_named"

	// Timeline comments of history records.
	StatusChanged   Key = "timeline.status"
	OrderCancelled  Key = "timeline.cancelled"
	OrderCompleted  Key = "timeline.completed"
	ReturnByStatus  Key = "timeline.return.status"
	ReturnedItems   Key = "timeline.return.items"
	ReturnLines     Key = "timeline.return.lines"
	LineMoved       Key = "timeline.line.moved"
	CustomerComment Key = "timeline.customer_comment"
	ManagerComment  Key = "timeline.manager_comment"
	OrderPaid       Key = "timeline.paid"
	NoStatus        Key = "timeline.no_status"
	// Who made a record and when: ByAt (who, when), By (who).
	ByAt      Key = "timeline.by_at"
	By        Key = "timeline.by"
	WhoUser   Key = "timeline.who.user"
	WhoSource Key = "timeline.who.source"
	AnItem    Key = "item.unnamed"
	ItemID    Key = "item.id"
	// Lists and texts cut to size (plural).
	MoreLines Key = "more.lines"
	MoreChars Key = "more.chars"

	// Alerts.
	AlertParked     Key = "alert.parked"
	Attempts        Key = "alert.attempts"
	ItemOrder       Key = "alert.item.order"
	ItemCustomer    Key = "alert.item.customer"
	ItemOther       Key = "alert.item.other"
	AlertRunFailed  Key = "alert.run_failed"
	AlertPushParked Key = "alert.push.parked"
	PushItems       Key = "alert.push.items"
	AlertPushLine   Key = "alert.push.line"
	AlertPushMore   Key = "alert.push.more"

	// Push: a timeline comment as a line of the order's manager comment.
	PushAuthorUser    Key = "push.author.user"
	PushAuthorUnknown Key = "push.author.unknown"
)

// phrases is the catalogue. Built on each call (For keeps the result), so
// nothing in the package can change at run time.
func phrases() map[Locale]map[Key]string {
	return map[Locale]map[Key]string{
		RU: {
			DealTitle:      "Заказ №{{.Number}}",
			DealSource:     "Заказ RetailCRM %s (id %d)",
			DealSourceSite: "Заказ RetailCRM %s (id %d, магазин %s)",

			CommentsDelivery: "Доставка: %s",
			CommentsPayment:  "Оплата: %s",
			CommentsPaid:     "Оплачен полностью: %s",
			CommentsCustomer: "Комментарий покупателя: %s",
			CommentsManager:  "Комментарий менеджера: %s",
			RowDelivery:      "Доставка",

			OrderDeleted:       "Заказ %s удалён в RetailCRM (%s).",
			OrderDeletedStage:  " Сделка переведена на стадию %s и больше не синхронизируется.",
			CustomerMerged:     "Покупатель RetailCRM %d объединён с покупателем %d; его данные теперь в %s. Этот контакт оставлен как был.",
			MergedContact:      "контакте %s",
			MergedContactNamed: "контакте %s (%s)",

			StatusChanged:   "Статус заказа изменён: %s → %s (%s)",
			OrderCancelled:  ". Заказ отменён.",
			OrderCompleted:  ". Заказ выполнен.",
			ReturnByStatus:  "Статус заказа изменён: %s → %s (%s). Оформлен возврат.",
			ReturnedItems:   " Возвращённые товары: ",
			ReturnLines:     "Оформлен возврат (%s): ",
			LineMoved:       "%s: статус «%s»",
			CustomerComment: "Комментарий покупателя (%s): %s",
			ManagerComment:  "Комментарий менеджера (%s): %s",
			OrderPaid:       "Заказ оплачен полностью: %s %s, %s",
			NoStatus:        "(нет)",
			ByAt:            "%s, %s",
			By:              "%s",
			WhoUser:         "пользователь RetailCRM %d",
			WhoSource:       "RetailCRM (%s)",
			AnItem:          "товар",
			ItemID:          "товар %d",
			MoreLines:       ", … и ещё %s строка|, … и ещё %s строки|, … и ещё %s строк",
			MoreChars:       "… (ещё %s символ)|… (ещё %s символа)|… (ещё %s символов)",

			AlertParked:     "crmsync: %s не удалось синхронизировать после %s, он отложен: %s. Выполните crmsync status --failed, затем crmsync retry или skip.",
			Attempts:        "%s попытки|%s попыток|%s попыток",
			ItemOrder:       "заказ RetailCRM %s",
			ItemCustomer:    "клиента RetailCRM %s",
			ItemOther:       "%s RetailCRM %s",
			AlertRunFailed:  "crmsync: %s завершился с ошибкой: %s. Об ошибках того же рода сегодня больше не сообщается. Подробности: crmsync status.",
			AlertPushParked: "crmsync push отложил %s; подробности: crmsync status --failed:",
			PushItems:       "%s элемент|%s элемента|%s элементов",
			AlertPushLine:   "\n- %s заказа %d: %s",
			AlertPushMore:   "\n… и ещё %d",

			PushAuthorUser:    "пользователь %s",
			PushAuthorUnknown: "автор неизвестен",
		},
		EN: {
			DealTitle:      "Order {{.Number}}",
			DealSource:     "RetailCRM order %s (id %d)",
			DealSourceSite: "RetailCRM order %s (id %d, site %s)",

			CommentsDelivery: "Delivery: %s",
			CommentsPayment:  "Payment: %s",
			CommentsPaid:     "Fully paid: %s",
			CommentsCustomer: "Customer comment: %s",
			CommentsManager:  "Manager comment: %s",
			RowDelivery:      "Delivery",

			OrderDeleted:       "Order %s was deleted in RetailCRM (%s).",
			OrderDeletedStage:  " The deal was moved to stage %s; it is no longer synced.",
			CustomerMerged:     "RetailCRM customer %d was merged into customer %d; its data continues in %s. This contact is kept as it was.",
			MergedContact:      "contact %s",
			MergedContactNamed: "contact %s (%s)",

			StatusChanged:   "Order status changed: %s → %s (%s)",
			OrderCancelled:  ". The order was cancelled.",
			OrderCompleted:  ". The order was completed.",
			ReturnByStatus:  "Order status changed: %s → %s (%s). Return registered.",
			ReturnedItems:   " Returned items: ",
			ReturnLines:     "Return registered (%s): ",
			LineMoved:       "%s moved to %s",
			CustomerComment: "Customer comment (%s): %s",
			ManagerComment:  "Manager comment (%s): %s",
			OrderPaid:       "Order fully paid: %s %s on %s",
			NoStatus:        "(none)",
			ByAt:            "by %s at %s",
			By:              "by %s",
			WhoUser:         "RetailCRM user %d",
			WhoSource:       "RetailCRM (%s)",
			AnItem:          "an item",
			ItemID:          "item %d",
			MoreLines:       ", … and %s more line|, … and %s more lines",
			MoreChars:       "… (%s more character)|… (%s more characters)",

			AlertParked:     "crmsync: %s could not be synced after %s and is parked: %s. Run crmsync status --failed, then crmsync retry or skip.",
			Attempts:        "%s attempt|%s attempts",
			ItemOrder:       "RetailCRM order %s",
			ItemCustomer:    "RetailCRM customer %s",
			ItemOther:       "RetailCRM %s %s",
			AlertRunFailed:  "crmsync: %s failed: %s. Later runs failing the same way today are not reported again. Run crmsync status for details.",
			AlertPushParked: "crmsync push parked %s; see crmsync status --failed:",
			PushItems:       "%s item(s)|%s item(s)",
			AlertPushLine:   "\n- %s of order %d: %s",
			AlertPushMore:   "\n… and %d more",

			PushAuthorUser:    "user %s",
			PushAuthorUnknown: "unknown author",
		},
	}
}

// Catalog is the phrases of one locale.
type Catalog struct {
	locale  Locale
	phrases map[Key]string
}

// For returns the catalogue of a locale; an unknown one gets the default's.
func For(l Locale) *Catalog {
	all := phrases()
	p, ok := all[l]
	if !ok {
		l, p = Default, all[Default]
	}
	return &Catalog{locale: l, phrases: p}
}

// Locale is the catalogue's locale.
func (c *Catalog) Locale() Locale { return c.locale }

// Get is a phrase as written (a template, a format).
func (c *Catalog) Get(k Key) string {
	if s, ok := c.phrases[k]; ok {
		return s
	}
	return string(k) // a missing phrase shows its key; a test keeps this from happening
}

// F formats a phrase.
func (c *Catalog) F(k Key, args ...any) string { return fmt.Sprintf(c.Get(k), args...) }

// Plural formats the form of a plural phrase that fits n, n written with
// its thousands grouped: English has one and other; Russian one (1, 21),
// few (2–4, 22–24) and many (0, 5–20, 25–30, 11–14).
func (c *Catalog) Plural(k Key, n int) string {
	forms := strings.Split(c.Get(k), "|")
	i := 0
	switch c.locale {
	case RU:
		m10, m100 := n%10, n%100
		switch {
		case m10 == 1 && m100 != 11:
			i = 0
		case m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14):
			i = 1
		default:
			i = 2
		}
	default:
		if n != 1 {
			i = 1
		}
	}
	i = min(i, len(forms)-1)
	return strings.ReplaceAll(forms[i], "%s", c.Number(n))
}

// Number writes n with its thousands grouped: 19,950 in English, 19 950 in
// Russian.
func (c *Catalog) Number(n int) string {
	return group(strconv.Itoa(n), c.groupSep())
}

// Money writes an amount with two decimals and grouped thousands:
// 12,400.00 in English, 12 400,00 in Russian.
func (c *Catalog) Money(d decimal.Decimal) string {
	s := d.StringFixed(2)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	point := "."
	if c.locale == RU {
		point = ","
	}
	return sign + group(whole, c.groupSep()) + point + frac
}

func (c *Catalog) groupSep() string {
	if c.locale == RU {
		return " "
	}
	return ","
}

// group separates the thousands of a string of digits (a leading minus
// kept).
func group(s, sep string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	first := len(s) % 3
	if first > 0 {
		b.WriteString(s[:first])
	}
	for i := first; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s[i : i+3])
	}
	return sign + b.String()
}
