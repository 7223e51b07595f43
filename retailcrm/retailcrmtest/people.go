package retailcrmtest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/retailcrm"
)

// People and organisations: users, corporate customers with their
// companies and contact persons, customer merges. Shapes follow the
// recorded answers (testdata/retailcrm: users_*.json,
// customers_corporate_*.json, customers_history.json); what no recording
// shows is noted in docs/api-notes.md, "Users, corporate customers, merges
// and deletions".

// peopleState is the part of the fake's state this file owns.
type peopleState struct {
	users      map[int64]*retailcrm.User
	nextUserID int64
	corporates map[int64]*retailcrm.CorporateCustomer
	corpHist   histLog
	// ids of companies and of contact-person links, account-wide
	nextCompanyID, nextContactID int64
	// mergedInto remembers where merged customers went.
	mergedInto map[int64]int64
}

func newPeopleState() peopleState {
	return peopleState{
		users: map[int64]*retailcrm.User{}, nextUserID: 1,
		corporates: map[int64]*retailcrm.CorporateCustomer{}, corpHist: newHistLog(),
		nextCompanyID: 1, nextContactID: 1, mergedInto: map[int64]int64{},
	}
}

// AddUser stores a user (id 0 gets the next free id; createdAt defaults to
// now) and returns it as stored.
func (s *Server) AddUser(u retailcrm.User) retailcrm.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.people
	u.ID = newID(u.ID, &p.nextUserID, func(id int64) bool { return p.users[id] != nil })
	if u.CreatedAt.IsZero() {
		u.CreatedAt = retailcrm.NewDateTime(s.now())
	}
	u.Groups = slices.Clone(u.Groups)
	p.users[u.ID] = &u
	return u
}

// User returns a copy of the stored user.
func (s *Server) User(id int64) (retailcrm.User, bool) {
	return storedCopy(s, s.people.users, id, cloneUser)
}

func userJSON(u *retailcrm.User) map[string]any {
	groups := make([]map[string]any, 0, len(u.Groups))
	for _, g := range u.Groups {
		m := map[string]any{"id": g.ID}
		putStr(m, "name", g.Name)
		putStr(m, "code", g.Code)
		groups = append(groups, m)
	}
	m := map[string]any{
		"id": u.ID, "active": u.Active, "online": u.Online, "isAdmin": u.IsAdmin, "isManager": u.IsManager,
		"groups": groups,
	}
	putDate(m, "createdAt", u.CreatedAt)
	putStrs(m, "email", u.Email, "firstName", u.FirstName, "lastName", u.LastName, "patronymic", u.Patronymic,
		"position", u.Position, "phone", u.Phone, "status", u.Status)
	return m
}

// boolParam reads a numeric boolean filter (1 or 0, as the official clients
// send them).
func boolParam(q url.Values, name string) (v, has bool, perr *paramError) {
	switch q.Get(name) {
	case "":
		return false, false, nil
	case "1":
		return true, true, nil
	case "0":
		return false, true, nil
	}
	return false, false, badParam(name, "This value is not valid.")
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	limit, perr := limitParam(q)
	var pageNo int
	var active, manager, hasActive, hasManager bool
	if perr == nil {
		pageNo, perr = pageParam(q)
	}
	if perr == nil {
		active, hasActive, perr = boolParam(q, "filter[active]")
	}
	if perr == nil {
		manager, hasManager, perr = boolParam(q, "filter[isManager]")
	}
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	email := strings.TrimSpace(q.Get("filter[email]"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, retailcrm.ScopeUserRead) {
		return
	}
	var match []*retailcrm.User
	for _, id := range slices.Sorted(maps.Keys(s.people.users)) {
		u := s.people.users[id]
		if (hasActive && u.Active != active) || (hasManager && u.IsManager != manager) ||
			(email != "" && !strings.EqualFold(u.Email, email)) {
			continue
		}
		match = append(match, u)
	}
	from, to, pagination := pageBounds(len(match), limit, pageNo)
	users := make([]map[string]any, 0, to-from)
	for _, u := range match[from:to] {
		users = append(users, userJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "pagination": pagination, "users": users})
}

func (s *Server) handleUserGet(w http.ResponseWriter, _ *http.Request, idSeg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, retailcrm.ScopeUserRead) {
		return
	}
	id, err := strconv.ParseInt(idSeg, 10, 64)
	u := s.people.users[id]
	if err != nil || u == nil {
		writeError(w, http.StatusNotFound, "Not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "user": userJSON(u)})
}

// handleCustomers answers GET /api/v5/customers: individual customers, by
// filter[ids][] or all, in id order. Merged and deleted customers are gone.
func (s *Server) handleCustomers(w http.ResponseWriter, r *http.Request, _ string) {
	serveByIDs(s, w, r, "customers", func() map[int64]*retailcrm.Customer { return s.customers },
		func(c *retailcrm.Customer) string { return c.Site }, customerJSON)
}

// serveByIDs answers a list endpoint of the entities all returns, by
// filter[ids][] or all, in id order: those of a store the key may see, each
// as encode renders it, under name.
func serveByIDs[T any](s *Server, w http.ResponseWriter, r *http.Request, name string, all func() map[int64]*T,
	site func(*T) string, encode func(*T) map[string]any) {
	limit, pageNo, ids, perr := listParams(r.URL.Query())
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, retailcrm.ScopeCustomerRead) {
		return
	}
	byID := all()
	var match []*T
	for _, id := range selectIDs(ids, byID) {
		if e := byID[id]; s.siteVisibleLocked(site(e)) {
			match = append(match, e)
		}
	}
	from, to, pagination := pageBounds(len(match), limit, pageNo)
	out := make([]map[string]any, 0, to-from)
	for _, e := range match[from:to] {
		out = append(out, encode(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "pagination": pagination, name: out})
}

// listParams reads limit, page and filter[ids][] of a list endpoint.
func listParams(q url.Values) (limit, pageNo int, ids []int64, perr *paramError) {
	if limit, perr = limitParam(q); perr != nil {
		return
	}
	if pageNo, perr = pageParam(q); perr != nil {
		return
	}
	ids, perr = intListParam(q, "filter[ids][]")
	return
}

// selectIDs returns the ids of m that ids names (all when empty), sorted.
func selectIDs[T any](ids []int64, m map[int64]*T) []int64 {
	if len(ids) == 0 {
		return slices.Sorted(maps.Keys(m))
	}
	var out []int64
	for _, id := range ids {
		if m[id] != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// AddCorporateCustomer stores a corporate customer as another integration
// would create it through the API, and writes its created record with a
// full snapshot (companies and contact persons included, as recorded). Its
// id comes from the customers' sequence (the recorded ids interleave with
// individual customers'). Companies and contact links get ids; the first
// company is the main one unless one is marked; a contact person with
// customer id 0 is created as an individual customer; a contact without
// companies acts for the main company.
func (s *Server) AddCorporateCustomer(c retailcrm.CorporateCustomer) retailcrm.CorporateCustomer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *cloneCorporate(s.addCorporateLocked(c, actor{source: retailcrm.SourceAPI, key: otherIntegrationKey}))
}

func (s *Server) addCorporateLocked(in retailcrm.CorporateCustomer, who actor) *retailcrm.CorporateCustomer {
	p := &s.people
	c := cloneCorporate(&in)
	// Corporate and individual customers share one id space.
	c.ID = newID(c.ID, &s.nextCustID, func(id int64) bool { return s.customers[id] != nil || p.corporates[id] != nil })
	c.Type = retailcrm.CustomerTypeCorporate
	if c.Site == "" {
		c.Site = s.opts.Sites[0]
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = retailcrm.NewDateTime(s.now())
	}
	main := -1
	for i := range c.Companies {
		s.numberCompanyLocked(&c.Companies[i], c.CreatedAt)
		if c.Companies[i].IsMain && main < 0 {
			main = i
		}
	}
	if main < 0 && len(c.Companies) > 0 {
		main = 0
	}
	for i := range c.Companies {
		c.Companies[i].IsMain = i == main
	}
	c.MainCompany = nil
	if main >= 0 {
		c.MainCompany = &retailcrm.Company{ID: c.Companies[main].ID, Name: c.Companies[main].Name}
	}
	for i := range c.CustomerContacts {
		ct := &c.CustomerContacts[i]
		person := ct.Customer
		if person == nil {
			person = &retailcrm.Customer{}
		}
		stored := s.customers[person.ID]
		if stored == nil {
			stored = s.addCustomerLocked(*person, who)
		}
		ct.Customer = &retailcrm.Customer{ID: stored.ID, ExternalID: stored.ExternalID, Site: stored.Site}
		if ct.ID == 0 {
			ct.ID = p.nextContactID
		}
		p.nextContactID = max(p.nextContactID, ct.ID+1)
		if len(ct.Companies) == 0 && c.MainCompany != nil {
			ct.Companies = []retailcrm.ContactCompany{{Company: &retailcrm.Company{ID: c.MainCompany.ID, Name: c.MainCompany.Name}}}
		}
		for j := range ct.Companies {
			if ct.Companies[j].ID == 0 {
				ct.Companies[j].ID = p.nextContactID
				p.nextContactID++
			}
		}
	}
	mainCt := -1
	for i := range c.CustomerContacts {
		if c.CustomerContacts[i].IsMain && mainCt < 0 {
			mainCt = i
		}
	}
	if mainCt < 0 && len(c.CustomerContacts) > 0 {
		mainCt = 0
	}
	c.MainCustomerContact = nil
	for i := range c.CustomerContacts {
		c.CustomerContacts[i].IsMain = i == mainCt
	}
	if mainCt >= 0 {
		ct := c.CustomerContacts[mainCt]
		ct.Customer = cloneCustomer(ct.Customer)
		ct.Companies = slices.Clone(ct.Companies)
		c.MainCustomerContact = &ct
	}
	p.corporates[c.ID] = c
	p.corpHist.add(histRec{
		at: s.now(), entityID: c.ID,
		source: who.source, userID: who.userID, byKey: who.key,
		created: true, field: "id", old: nil, new: c.ID,
		site: c.Site, snapshot: rawJSON(corporateJSON(c, true)),
	})
	return c
}

// numberCompanyLocked gives a new company its id and creation date.
func (s *Server) numberCompanyLocked(co *retailcrm.Company, at retailcrm.DateTime) {
	p := &s.people
	if co.ID == 0 {
		co.ID = p.nextCompanyID
	}
	p.nextCompanyID = max(p.nextCompanyID, co.ID+1)
	if co.CreatedAt.IsZero() {
		co.CreatedAt = at
	}
	co.Active = true
}

// AddCompany adds a company to a corporate customer as a manager would
// (source "user"), writing the "company" record the recorded history shows:
// newValue {id, name}, the company in full beside it.
func (s *Server) AddCompany(customerID int64, co retailcrm.Company) (retailcrm.Company, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.people.corporates[customerID]
	if c == nil {
		return retailcrm.Company{}, fmt.Errorf("retailcrmtest: no corporate customer %d", customerID)
	}
	co.Contragent = clonePtr(co.Contragent)
	co.IsMain = len(c.Companies) == 0
	s.numberCompanyLocked(&co, retailcrm.NewDateTime(s.now()))
	c.Companies = append(c.Companies, co)
	if co.IsMain {
		c.MainCompany = &retailcrm.Company{ID: co.ID, Name: co.Name}
	}
	s.people.corpHist.add(histRec{
		at: s.now(), entityID: c.ID,
		source: retailcrm.SourceUser, userID: s.opts.UserID,
		field: "company", old: nil, new: map[string]any{"id": co.ID, "name": co.Name},
		site: c.Site, snapshot: rawJSON(map[string]any{"id": c.ID, "site": c.Site}),
		extra: map[string]any{"company": companyJSON(&co)},
	})
	return co, nil
}

// UpdateCorporateCustomer changes a corporate customer's own fields as a
// manager would (source "user"): fn may change NickName and ManagerID (the
// companies change through UpdateCompany). Each changed value is one
// record, named in snake case as the other histories name fields
// ("nick_name", "manager"; the names of corporate records other than the
// recorded ones are UNCONFIRMED, docs/api-notes.md), with the {id, site}
// snapshot. The orders of the customer carry the new name, as RetailCRM
// keeps an order's customer block current.
func (s *Server) UpdateCorporateCustomer(id int64, fn func(*retailcrm.CorporateCustomer)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.people.corporates[id]
	if c == nil {
		return fmt.Errorf("retailcrmtest: no corporate customer %d", id)
	}
	next := cloneCorporate(c)
	fn(next)
	at := s.now()
	rec := func(field string, old, new any) {
		s.people.corpHist.add(histRec{
			at: at, entityID: id, source: retailcrm.SourceUser, userID: s.opts.UserID,
			field: field, old: old, new: new,
			site: c.Site, snapshot: rawJSON(map[string]any{"id": c.ID, "site": c.Site}),
		})
	}
	if next.NickName != c.NickName {
		rec("nick_name", text(c.NickName), text(next.NickName))
		c.NickName = next.NickName
	}
	if next.ManagerID != c.ManagerID {
		rec("manager", idValue(c.ManagerID), idValue(next.ManagerID))
		c.ManagerID = next.ManagerID
	}
	for _, o := range s.orders {
		if o.Customer != nil && o.Customer.Type == retailcrm.CustomerTypeCorporate && o.Customer.ID == id {
			o.Customer = asOrderCustomer(c)
		}
	}
	return nil
}

// UpdateCompany changes a company of a corporate customer as a manager
// would: each changed value (the name, the legal details) is one record
// "company.name" or "company.contragent.<key>" (names UNCONFIRMED, as
// above) with the whole company beside it, as the recorded "company"
// record carries it. Orders placed for the company carry it changed; their
// own contragent stays as it was.
func (s *Server) UpdateCompany(customerID, companyID int64, fn func(*retailcrm.Company)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.people.corporates[customerID]
	if c == nil {
		return fmt.Errorf("retailcrmtest: no corporate customer %d", customerID)
	}
	i := slices.IndexFunc(c.Companies, func(co retailcrm.Company) bool { return co.ID == companyID })
	if i < 0 {
		return fmt.Errorf("retailcrmtest: corporate customer %d has no company %d", customerID, companyID)
	}
	cur := &c.Companies[i]
	next := *cur
	next.Contragent = clonePtr(cur.Contragent)
	fn(&next)
	next.ID, next.IsMain, next.CreatedAt = cur.ID, cur.IsMain, cur.CreatedAt
	type change struct {
		field    string
		old, new string
	}
	var changes []change
	if cur.Name != next.Name {
		changes = append(changes, change{"company.name", cur.Name, next.Name})
	}
	var a, b retailcrm.Contragent
	if cur.Contragent != nil {
		a = *cur.Contragent
	}
	if next.Contragent != nil {
		b = *next.Contragent
	}
	for _, f := range []struct {
		key  string
		a, b string
	}{{"contragent_type", a.Type, b.Type}, {"legal_name", a.LegalName, b.LegalName}, {"legal_address", a.LegalAddress, b.LegalAddress},
		{"inn", a.INN, b.INN}, {"kpp", a.KPP, b.KPP}, {"ogrn", a.OGRN, b.OGRN}, {"ogrnip", a.OGRNIP, b.OGRNIP}} {
		if f.a != f.b {
			changes = append(changes, change{"company.contragent." + f.key, f.a, f.b})
		}
	}
	*cur = next
	if cur.IsMain {
		c.MainCompany = &retailcrm.Company{ID: cur.ID, Name: cur.Name}
	}
	at := s.now()
	for _, ch := range changes {
		s.people.corpHist.add(histRec{
			at: at, entityID: customerID, source: retailcrm.SourceUser, userID: s.opts.UserID,
			field: ch.field, old: text(ch.old), new: text(ch.new),
			site: c.Site, snapshot: rawJSON(map[string]any{"id": c.ID, "site": c.Site}),
			extra: map[string]any{"company": companyJSON(cur)},
		})
	}
	for _, o := range s.orders {
		if o.Company != nil && o.Company.ID == companyID && o.Customer != nil && o.Customer.ID == customerID {
			cp := *cur
			cp.Contragent = clonePtr(cur.Contragent)
			o.Company = &cp
		}
	}
	return nil
}

// CorporateCustomer returns a copy of the stored corporate customer.
func (s *Server) CorporateCustomer(id int64) (retailcrm.CorporateCustomer, bool) {
	return storedCopy(s, s.people.corporates, id, cloneCorporate)
}

// LastCorporateHistoryID returns the id of the newest corporate customer
// history record (0 when none).
func (s *Server) LastCorporateHistoryID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.people.corpHist.lastID()
}

func cloneCorporate(c *retailcrm.CorporateCustomer) *retailcrm.CorporateCustomer {
	cp := *c
	cp.Companies = slices.Clone(c.Companies)
	for i := range cp.Companies {
		cp.Companies[i].Contragent = clonePtr(cp.Companies[i].Contragent)
	}
	cp.CustomerContacts = slices.Clone(c.CustomerContacts)
	for i := range cp.CustomerContacts {
		deepenContact(&cp.CustomerContacts[i])
	}
	cp.MainCompany = clonePtr(c.MainCompany)
	if cp.MainCustomerContact = clonePtr(c.MainCustomerContact); cp.MainCustomerContact != nil {
		deepenContact(cp.MainCustomerContact)
	}
	cp.CustomFields = maps.Clone(c.CustomFields)
	return &cp
}

// deepenContact gives a copied contact person copies of what it points to.
func deepenContact(ct *retailcrm.CorporateContact) {
	ct.Customer = cloneCustomer(ct.Customer)
	ct.Companies = slices.Clone(ct.Companies)
}

func idName(co *retailcrm.Company) map[string]any {
	m := map[string]any{"id": co.ID}
	putStr(m, "name", co.Name)
	return m
}

// contactJSON encodes a contact person; the created record's snapshot
// names only the person (withCompanies false), the list's main contact
// also the companies the person acts for.
func contactJSON(ct *retailcrm.CorporateContact, withCompanies bool) map[string]any {
	m := map[string]any{"id": ct.ID}
	if ct.Customer != nil {
		cm := map[string]any{"id": ct.Customer.ID}
		putStr(cm, "externalId", ct.Customer.ExternalID)
		m["customer"] = cm
	}
	if withCompanies && len(ct.Companies) > 0 {
		list := make([]map[string]any, 0, len(ct.Companies))
		for _, cc := range ct.Companies {
			e := map[string]any{"id": cc.ID}
			if cc.Company != nil {
				e["company"] = idName(cc.Company)
			}
			list = append(list, e)
		}
		m["companies"] = list
	}
	return m
}

// corporateJSON encodes a corporate customer: the list's shape (main
// company and main contact by reference), or with full set the created
// record's (companies with their legal details, every contact person).
func corporateJSON(c *retailcrm.CorporateCustomer, full bool) map[string]any {
	m := map[string]any{
		"type": retailcrm.CustomerTypeCorporate, "id": c.ID, "vip": false, "bad": false,
		"marginSumm": 0, "totalSumm": num(c.TotalSumm), "averageSumm": 0, "ordersCount": c.OrdersCount,
		"personalDiscount": 0, "customFields": customFieldsJSON(c.CustomFields),
	}
	putStrs(m, "externalId", c.ExternalID, "nickName", c.NickName, "site", c.Site)
	putDate(m, "createdAt", c.CreatedAt)
	putID(m, "managerId", c.ManagerID)
	putObj(m, "mainCompany", c.MainCompany, idName)
	if full {
		m["cumulativeDiscount"] = 0
		contacts := make([]map[string]any, 0, len(c.CustomerContacts))
		for i := range c.CustomerContacts {
			contacts = append(contacts, contactJSON(&c.CustomerContacts[i], false))
		}
		m["customerContacts"] = contacts
		companies := make([]map[string]any, 0, len(c.Companies))
		for i := range c.Companies {
			co := companyJSON(&c.Companies[i])
			delete(co, "isMain")
			putDate(co, "createdAt", c.Companies[i].CreatedAt)
			co["marginSumm"], co["totalSumm"], co["averageSumm"], co["ordersCount"] = 0, 0, 0, 0
			companies = append(companies, co)
		}
		m["companies"] = companies
	} else {
		m["tags"] = []any{}
		if c.MainCustomerContact != nil {
			m["mainCustomerContact"] = contactJSON(c.MainCustomerContact, true)
		}
	}
	return m
}

// asOrderCustomer is the corporate customer as an order's customer block.
func asOrderCustomer(c *retailcrm.CorporateCustomer) *retailcrm.Customer {
	return &retailcrm.Customer{Type: retailcrm.CustomerTypeCorporate, ID: c.ID, ExternalID: c.ExternalID, Site: c.Site,
		NickName: c.NickName, ManagerID: c.ManagerID, CreatedAt: c.CreatedAt, OrdersCount: c.OrdersCount, TotalSumm: c.TotalSumm}
}

// corporateOrderLocked completes an order of a corporate customer as
// RetailCRM keeps it: customer is the corporate customer (created when
// unknown), contact the person (an individual customer, created when
// unknown), company one of the customer's companies (the main one unless
// the order names another), contragent the company's legal details unless
// the order has its own.
func (s *Server) corporateOrderLocked(o *retailcrm.Order, who actor) {
	c := s.people.corporates[o.Customer.ID]
	if c == nil {
		c = s.addCorporateLocked(retailcrm.CorporateCustomer{ID: o.Customer.ID, NickName: o.Customer.NickName, Site: o.Site}, who)
	}
	c.OrdersCount++
	c.TotalSumm = c.TotalSumm.Add(o.TotalSumm)
	o.Customer = asOrderCustomer(c)
	if o.Contact != nil {
		person := s.customers[o.Contact.ID]
		if person == nil {
			person = s.addCustomerLocked(*o.Contact, who)
		}
		o.Contact = cloneCustomer(person)
	}
	var company *retailcrm.Company
	for i := range c.Companies {
		if o.Company != nil && c.Companies[i].ID == o.Company.ID || o.Company == nil && c.Companies[i].IsMain {
			company = &c.Companies[i]
		}
	}
	o.Company = nil
	if company != nil {
		cp := *company
		cp.Contragent = clonePtr(company.Contragent)
		o.Company = &cp
		if o.Contragent == nil {
			o.Contragent = clonePtr(company.Contragent)
		}
	}
}

func (s *Server) handleCorporates(w http.ResponseWriter, r *http.Request, _ string) {
	serveByIDs(s, w, r, "customersCorporate", func() map[int64]*retailcrm.CorporateCustomer { return s.people.corporates },
		func(c *retailcrm.CorporateCustomer) string { return c.Site },
		func(c *retailcrm.CorporateCustomer) map[string]any { return corporateJSON(c, false) })
}

func (s *Server) handleCorporateHistory(w http.ResponseWriter, r *http.Request, key string) {
	s.serveHistory(w, r, key, retailcrm.ScopeCustomerRead, "customer", "filter[customerId]", &s.people.corpHist)
}

// handleCorporateCompanies answers GET
// /api/v5/customers-corporate/{id}/companies: by=id or by=externalId (the
// default), within site when given.
func (s *Server) handleCorporateCompanies(w http.ResponseWriter, r *http.Request, idSeg string) {
	q := r.URL.Query()
	limit, pageNo, ids, perr := listParams(q)
	by := q.Get("by")
	if perr == nil && by != "" && by != "id" && by != "externalId" {
		perr = badParam("by", "The value you selected is not a valid choice (id, externalId).")
	}
	if perr != nil {
		writeParamError(w, perr)
		return
	}
	site := q.Get("site")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.requireScopeLocked(w, retailcrm.ScopeCustomerRead) {
		return
	}
	var c *retailcrm.CorporateCustomer
	for _, id := range slices.Sorted(maps.Keys(s.people.corporates)) {
		cand := s.people.corporates[id]
		if (by == "id" && strconv.FormatInt(cand.ID, 10) == idSeg || by != "id" && cand.ExternalID != "" && cand.ExternalID == idSeg) &&
			(site == "" || cand.Site == site) {
			c = cand
			break
		}
	}
	if c == nil || !s.siteVisibleLocked(c.Site) {
		writeError(w, http.StatusNotFound, "Not found", nil)
		return
	}
	var match []*retailcrm.Company
	for i := range c.Companies {
		if len(ids) == 0 || slices.Contains(ids, c.Companies[i].ID) {
			match = append(match, &c.Companies[i])
		}
	}
	from, to, pagination := pageBounds(len(match), limit, pageNo)
	out := make([]map[string]any, 0, to-from)
	for _, co := range match[from:to] {
		m := companyJSON(co)
		m["createdAt"] = co.CreatedAt.String()
		ref := map[string]any{"id": c.ID, "site": c.Site, "type": retailcrm.CustomerTypeCorporate}
		putStr(ref, "externalId", c.ExternalID)
		m["customer"] = ref
		m["marginSumm"], m["totalSumm"], m["averageSumm"], m["ordersCount"], m["costSumm"] = 0, 0, 0, 0, 0
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "companies": out, "pagination": pagination})
}

// MergeCustomers merges the individual customer from into into, as a
// manager's merge in RetailCRM does (POST /api/v5/customers/combine keeps
// the resulting customer's data and deletes the others): from's orders
// move to into, each with an order history record of source "combine" and
// field "customer" ("contact" where from was a corporate order's contact
// person); into gains from's order count and sums and keeps its own data;
// from is deleted, written as a customers history record deleted: true,
// source "combine", field "id", from's full snapshot and combinedTo {id,
// externalId, site} of into. From then on from is gone from /customers and
// Customer.
func (s *Server) MergeCustomers(from, into int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.customers[from], s.customers[into]
	switch {
	case from == into:
		return fmt.Errorf("retailcrmtest: merging customer %d into itself", from)
	case a == nil:
		return fmt.Errorf("retailcrmtest: no customer %d", from)
	case b == nil:
		return fmt.Errorf("retailcrmtest: no customer %d", into)
	}
	at := s.now()
	ref := func(c *retailcrm.Customer) map[string]any {
		m := map[string]any{"id": c.ID, "site": c.Site}
		putStr(m, "externalId", c.ExternalID)
		return m
	}
	for _, id := range slices.Sorted(maps.Keys(s.orders)) {
		o := s.orders[id]
		for _, slot := range []struct {
			field string
			c     **retailcrm.Customer
		}{{"customer", &o.Customer}, {"contact", &o.Contact}} {
			if *slot.c == nil || (*slot.c).ID != from || (*slot.c).Type == retailcrm.CustomerTypeCorporate {
				continue
			}
			*slot.c = cloneCustomer(b)
			s.orderHist.add(histRec{
				at: at, entityID: o.ID, source: retailcrm.SourceCombine,
				field: slot.field, old: ref(a), new: ref(b),
				site: o.Site, snapshot: rawJSON(partialJSON(o)),
			})
		}
	}
	for _, c := range s.people.corporates {
		for i := range c.CustomerContacts {
			if ct := c.CustomerContacts[i].Customer; ct != nil && ct.ID == from {
				c.CustomerContacts[i].Customer = &retailcrm.Customer{ID: b.ID, ExternalID: b.ExternalID, Site: b.Site}
			}
		}
		if m := c.MainCustomerContact; m != nil && m.Customer != nil && m.Customer.ID == from {
			m.Customer = &retailcrm.Customer{ID: b.ID, ExternalID: b.ExternalID, Site: b.Site}
		}
	}
	b.OrdersCount += a.OrdersCount
	b.TotalSumm = b.TotalSumm.Add(a.TotalSumm)
	delete(s.customers, from)
	s.people.mergedInto[from] = into
	combined := map[string]any{"id": b.ID, "site": b.Site}
	putStr(combined, "externalId", b.ExternalID)
	s.custHist.add(histRec{
		at: at, entityID: from, source: retailcrm.SourceCombine,
		deleted: true, field: "id", old: from, new: nil,
		site: a.Site, snapshot: rawJSON(customerJSON(a)),
		extra: map[string]any{"combinedTo": combined},
	})
	return nil
}

// MergedInto returns the customer a merged customer went into.
func (s *Server) MergedInto(id int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	into, ok := s.people.mergedInto[id]
	return into, ok
}

// Users returns copies of the stored users in id order.
func (s *Server) Users() []retailcrm.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]retailcrm.User, 0, len(s.people.users))
	for _, u := range s.people.users {
		cp := *u
		cp.Groups = slices.Clone(u.Groups)
		out = append(out, cp)
	}
	slices.SortFunc(out, func(a, b retailcrm.User) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
