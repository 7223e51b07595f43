package sync

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/rules"
)

// ruleData fills the rule text fields (and the deal title's) from the
// current order and an event.
func (m *mapper) ruleData(o *retailcrm.Order, ev rules.Event) rules.Data {
	ref := m.ref
	d := rules.Data{ID: o.ID, Number: o.Number, Site: o.Site, Status: o.Status, StatusName: ref.statusName(o.Status),
		StatusGroup: m.groups[o.Status], OldStatus: ev.OldStatus, StatusComment: o.StatusComment,
		Method: o.OrderMethod, Amount: o.TotalSumm.StringFixed(2), Currency: o.Currency,
		FirstName: o.FirstName, LastName: o.LastName, Email: o.Email, Phone: o.Phone,
		CustomerComment: o.CustomerComment, ManagerComment: o.ManagerComment,
		ReturnedItems: capList(ev.Items, maxItemsBytes, m.txt), OrderURL: m.orderURL(o.ID)}
	d.Total = d.Amount
	if ev.OldStatus != "" {
		d.OldStatusName = ref.statusName(ev.OldStatus)
	}
	if ev.Trigger == rules.Status && ev.Arg != "" {
		// The event's own status, not a later one of the same page.
		d.Status, d.StatusName, d.StatusGroup = ev.Arg, ref.statusName(ev.Arg), m.groups[ev.Arg]
	}
	if o.Delivery != nil {
		d.Delivery = o.Delivery.Code
		d.DeliveryName = ref.name(dictDeliveryTypes, o.Delivery.Code)
	}
	var pays, payNames []string
	for _, p := range o.Payments {
		if p.Type != "" && !slices.Contains(pays, p.Type) {
			pays = append(pays, p.Type)
			payNames = append(payNames, ref.name(dictPaymentTypes, p.Type))
		}
	}
	d.Payment, d.PaymentName = strings.Join(pays, ", "), strings.Join(payNames, ", ")
	d.Paid, d.PaidAt = o.FullyPaid(), o.FullPaidAt.String()
	if c := customerOf(o); c != nil {
		d.CustomerID = c.ID
		if d.FirstName == "" && d.LastName == "" {
			d.FirstName, d.LastName = c.FirstName, c.LastName
		}
		if d.Email == "" {
			d.Email = c.Email
		}
		if d.Phone == "" && len(c.Phones) > 0 {
			d.Phone = c.Phones[0].Number
		}
	}
	d.CustomerName = strings.TrimSpace(d.FirstName + " " + d.LastName)
	return d
}

// orderURL links the order's page in RetailCRM.
func (m *mapper) orderURL(id int64) string {
	base := strings.TrimSuffix(m.cfg.RetailCRM.URL, "/")
	if base == "" {
		return ""
	}
	return base + "/orders/" + strconv.FormatInt(id, 10) + "/edit"
}

// entityURL links the deal's (or lead's) page on the portal. Only the
// scheme and host of the webhook URL are used: the rest holds its secret.
func (e *Engine) entityURL(id int64) string {
	u, err := url.Parse(e.cfg.Bitrix.WebhookURL)
	if err != nil || u.Host == "" || id == 0 {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/crm/" + string(e.mapper.entity()) + "/details/" + strconv.FormatInt(id, 10) + "/"
}
