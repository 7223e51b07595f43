package sync

import (
	"slices"

	"strings"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/rules"
	"github.com/crmsync/crmsync/sync/texts"
)

// The texts a deal carries, in the configured locale, naming delivery and
// payment types, statuses and stores by the shop's own names
// (docs/configuration.md, locale and mapping.deal_title).

// dealTitle renders mapping.deal_title (or the locale's default) over the
// order; a template that renders nothing gives the default title, since a
// deal needs one.
func (m *mapper) dealTitle(o *retailcrm.Order, number string) (string, error) {
	d := m.ruleData(o, rules.Event{})
	d.Number = number
	title, err := render(m.title, d, m.txt)
	if err != nil {
		return "", badOrder("order %s: mapping.deal_title: %v", orderName(o), err)
	}
	if title == "" {
		title = clean(strings.ReplaceAll(m.txt.Get(texts.DealTitle), "{{.Number}}", esc(number)))
	}
	return title, nil
}

// sourceDescription is SOURCE_DESCRIPTION: the order's number and id, and
// its store by name.
func (m *mapper) sourceDescription(o *retailcrm.Order, number string) string {
	if o.Site == "" {
		return clean(m.txt.F(texts.DealSource, esc(number), o.ID))
	}
	return clean(m.txt.F(texts.DealSourceSite, esc(number), o.ID, esc(clean(m.ref.name(dictSites, o.Site)))))
}

// dealComments is the deal's COMMENTS text (BBCode to the portal):
// delivery, payments with their status, the full payment, and the order's
// comments, one per line, every value escaped; "" when there is nothing to
// say.
func (m *mapper) dealComments(o *retailcrm.Order) string {
	var lines []string
	if o.Delivery != nil && o.Delivery.Code != "" {
		lines = append(lines, m.txt.F(texts.CommentsDelivery, esc(clean(m.ref.name(dictDeliveryTypes, o.Delivery.Code)))))
	}
	var pays []string
	for _, p := range o.Payments {
		if p.Type == "" {
			continue
		}
		pay := esc(clean(m.ref.name(dictPaymentTypes, p.Type)))
		if p.Status != "" {
			pay += " (" + esc(clean(m.ref.name(dictPaymentStatuses, p.Status))) + ")"
		}
		if !slices.Contains(pays, pay) {
			pays = append(pays, pay)
		}
	}
	if len(pays) > 0 {
		lines = append(lines, m.txt.F(texts.CommentsPayment, strings.Join(pays, ", ")))
	}
	if o.FullyPaid() {
		lines = append(lines, m.txt.F(texts.CommentsPaid, esc(o.FullPaidAt.String())))
	}
	if s := clean(o.CustomerComment); s != "" {
		lines = append(lines, m.txt.F(texts.CommentsCustomer, esc(s)))
	}
	if s := clean(o.ManagerComment); s != "" {
		lines = append(lines, m.txt.F(texts.CommentsManager, esc(s)))
	}
	return strings.Join(lines, "\n")
}
