package retailcrmtest

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

const msgInputErrors = "Errors in the input parameters"

func writeParamError(w http.ResponseWriter, e *paramError) {
	writeError(w, http.StatusBadRequest, msgInputErrors, map[string]string{e.param: e.msg})
}

// requireScopeLocked answers 403 "Access denied." when the key lacks scope.
func (s *Server) requireScopeLocked(w http.ResponseWriter, scope string) bool {
	if slices.Contains(s.scopes, scope) {
		return true
	}
	writeError(w, http.StatusForbidden, "Access denied.", nil)
	return false
}

func (s *Server) siteVisibleLocked(site string) bool {
	return s.siteAccess != retailcrm.SiteAccessSelective || slices.Contains(s.sitesAvail, site)
}

func (s *Server) handleCredentials(w http.ResponseWriter, _ *http.Request, _ string) {
	s.mu.Lock()
	body := map[string]any{
		"success":        true,
		"scopes":         slices.Clone(s.scopes),
		"credentials":    []string{"/api/integration-modules/{code}", "/api/integration-modules/{code}/edit"},
		"siteAccess":     s.siteAccess,
		"sitesAvailable": slices.Clone(s.sitesAvail),
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleSettings(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true,
		"settings": map[string]any{
			"default_currency": map[string]string{"value": "RUB", "updated_at": "2020-12-02 14:54:16"},
			"system_language":  map[string]string{"value": "RU", "updated_at": "2020-02-19 16:29:25"},
			"timezone":         map[string]string{"value": s.opts.Timezone, "updated_at": "2021-02-08 08:29:40"},
		},
	})
}

func (s *Server) handleReference(w http.ResponseWriter, _ *http.Request, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, "reference_read") {
		return
	}
	ref := references[name]
	writeJSON(w, http.StatusOK, map[string]any{"success": true, ref.member: ref.read(s)})
}

func (s *Server) handleOrders(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	limit, perr := limitParam(q)
	if perr == nil {
		var p int
		p, perr = pageParam(q)
		if perr == nil {
			s.listOrders(w, q, limit, p)
			return
		}
	}
	writeParamError(w, perr)
}

func (s *Server) listOrders(w http.ResponseWriter, q map[string][]string, limit, pageNo int) {
	ids, perr := intListParam(q, "filter[ids][]")
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	from, hasFrom, perr := orderDateParam(q, "filter[createdAtFrom]", false, s.loc, s.opts.OrderDates)
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	to, hasTo, perr := orderDateParam(q, "filter[createdAtTo]", true, s.loc, s.opts.OrderDates)
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	sites := q["filter[sites][]"]
	win := newWindow(from, hasFrom, to, hasTo)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, "order_read") {
		return
	}
	keep := func(site string) bool {
		return s.siteVisibleLocked(site) && (len(sites) == 0 || slices.Contains(sites, site))
	}
	// Count every match but encode only the requested page.
	skip := (pageNo - 1) * limit
	var total int
	var page []int64
	if len(ids) > 0 {
		slices.Sort(ids)
		page = make([]int64, 0, limit)
		for _, id := range slices.Compact(ids) {
			if k, ok := s.index.get(id); ok && k.matches(keep, win) {
				if total >= skip && len(page) < limit {
					page = append(page, id)
				}
				total++
			}
		}
	} else {
		total, page = s.index.page(keep, win, skip, limit)
	}
	orders := make([]*listOrder, 0, len(page))
	for _, id := range page {
		orders = append(orders, orderListJSON(s.orders[id]))
	}
	_, _, pagination := pageBounds(total, limit, pageNo)
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "pagination": pagination, "orders": orders})
}

func (s *Server) handleOrdersHistory(w http.ResponseWriter, r *http.Request, key string) {
	s.serveHistory(w, r, key, "order_read", "order", "filter[orderId]", &s.orderHist)
}

func (s *Server) handleCustomersHistory(w http.ResponseWriter, r *http.Request, key string) {
	s.serveHistory(w, r, key, "customer_read", "customer", "filter[customerId]", &s.custHist)
}

// serveHistory answers /orders/history, /customers/history and
// /customers-corporate/history from log.
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request, key, scope, entity, entityParam string, log *histLog) {
	hp, ok := s.historyParams(w, r, entityParam)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, scope) {
		return
	}
	hq := histQuery{sinceID: hp.sinceID, entityID: hp.entityID, hasEntity: hp.hasEntity,
		win: newWindow(hp.from, hp.hasFrom, hp.to, hp.hasTo)}
	if s.siteAccess == retailcrm.SiteAccessSelective {
		hq.visible = s.siteVisibleLocked
	}
	total, page := log.page(hq, (hp.pageNo-1)*hp.limit, hp.limit)
	_, _, pagination := pageBounds(total, hp.limit, hp.pageNo)
	s.writeHistoryLocked(w, page, entity, key, pagination)
}

// historyRequest is what a /history request asks for.
type historyRequest struct {
	limit, pageNo     int
	sinceID, entityID int64
	hasEntity         bool
	from, to          time.Time
	hasFrom, hasTo    bool
}

// historyParams reads a /history request's parameters, entityParam naming
// its entity filter; when they are wrong it answers the request itself and
// reports false.
func (s *Server) historyParams(w http.ResponseWriter, r *http.Request, entityParam string) (historyRequest, bool) {
	var hp historyRequest
	q := r.URL.Query()
	if q.Has("filter[sinceId]") && q.Has("page") {
		// Since 15.05.23 RetailCRM rejects this combination.
		writeError(w, http.StatusBadRequest, msgInputErrors, map[string]string{
			"page": "The parameters page and filter[sinceId] cannot be used together. Move filter[sinceId] instead of page.",
		})
		return hp, false
	}
	var perr *paramError
	hp.limit, perr = limitParam(q)
	if perr == nil {
		hp.pageNo, perr = pageParam(q)
	}
	if perr == nil {
		hp.sinceID, _, perr = intParam(q, "filter[sinceId]")
	}
	if perr == nil {
		hp.entityID, hp.hasEntity, perr = intParam(q, entityParam)
	}
	if perr == nil {
		hp.from, hp.hasFrom, perr = timeParam(q, "filter[startDate]", false, s.loc)
	}
	if perr == nil {
		hp.to, hp.hasTo, perr = timeParam(q, "filter[endDate]", true, s.loc)
	}
	if perr != nil {
		writeParamError(w, perr)
		return hp, false
	}
	return hp, true
}

// writeHistoryLocked answers a /history request with a page of records as
// the key reads them.
func (s *Server) writeHistoryLocked(w http.ResponseWriter, page []*histRec, entity, key string, pagination map[string]any) {
	records := make([]map[string]any, 0, len(page))
	for _, h := range page {
		records = append(records, h.encode(entity, key))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success":     true,
		"generatedAt": s.now().Format(retailcrm.LayoutDateTime),
		"history":     records,
		"pagination":  pagination,
	})
}

func (s *Server) handleOrderStatuses(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	ids, perr := intListParam(q, "ids[]")
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	ext := q["externalIds[]"]
	if len(ids)+len(ext) > 500 {
		writeParamError(w, badParam("ids", "Too many ids, 500 at most."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, "order_read") {
		return
	}
	var orders []*retailcrm.Order
	for _, id := range ids {
		orders = append(orders, s.orders[id])
	}
	for _, e := range ext {
		for _, id := range s.byExternal[e] {
			orders = append(orders, s.orders[id])
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "orders": s.orderStatusesLocked(orders)})
}

// orderStatusesLocked is the answer of /orders/statuses for orders, in
// their order: those that exist and the key may see.
func (s *Server) orderStatusesLocked(orders []*retailcrm.Order) []map[string]any {
	out := []map[string]any{}
	for _, o := range orders {
		if o == nil || !s.siteVisibleLocked(o.Site) {
			continue
		}
		m := map[string]any{"id": o.ID, "status": o.Status, "group": s.statuses[o.Status].Group}
		putStr(m, "externalId", o.ExternalID)
		out = append(out, m)
	}
	return out
}

// orderOrAnswerLocked finds the order of the {id} path segment (as
// findOrderLocked) that the key may see; otherwise it answers 400 or 404
// itself and reports false.
func (s *Server) orderOrAnswerLocked(w http.ResponseWriter, idSeg, by, site string) (*retailcrm.Order, bool) {
	o, perr := s.findOrderLocked(idSeg, by, site)
	if perr != nil {
		writeParamError(w, perr)
		return nil, false
	}
	if o == nil || !s.siteVisibleLocked(o.Site) {
		writeError(w, http.StatusNotFound, "Not found", nil)
		return nil, false
	}
	return o, true
}

// findOrderLocked resolves the {id} path segment by=id or by=externalId
// (the default), within site when given.
func (s *Server) findOrderLocked(idSeg, by, site string) (*retailcrm.Order, *paramError) {
	switch by {
	case "id":
		id, err := strconv.ParseInt(idSeg, 10, 64)
		if err != nil {
			return nil, nil
		}
		o := s.orders[id]
		if o == nil || (site != "" && o.Site != site) {
			return nil, nil
		}
		return o, nil
	case "", "externalId":
		// An externalId is unique only within a store; without site the
		// lowest id wins.
		for _, id := range s.byExternal[idSeg] {
			if o := s.orders[id]; site == "" || o.Site == site {
				return o, nil
			}
		}
		return nil, nil
	}
	return nil, badParam("by", "The value you selected is not a valid choice (id, externalId).")
}

func (s *Server) handleOrderGet(w http.ResponseWriter, r *http.Request, idSeg string) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, "order_read") {
		return
	}
	o, found := s.orderOrAnswerLocked(w, idSeg, q.Get("by"), q.Get("site"))
	if !found {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "order": orderListJSON(o)})
}
