package sync

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// CorporateReader is implemented by a RetailCRM client that reads corporate
// customers (*retailcrm.Client does). Without it, companies change only
// with their orders.
type CorporateReader interface {
	CorporateCustomersHistory(ctx context.Context, f retailcrm.HistoryFilter) (*retailcrm.CorporateHistoryPage, error)
	CorporateCustomersByID(ctx context.Context, ids []int64) ([]retailcrm.CorporateCustomer, error)
	CorporateCompanies(ctx context.Context, id int64, site string) ([]retailcrm.Company, error)
}

// followsCorporate reports whether pull follows the corporate customers
// history: companies are on and the client can read it.
func (e *Engine) followsCorporate() bool {
	_, ok := e.rc.Unwrap().(CorporateReader)
	return ok && e.companiesOn()
}

// corporateWant is what a page of corporate history asks of one corporate
// customer's company: its name again, and the legal details of the
// companies named (all of them with all set).
type corporateWant struct {
	companies []int64
	all       bool
}

// pullCorporate carries changes of corporate customers made without an
// order (a new name, a company's corrected INN, KPP or legal name) to
// their Bitrix24 companies (docs/architecture.md, Pull):
// /customers-corporate/history from its own cursor, 100 records a page.
// A corporate customer without a company link is left alone: its first
// synced order creates the company from current data.
func (e *Engine) pullCorporate(ctx context.Context, start time.Time) error {
	if !e.followsCorporate() {
		return nil
	}
	cursor, _, err := e.store.CursorInt(ctx, store.CursorCorporateHistory)
	if err != nil {
		return fmt.Errorf("reading the corporate customers history cursor: %w", err)
	}
	_, err = followHistory(ctx, e, start, cursor, historyStream[*retailcrm.CorporateHistoryPage, retailcrm.CorporateHistoryRecord]{
		name: "corporate customers history",
		read: e.rc.CorporateCustomersHistory,
		recs: func(p *retailcrm.CorporateHistoryPage) ([]retailcrm.CorporateHistoryRecord, int64) {
			return p.History, p.Pagination.TotalCount
		},
		id: func(r retailcrm.CorporateHistoryRecord) int64 { return r.ID },
		page: func(ctx context.Context, recs []retailcrm.CorporateHistoryRecord, next, _ int64) (int64, error) {
			err := e.syncCorporates(ctx, corporateWants(recs), &next)
			return next, err
		},
	})
	return err
}

// corporateWants reads a page of corporate history: which corporate
// customers changed, and which of their companies. Only the record names
// of the recorded history are certain (docs/api-notes.md), so any record
// makes the name be checked, and any record about a company (company,
// main_company, company.*) makes that company's legal details be checked.
// Created records need nothing (the first order brings the customer with
// current data), nor do deleted ones (nothing is deleted in Bitrix24) or
// the echoes of crmsync's own writes.
func corporateWants(recs []retailcrm.CorporateHistoryRecord) map[int64]*corporateWant {
	wants := map[int64]*corporateWant{}
	for i := range recs {
		r := &recs[i]
		id := r.CustomerID()
		if id == 0 || r.OwnChange() || r.Created || r.Deleted {
			continue
		}
		w := wants[id]
		if w == nil {
			w = &corporateWant{}
			wants[id] = w
		}
		if r.Field != "company" && r.Field != "main_company" && !strings.HasPrefix(r.Field, "company.") {
			continue
		}
		switch {
		case r.Company != nil && r.Company.ID != 0:
			w.companies = append(w.companies, r.Company.ID)
		case r.NewValue.ID() != 0:
			w.companies = append(w.companies, r.NewValue.ID())
		default:
			w.all = true
		}
	}
	return wants
}

// syncCorporates brings the companies of linked corporate customers up to
// date with their current data: the name (on a company crmsync made; one
// people made keeps its own) and the legal details of the companies wanted
// (add-only: a missing requisite or value is written, nothing is cleared).
// The links, failures (kind "corporate") and the cursor, when given, are
// committed in one transaction.
func (e *Engine) syncCorporates(ctx context.Context, wants map[int64]*corporateWant, cursor *int64) error {
	keys := make([]string, 0, len(wants))
	for id := range wants {
		keys = append(keys, strconv.FormatInt(id, 10))
	}
	links, err := e.store.CompanyLinks(ctx, keys)
	if err != nil {
		return fmt.Errorf("reading company links: %w", err)
	}
	var ids, settled []int64
	for _, id := range slices.Sorted(maps.Keys(wants)) {
		if l, ok := links[strconv.FormatInt(id, 10)]; ok && l.CompanyID != 0 {
			ids = append(ids, id)
		} else {
			settled = append(settled, id)
		}
	}
	var comps []*companyState
	if len(ids) > 0 {
		custs, err := e.rc.CorporateCustomersByID(ctx, ids)
		if err != nil {
			return fmt.Errorf("reading %d RetailCRM corporate customers: %w", len(ids), err)
		}
		e.sum.CustomersSeen += len(custs)
		found := map[int64]bool{}
		byKey := map[string]*companyState{}
		for i := range custs {
			c := &custs[i]
			found[c.ID] = true
			cs, err := e.desireCorporate(ctx, c, wants[c.ID])
			if err != nil {
				return err
			}
			byKey[cs.key] = cs
			comps = append(comps, cs)
		}
		for _, id := range ids {
			if !found[id] {
				settled = append(settled, id) // deleted or merged: nothing to follow
			}
		}
		if err := e.linkCompanies(ctx, byKey); err != nil {
			return err
		}
		slices.SortFunc(comps, func(a, b *companyState) int { return strings.Compare(a.key, b.key) })
		if err := e.writeCorporates(ctx, comps); err != nil {
			return err
		}
	}
	return e.commitCorporates(ctx, comps, settled, cursor)
}

// desireCorporate is the company a corporate customer should have, as its
// orders would make it (desireCompany): named by its nickName, else its
// main company; with the legal details of the wanted companies. A company
// whose INN or KPP cannot be one fails the customer with the reason.
func (e *Engine) desireCorporate(ctx context.Context, c *retailcrm.CorporateCustomer, w *corporateWant) (*companyState, error) {
	key := strconv.FormatInt(c.ID, 10)
	cs := &companyState{key: key, corporate: c.ID, linked: map[int64]bool{}}
	cs.title = clean(c.NickName)
	if cs.title == "" && c.MainCompany != nil {
		cs.title = clean(c.MainCompany.Name)
	}
	if w == nil || len(w.companies) == 0 && !w.all {
		if cs.title == "" {
			cs.title = "Corporate customer " + key
		}
		cs.title = esc(cs.title)
		return cs, nil
	}
	companies, err := e.rc.CorporateCompanies(ctx, c.ID, c.Site)
	if err != nil {
		return nil, fmt.Errorf("reading the companies of RetailCRM corporate customer %d: %w", c.ID, err)
	}
	for _, co := range companies {
		if !w.all && !slices.Contains(w.companies, co.ID) || co.Contragent == nil || strings.TrimSpace(co.Contragent.INN) == "" {
			continue
		}
		r, err := requisiteOf(fmt.Sprintf("corporate customer %d, company %d", c.ID, co.ID), co.Contragent)
		if err != nil {
			cs.err = err
			break
		}
		if !slices.ContainsFunc(cs.reqs, func(q *requisiteState) bool { return q.key() == r.key() }) {
			cs.reqs = append(cs.reqs, r)
		}
		if cs.title == "" {
			cs.title = r.q.Name
		}
	}
	if cs.title == "" {
		cs.title = "Corporate customer " + key
	}
	cs.title = esc(cs.title)
	return cs, nil
}

// writeCorporates looks up the companies whose name or legal details
// differ from their links and writes what they lack, in rounds as
// writeCompanies does. A company gone from Bitrix24 loses its link: the
// customer's next order creates it again.
func (e *Engine) writeCorporates(ctx context.Context, comps []*companyState) error {
	var work []*companyState
	for _, c := range comps {
		if c.err == nil && c.needWork {
			work = append(work, c)
		}
	}
	if len(work) == 0 {
		return nil
	}
	if err := e.lookupCompanies(ctx, work); err != nil {
		return err
	}
	var live []*companyState
	for _, c := range work {
		if c.id == 0 {
			c.stale = true
			continue
		}
		live = append(live, c)
	}
	if err := e.companyRounds(ctx, live, false, "k"); err != nil {
		return err
	}
	for _, c := range live {
		if c.err == nil && pendingCompany(c) {
			c.err = fmt.Errorf("bitrix: company %s: writes not done", c.key)
		}
		e.rememberCompany(c)
	}
	return nil
}

// commitCorporates stores the companies' links, clears the failures of the
// settled and the written corporate customers and records those of the
// rest, with the cursor when given.
func (e *Engine) commitCorporates(ctx context.Context, comps []*companyState, settled []int64, cursor *int64) error {
	var alerts []store.Failure
	parked := map[*companyState]bool{}
	err := e.store.Tx(ctx, func(tx *store.Tx) error {
		alerts = alerts[:0]
		for _, id := range settled {
			if err := tx.ClearFailure(ctx, "corporate", strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		for _, c := range comps {
			switch {
			case c.stale:
				delete(e.companies.done, c.key)
				if err := tx.DeleteCompanyLink(ctx, c.key); err != nil {
					return err
				}
			case e.companies.done[c.key] != nil:
				if err := tx.PutCompanyLink(ctx, *e.companies.done[c.key]); err != nil {
					return err
				}
			}
			if c.err == nil {
				if err := tx.ClearFailure(ctx, "corporate", c.key); err != nil {
					return err
				}
				continue
			}
			f, now, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "corporate", Key: c.key, Error: reason(c.err),
				MaxAttempts: e.opts.MaxAttempts})
			if err != nil {
				return err
			}
			parked[c] = f.Parked
			if now {
				alerts = append(alerts, f)
			}
			if _, err := tx.AddEvent(ctx, store.Event{RunID: e.runID, Source: store.SourceRetailCRM,
				SourceID: "corporate:" + c.key, Action: "parked", Result: store.ResultFailed, Message: reason(c.err)}); err != nil {
				return err
			}
		}
		if cursor != nil {
			return tx.SetCursorInt(ctx, store.CursorCorporateHistory, *cursor)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	for _, c := range comps {
		if c.err != nil {
			e.report.Parked = append(e.report.Parked, ParkedItem{Kind: "corporate", Key: c.key,
				Reason: reason(c.err), WaitingForRetry: !parked[c]})
			e.sum.countFailure(parked[c])
		}
	}
	if len(alerts) > 0 {
		e.alert(ctx, alerts)
	}
	return nil
}

// retryCorporates retries the failed corporate customers that are due,
// with the legal details of all their companies.
func (e *Engine) retryCorporates(ctx context.Context) error {
	if !e.followsCorporate() {
		return nil
	}
	_, ids, err := e.dueIDs(ctx, "corporate")
	if err != nil {
		return err
	}
	wants := map[int64]*corporateWant{}
	for _, id := range ids {
		wants[id] = &corporateWant{all: true}
	}
	if len(wants) == 0 {
		return nil
	}
	return e.syncCorporates(ctx, wants, nil)
}
