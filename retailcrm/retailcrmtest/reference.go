package retailcrmtest

import (
	"slices"

	"github.com/crmsync/crmsync/retailcrm"
)

// references are the dictionaries at /reference/<name>: the JSON member an
// answer holds one in, and how to read it from the state (under the lock).
var references = map[string]struct {
	member string
	read   func(s *Server) any
}{
	"statuses":         {"statuses", func(s *Server) any { return s.statuses }},
	"status-groups":    {"statusGroups", func(s *Server) any { return s.groups }},
	"order-methods":    {"orderMethods", func(s *Server) any { return s.methods }},
	"delivery-types":   {"deliveryTypes", func(s *Server) any { return encodeEach(s.deliveries, deliveryTypeJSON) }},
	"payment-types":    {"paymentTypes", func(s *Server) any { return s.paymentTypes }},
	"sites":            {"sites", func(s *Server) any { return s.sites }},
	"product-statuses": {"productStatuses", func(s *Server) any { return s.products }},
	"payment-statuses": {"paymentStatuses", func(s *Server) any { return encodeEach(s.paymentStatuses, paymentStatusJSON) }},
	"order-types":      {"orderTypes", func(s *Server) any { return s.orderTypes }},
}

// seedReferences installs a small, typical account: the standard status
// groups with a few statuses each, two order methods, two delivery and
// two payment types, payment statuses (paid is the one that completes a
// payment), the retail and wholesale order types, and the configured
// stores. Names are the shop's own, in Russian, as a Russian account has
// them.
func (s *Server) seedReferences() {
	groups := []struct{ code, name string }{
		{"new", "Новый"}, {"approval", "Согласование"}, {"assembling", "Комплектация"},
		{"delivery", "Доставка"}, {"complete", "Выполнен"}, {"cancel", "Отменен"},
	}
	for i, g := range groups {
		s.groups[g.code] = retailcrm.StatusGroup{Name: g.name, Code: g.code, Active: true,
			Ordering: (i + 1) * 10, Process: g.code != "new" && g.code != "complete" && g.code != "cancel"}
	}
	for _, st := range []retailcrm.Status{
		{Code: "new", Name: "Новый", Group: "new"},
		{Code: "client-confirmed", Name: "Согласовано с клиентом", Group: "approval"},
		{Code: "prepayed", Name: "Предоплата поступила", Group: "approval"},
		{Code: "assembling", Name: "Комплектуется", Group: "assembling"},
		{Code: "send-to-delivery", Name: "Передан в доставку", Group: "delivery"},
		{Code: "delivering", Name: "Доставляется", Group: "delivery"},
		{Code: "complete", Name: "Выполнен", Group: "complete"},
		{Code: "cancel-other", Name: "Отменен", Group: "cancel"},
		{Code: "no-call", Name: "Недозвон", Group: "cancel"},
	} {
		st.Active = true
		s.addStatusLocked(st)
	}
	s.methods["phone"] = retailcrm.OrderMethod{Name: "По телефону", Code: "phone", Active: true, DefaultForCRM: true}
	s.methods["shopping-cart"] = retailcrm.OrderMethod{Name: "Через корзину", Code: "shopping-cart", Active: true, DefaultForAPI: true}
	s.deliveries["courier"] = retailcrm.DeliveryType{Name: "Курьер", Code: "courier", Active: true}
	s.deliveries["self-delivery"] = retailcrm.DeliveryType{Name: "Самовывоз", Code: "self-delivery", Active: true}
	s.paymentTypes["cash"] = retailcrm.PaymentType{Name: "Наличные", Code: "cash", Active: true}
	s.paymentTypes["bank-card"] = retailcrm.PaymentType{Name: "Банковская карта", Code: "bank-card", Active: true}
	for i, ps := range []retailcrm.PaymentStatus{
		{Code: "not-paid", Name: "Не оплачен"}, {Code: "invoice", Name: "Выставлен счет"},
		{Code: "payment-start", Name: "Платеж проведен"}, {Code: "paid", Name: "Оплачен", PaymentComplete: true},
		{Code: "fail", Name: "Ошибка"},
	} {
		ps.Active, ps.Ordering = true, (i+1)*10
		ps.PaymentTypes = []string{"cash", "bank-card"}
		s.paymentStatuses[ps.Code] = ps
	}
	s.orderTypes["eshop-individual"] = retailcrm.OrderType{Name: "Физическое лицо", Code: "eshop-individual",
		Active: true, Ordering: 10, DefaultForCRM: true, DefaultForAPI: true}
	s.orderTypes["eshop-legal"] = retailcrm.OrderType{Name: "Юридическое лицо", Code: "eshop-legal", Active: true, Ordering: 20}
	// Product (order line) statuses as a typical account has them; returned
	// and cancelled take the line out of the order (cancelStatus).
	for i, ps := range []retailcrm.ProductStatus{
		{Code: "new", Name: "Добавлен"}, {Code: "in-reserve", Name: "В резерве"},
		{Code: "shipped", Name: "Отгружен"}, {Code: "returned", Name: "Возвращен", CancelStatus: true},
		{Code: "cancelled", Name: "Отменен", CancelStatus: true},
	} {
		ps.Active, ps.Ordering = true, (i+1)*10
		s.products[ps.Code] = ps
	}
	for i, code := range s.opts.Sites {
		s.sites[code] = retailcrm.Site{ID: int64(i + 1), Name: code, Code: code,
			URL: "https://" + code + ".example.com", Currency: "RUB", CountryISO: "RU", DefaultForCRM: i == 0}
	}
}

func (s *Server) addStatusLocked(st retailcrm.Status) {
	if old, ok := s.statuses[st.Code]; ok && old.Group != st.Group {
		if g, ok := s.groups[old.Group]; ok {
			g.Statuses = slices.DeleteFunc(slices.Clone(g.Statuses), func(c string) bool { return c == st.Code })
			s.groups[old.Group] = g
		}
	}
	s.statuses[st.Code] = st
	g, ok := s.groups[st.Group]
	if !ok {
		g = retailcrm.StatusGroup{Name: st.Group, Code: st.Group, Active: true, Ordering: 100 + len(s.groups)}
	}
	if !slices.Contains(g.Statuses, st.Code) {
		g.Statuses = append(slices.Clone(g.Statuses), st.Code)
	}
	s.groups[st.Group] = g
}

// AddStatus adds or replaces an order status; its group is created when
// missing and lists the status.
func (s *Server) AddStatus(st retailcrm.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addStatusLocked(st)
}

// AddStatusGroup adds or replaces a status group (its Statuses list is
// kept in step by AddStatus).
func (s *Server) AddStatusGroup(g retailcrm.StatusGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.groups[g.Code]; ok && len(g.Statuses) == 0 {
		g.Statuses = old.Statuses
	}
	s.groups[g.Code] = g
}

// locked runs fn under the server's lock: the body of a setter that only
// stores one value.
func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// AddProductStatus adds or replaces an order line status.
func (s *Server) AddProductStatus(ps retailcrm.ProductStatus) {
	s.locked(func() { s.products[ps.Code] = ps })
}

// AddOrderMethod adds or replaces an order method.
func (s *Server) AddOrderMethod(m retailcrm.OrderMethod) { s.locked(func() { s.methods[m.Code] = m }) }

// AddDeliveryType adds or replaces a delivery type.
func (s *Server) AddDeliveryType(d retailcrm.DeliveryType) {
	s.locked(func() { s.deliveries[d.Code] = d })
}

// AddPaymentType adds or replaces a payment type.
func (s *Server) AddPaymentType(p retailcrm.PaymentType) {
	s.locked(func() { s.paymentTypes[p.Code] = p })
}

// AddPaymentStatus adds or replaces a payment status; PaymentComplete
// decides whether payments in it count towards full payment.
func (s *Server) AddPaymentStatus(p retailcrm.PaymentStatus) {
	s.locked(func() { s.paymentStatuses[p.Code] = p })
}

// AddOrderType adds or replaces an order type.
func (s *Server) AddOrderType(t retailcrm.OrderType) { s.locked(func() { s.orderTypes[t.Code] = t }) }

// SetCredentials replaces the key's scopes and store access as
// /api/credentials reports and the handlers enforce. sitesAvailable nil
// means every store.
func (s *Server) SetCredentials(scopes []string, siteAccess string, sitesAvailable []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = append([]string(nil), scopes...)
	s.siteAccess = siteAccess
	if sitesAvailable == nil {
		sitesAvailable = s.opts.Sites
	}
	s.sitesAvail = append([]string(nil), sitesAvailable...)
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// encodeEach encodes each entry of a dictionary with enc.
func encodeEach[T any](dict map[string]T, enc func(T) map[string]any) map[string]any {
	out := make(map[string]any, len(dict))
	for k, v := range dict {
		out[k] = enc(v)
	}
	return out
}

// deliveryTypeJSON is encoded by hand so defaultCost is a JSON number, as
// sent.
func deliveryTypeJSON(d retailcrm.DeliveryType) map[string]any {
	return map[string]any{"name": d.Name, "code": d.Code, "active": d.Active,
		"defaultCost": num(d.DefaultCost), "paymentTypes": nonNil(d.PaymentTypes), "sites": nonNil(d.Sites)}
}

func paymentStatusJSON(p retailcrm.PaymentStatus) map[string]any {
	return map[string]any{"name": p.Name, "code": p.Code, "active": p.Active, "ordering": p.Ordering,
		"defaultForCrm": false, "defaultForApi": false, "paymentComplete": p.PaymentComplete,
		"paymentTypes": nonNil(p.PaymentTypes)}
}
