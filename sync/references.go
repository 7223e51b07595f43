package sync

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/runs"
)

// The RetailCRM dictionaries the engine names things from and reads
// statuses' groups and product statuses' cancelStatus from, by their
// /api/v5/reference/<name>.
const (
	dictStatuses        = "statuses"
	dictProductStatuses = "product-statuses"
	dictDeliveryTypes   = "delivery-types"
	dictPaymentTypes    = "payment-types"
	dictPaymentStatuses = "payment-statuses"
	dictSites           = "sites"
)

// referenceMaxAge is how long a cached dictionary is used before it is read
// again: a renamed status shows in texts within a day, while a pull with
// nothing new reads no dictionary (docs/architecture.md). A code the cache
// does not hold makes its dictionary read at once.
const referenceMaxAge = 24 * time.Hour

// references are the cached dictionaries, by name and code.
type references struct {
	dicts map[string]map[string]store.ReferenceEntry
}

// name is an entry's display name, or its code when the dictionary does
// not know it.
func (r references) name(dict, code string) string {
	if e, ok := r.dicts[dict][code]; ok && e.Name != "" {
		return e.Name
	}
	return code
}

// statusName is an order status's display name, or its code.
func (r references) statusName(code string) string { return r.name(dictStatuses, code) }

// productStatusName is a product status's display name, or its code.
func (r references) productStatusName(code string) string {
	return r.name(dictProductStatuses, code)
}

// dictReader reads one dictionary whole; ok is false when the client
// cannot read it (a narrow client in tests).
type dictReader func(ctx context.Context, e *Engine) (entries []store.ReferenceEntry, ok bool, err error)

// readDict adapts a client method (of C, the client interface it belongs
// to) to a dictReader, one request; entry makes each cached entry.
func readDict[C, T any](read func(c C, ctx context.Context) (map[string]T, error), entry func(code string, v T) store.ReferenceEntry) dictReader {
	return func(ctx context.Context, e *Engine) ([]store.ReferenceEntry, bool, error) {
		m, ok, err := runs.Optional(e.rc, 1, func(c C) (map[string]T, error) { return read(c, ctx) })
		if !ok || err != nil {
			return nil, ok, err
		}
		out := make([]store.ReferenceEntry, 0, len(m))
		for _, code := range slices.Sorted(maps.Keys(m)) {
			out = append(out, entry(code, m[code]))
		}
		return out, true, nil
	}
}

// names reads a dictionary for its display names only.
func names[T retailcrm.Named](read func(RetailCRMReferences, context.Context) (map[string]T, error)) dictReader {
	return readDict(func(c RetailCRMReferences, ctx context.Context) (map[string]string, error) {
		dict, err := read(c, ctx)
		return retailcrm.Names(dict), err
	}, func(code, name string) store.ReferenceEntry { return store.ReferenceEntry{Code: code, Name: name} })
}

// productStatusReader is a RetailCRM client that reads the product
// statuses (those it lacks, texts show by their codes).
type productStatusReader interface {
	ProductStatuses(ctx context.Context) (map[string]retailcrm.ProductStatus, error)
}

// RetailCRMReferences is implemented by a RetailCRM client that reads the
// dictionaries texts name things from (*retailcrm.Client does). Without
// it, texts show codes, and only statuses named like a return count as
// returns.
type RetailCRMReferences interface {
	ProductStatuses(ctx context.Context) (map[string]retailcrm.ProductStatus, error)
	DeliveryTypes(ctx context.Context) (map[string]retailcrm.DeliveryType, error)
	PaymentTypes(ctx context.Context) (map[string]retailcrm.PaymentType, error)
	PaymentStatuses(ctx context.Context) (map[string]retailcrm.PaymentStatus, error)
	Sites(ctx context.Context) (map[string]retailcrm.Site, error)
}

// dictSpec is one cached dictionary and how it is read.
type dictSpec struct {
	name string
	// required: failing to read it stops the run (statuses: their groups
	// map orders to stages); the others only make texts and returns
	// better, so failing to read one is a warning.
	required bool
	read     dictReader
}

// dictionaries lists the cached dictionaries with their readers. The
// statuses are read by every engine's client (RetailCRM).
func dictionaries() []dictSpec {
	return []dictSpec{
		{dictStatuses, true, readDict(RetailCRM.Statuses, func(code string, s retailcrm.Status) store.ReferenceEntry {
			return store.ReferenceEntry{Code: code, Name: s.Name, StatusGroup: s.Group}
		})},
		{dictProductStatuses, false, readDict(productStatusReader.ProductStatuses, func(code string, s retailcrm.ProductStatus) store.ReferenceEntry {
			return store.ReferenceEntry{Code: code, Name: s.Name, CancelStatus: s.CancelStatus}
		})},
		{dictDeliveryTypes, false, names(RetailCRMReferences.DeliveryTypes)},
		{dictPaymentTypes, false, names(RetailCRMReferences.PaymentTypes)},
		{dictPaymentStatuses, false, names(RetailCRMReferences.PaymentStatuses)},
		{dictSites, false, names(RetailCRMReferences.Sites)},
	}
}

// loadReferences makes the dictionaries ready for the run from the cache.
// A cached dictionary a day old is read again now; one never read is read
// when an order first names one of its codes (knowCodes), so a pull with
// nothing new reads none. Pull and backfill start with it.
func (e *Engine) loadReferences(ctx context.Context) error {
	cached, err := e.store.References(ctx)
	if err != nil {
		return fmt.Errorf("reading the cached RetailCRM dictionaries: %w", err)
	}
	e.mapper.ref = references{dicts: map[string]map[string]store.ReferenceEntry{}}
	var stale []string
	for _, d := range dictionaries() {
		ref, ok := cached[d.name]
		if !ok {
			continue
		}
		e.mapper.ref.dicts[d.name] = ref.Entries
		if age := e.now().Sub(ref.FetchedAt); age < 0 || age >= referenceMaxAge {
			stale = append(stale, d.name)
		}
	}
	e.setGroups()
	return e.refreshReferences(ctx, stale)
}

// refreshReferences reads the named dictionaries from RetailCRM and caches
// them. Each is read at most once per run.
func (e *Engine) refreshReferences(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if e.refRead == nil {
		e.refRead = map[string]bool{}
	}
	type read struct {
		name    string
		entries []store.ReferenceEntry
	}
	var got []read
	for _, d := range dictionaries() {
		if !slices.Contains(names, d.name) || e.refRead[d.name] {
			continue
		}
		e.refRead[d.name] = true
		entries, ok, err := d.read(ctx, e)
		switch {
		case !ok:
			continue
		case err != nil && (ctx.Err() != nil || d.required && e.mapper.ref.dicts[d.name] == nil):
			return fmt.Errorf("reading RetailCRM %s: %w", d.name, err)
		case err != nil && d.required:
			// The cached copy serves until a later run reads it.
			e.log.Warn("reading a RetailCRM dictionary; its cached copy is used", "dictionary", d.name, "err", err)
			continue
		case err != nil:
			// Names and returned lines are details of the run, not a
			// reason to stop it: codes stand in for the names.
			e.log.Warn("reading a RetailCRM dictionary; its codes stand in for its names", "dictionary", d.name, "err", err)
			continue
		}
		got = append(got, read{d.name, entries})
		m := make(map[string]store.ReferenceEntry, len(entries))
		for _, en := range entries {
			m[en.Code] = en
		}
		e.mapper.ref.dicts[d.name] = m
	}
	if len(got) == 0 {
		return nil
	}
	now := e.now()
	err := e.store.Tx(ctx, func(tx *store.Tx) error {
		for _, r := range got {
			if err := tx.PutReference(ctx, r.name, r.entries, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("caching the RetailCRM dictionaries: %w", err)
	}
	e.setGroups()
	return nil
}

// setGroups derives the status → group map the planner uses.
func (e *Engine) setGroups() {
	st := e.mapper.ref.dicts[dictStatuses]
	e.mapper.groups = make(map[string]string, len(st))
	for code, en := range st {
		e.mapper.groups[code] = en.StatusGroup
	}
}

// knowCodes reads again, before the orders are planned, every dictionary
// that lacks a code the orders or their history records name: a status or
// a delivery type added in RetailCRM since the cache was filled.
func (e *Engine) knowCodes(ctx context.Context, orders []*retailcrm.Order, events map[int64]*orderEvents) error {
	missing := map[string]bool{}
	need := func(dict, code string) {
		if code == "" || missing[dict] {
			return
		}
		if _, ok := e.mapper.ref.dicts[dict][code]; !ok && !e.refRead[dict] {
			missing[dict] = true
		}
	}
	for _, o := range orders {
		need(dictStatuses, o.Status)
		need(dictSites, o.Site)
		if o.Delivery != nil {
			need(dictDeliveryTypes, o.Delivery.Code)
		}
		for _, p := range o.Payments {
			need(dictPaymentTypes, p.Type)
			need(dictPaymentStatuses, p.Status)
		}
		for _, it := range o.Items {
			need(dictProductStatuses, it.Status)
		}
		if ev := events[o.ID]; ev != nil {
			for i := range ev.records {
				r := &ev.records[i]
				switch r.Field {
				case "status":
					need(dictStatuses, r.OldValue.Code())
					need(dictStatuses, r.NewValue.Code())
				case "order_product.status":
					need(dictProductStatuses, r.NewValue.Code())
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return e.refreshReferences(ctx, slices.Sorted(maps.Keys(missing)))
}
