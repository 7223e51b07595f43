package retailcrmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sort"

	"github.com/crmsync/crmsync/retailcrm"
)

// editable lists the order fields the fake's edit accepts and how each
// applies; anything else is rejected so a client bug does not pass
// silently.
var editable = map[string]func(o *retailcrm.Order, raw json.RawMessage) error{
	"status":          setString(func(o *retailcrm.Order) *string { return &o.Status }),
	"statusComment":   setString(func(o *retailcrm.Order) *string { return &o.StatusComment }),
	"managerComment":  setString(func(o *retailcrm.Order) *string { return &o.ManagerComment }),
	"customerComment": setString(func(o *retailcrm.Order) *string { return &o.CustomerComment }),
	"firstName":       setString(func(o *retailcrm.Order) *string { return &o.FirstName }),
	"lastName":        setString(func(o *retailcrm.Order) *string { return &o.LastName }),
	"patronymic":      setString(func(o *retailcrm.Order) *string { return &o.Patronymic }),
	"phone":           setString(func(o *retailcrm.Order) *string { return &o.Phone }),
	"email":           setString(func(o *retailcrm.Order) *string { return &o.Email }),
	"orderMethod":     setString(func(o *retailcrm.Order) *string { return &o.OrderMethod }),
	"managerId": func(o *retailcrm.Order, raw json.RawMessage) error {
		return json.Unmarshal(raw, &o.ManagerID)
	},
	"customFields": func(o *retailcrm.Order, raw json.RawMessage) error {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if o.CustomFields == nil {
			o.CustomFields = retailcrm.CustomFields{}
		}
		for k, v := range m {
			if string(bytes.TrimSpace(v)) == "null" {
				delete(o.CustomFields, k)
				continue
			}
			o.CustomFields[k] = v
		}
		return nil
	},
}

func setString(field func(*retailcrm.Order) *string) func(*retailcrm.Order, json.RawMessage) error {
	return func(o *retailcrm.Order, raw json.RawMessage) error {
		if string(bytes.TrimSpace(raw)) == "null" {
			*field(o) = ""
			return nil
		}
		return json.Unmarshal(raw, field(o))
	}
}

// handleOrderEdit is POST /api/v5/orders/{id}/edit with a form body.
func (s *Server) handleOrderEdit(w http.ResponseWriter, r *http.Request, idSeg, key string) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		// PHP reads no parameters from another body type.
		writeError(w, http.StatusBadRequest, "Parameter 'order' is missing", nil)
		return
	}
	form := r.PostForm
	orderJSONText := form.Get("order")
	if orderJSONText == "" {
		writeError(w, http.StatusBadRequest, "Parameter 'order' is missing", nil)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(orderJSONText), &fields); err != nil {
		writeError(w, http.StatusBadRequest, "Errors in the entity format", map[string]string{"order": "Invalid JSON."})
		return
	}
	site := form.Get("site")

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, "order_write") {
		return
	}
	if site == "" && len(s.sitesAvail) > 1 {
		writeError(w, http.StatusBadRequest, "Parameter 'site' is missing", nil)
		return
	}
	if site != "" {
		if _, ok := s.sites[site]; !ok || !s.siteVisibleLocked(site) {
			writeError(w, http.StatusForbidden, "Access denied.", map[string]string{"site": fmt.Sprintf("Store %q is not available.", site)})
			return
		}
	}
	o, found := s.orderOrAnswerLocked(w, idSeg, form.Get("by"), site)
	if !found {
		return
	}
	next := cloneOrder(o)
	errs := map[string]string{}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		apply, ok := editable[k]
		if !ok {
			errs[k] = "This field is not editable in the fake."
			continue
		}
		if err := apply(next, fields[k]); err != nil {
			errs[k] = "This value is not valid."
		}
	}
	if _, ok := fields["status"]; ok {
		if _, known := s.statuses[next.Status]; !known {
			errs["status"] = fmt.Sprintf("Status %q does not exist.", next.Status)
		}
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "Order is not loaded", errs)
		return
	}
	if next.Status != o.Status {
		next.StatusUpdatedAt = retailcrm.NewDateTime(s.now())
	}
	s.recordOrderChangesLocked(o, next, actor{source: retailcrm.SourceAPI, key: key})
	s.putOrderLocked(next)
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "id": next.ID, "order": orderListJSON(next)})
}

// APIChanges returns how many history records of order id were written by
// edit calls made with an accepted key (one per changed field).
func (s *Server) APIChanges(id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.orderHist.byEntity[id] {
		h := &s.orderHist.recs[p]
		if h.entityID == id && h.source == retailcrm.SourceAPI && h.byKey != "" && h.byKey != otherIntegrationKey {
			n++
		}
	}
	return n
}
