package sync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/texts"
)

// rowsState is the product rows an order's deal (or lead) should carry
// (docs/configuration.md, "Product rows"), built from the order itself:
// history snapshots of API-made orders carry lines without their offer.
type rowsState struct {
	rows []bitrix.ProductRow
	// codes are the offers' external codes, one per row ("" for none and
	// for the delivery row), for the catalogue lookup.
	codes []string
	// hash is bitrix.ProductRowsHash of the rows once their products are
	// known (resolveProducts).
	hash string
}

// desireRows turns the order's lines into rows: lines taken out of the
// order (a product status with cancelStatus) and lines without a positive
// quantity are left out; a delivery that costs something is one more row.
// PRICE is what one unit costs the buyer (initialPrice − discountTotal,
// every discount applied, VAT included), the discount goes with it as an
// absolute sum per unit. PRODUCT_ID is 0 until resolveProducts finds the
// catalogue product.
func (m *mapper) desireRows(o *retailcrm.Order) (*rowsState, error) {
	st := &rowsState{}
	for i := range o.Items {
		it := &o.Items[i]
		if m.ref.productCancelled(it.Status) || !it.Quantity.IsPositive() {
			continue
		}
		price := it.UnitPrice()
		if price.IsNegative() {
			return nil, badOrder("order %s, line %d: the discount %s is more than the price %s", orderName(o), it.ID,
				it.DiscountTotal, it.InitialPrice)
		}
		// The name is the shop's text: escaped like every value a manager
		// reads (docs/api-notes.md, "Text and markup").
		r := bitrix.ProductRow{ProductName: esc(rowName(it, m.txt)), Price: price, Quantity: it.Quantity, TaxIncluded: true}
		if !it.DiscountTotal.IsNegative() {
			// A negative discount (a surcharge) is in the price already
			// and cannot be sent as a discount: the row has none.
			r.DiscountType, r.DiscountSum = bitrix.DiscountAbsolute, it.DiscountTotal
		}
		rate := it.VATRate
		if rate == "" && it.Offer != nil {
			rate = it.Offer.VATRate
		}
		if p, ok := rate.Percent(); ok {
			r.TaxRate = &p
		}
		if it.Offer != nil && it.Offer.Unit != nil {
			u := it.Offer.Unit
			if n, err := strconv.Atoi(u.Code); err == nil && n > 0 {
				r.MeasureCode = n // an OKEI code such as 796; shops' own codes ("pc") are not
			}
			r.MeasureName = clean(u.Sym)
			if r.MeasureName == "" {
				r.MeasureName = clean(u.Name)
			}
		}
		code := ""
		if it.Offer != nil {
			code = strings.TrimSpace(it.Offer.ExternalID)
		}
		st.add(r, code)
	}
	if d := o.Delivery; d != nil && d.Cost.IsPositive() {
		r := bitrix.ProductRow{ProductName: m.txt.Get(texts.RowDelivery), Price: d.Cost, Quantity: decimal.NewFromInt(1),
			DiscountType: bitrix.DiscountAbsolute, TaxIncluded: true}
		if p, ok := d.VATRate.Percent(); ok {
			r.TaxRate = &p
		}
		st.add(r, "")
	}
	return st, nil
}

func (st *rowsState) add(r bitrix.ProductRow, code string) {
	r.Sort = (len(st.rows) + 1) * 10
	st.rows = append(st.rows, r)
	st.codes = append(st.codes, code)
}

// rowName is a line's row name: its name with the offer's article in
// brackets, "Kettle (KT-2490)", unless the name holds it already; a line
// with neither is named by its id in the configured language.
func rowName(it *retailcrm.Item, txt *texts.Catalog) string {
	name := clean(it.Name())
	article := ""
	if it.Offer != nil {
		article = clean(it.Offer.Article)
	}
	switch {
	case name == "" && article == "":
		return txt.F(texts.ItemID, it.ID)
	case name == "":
		return article
	case article == "" || strings.Contains(name, article):
		return name
	}
	return name + " (" + article + ")"
}

// rowsTotal is what the rows add up to: Σ PRICE × QUANTITY.
func rowsTotal(rows []bitrix.ProductRow) decimal.Decimal {
	sum := decimal.Zero
	for _, r := range rows {
		sum = sum.Add(r.Price.Mul(r.Quantity))
	}
	return sum
}

// rowsKey is the batch key of an order's rows command.
func rowsKey(orderID int64) string { return "r" + strconv.FormatInt(orderID, 10) }

// planRows adds the rows commands of the chunk to the deals' batch b: the
// rows of a deal created in b refer to its add ($result), so they go out
// in the same request right after it. Orders whose rows are all gone are
// returned: clearing takes a plain call (clearRows). A dry run, or a run
// keeping its changes, first reads the rows the deals hold, for the
// report's diff.
func (e *Engine) planRows(ctx context.Context, b *bitrix.Batch, items []*item, changes map[string]Change) (clear []*item, old map[int64][]bitrix.StoredProductRow, err error) {
	ent := e.mapper.entity()
	if old, err = e.readRows(ctx, items, changes); err != nil {
		return nil, nil, err
	}
	for _, it := range items {
		if it.err != nil || !it.needRows {
			continue
		}
		k := dealKey(it.order.ID)
		var id any
		switch ch, ok := changes[k]; {
		case ok && ch.Op == OpCreate:
			id = bitrix.ResultRef(k)
		case it.dealID != 0:
			id = bitrix.ID(it.dealID)
		default:
			continue
		}
		rs := it.deal.rows
		if len(rs.rows) == 0 {
			if _, created := id.(bitrix.Ref); !created {
				clear = append(clear, it)
			}
			continue
		}
		cmd, err := bitrix.ProductRowsSetCmd(ent, 1, rs.rows) // the id is set below
		if err != nil {
			it.err = fmt.Errorf("%w: order %s: product rows: %w", errBadOrder, orderName(it.order), err)
			continue
		}
		cmd.Params["id"] = id
		if err := b.Add(rowsKey(it.order.ID), cmd); err != nil {
			return nil, nil, err
		}
	}
	return clear, old, nil
}

// rowsKnown reports whether the order's link records the rows crmsync set
// on the deal the lookup found.
func rowsKnown(it *item, ent bitrix.Entity) bool {
	l := it.link
	return l != nil && l.RowsHash != "" && l.EntityID == it.dealID &&
		(l.EntityType == store.EntityType(ent) || (l.EntityType == "" && ent == bitrix.EntityDeal))
}

// readRows reads the rows of the deals whose rows are about to change,
// when the report keeps its changes (a dry run's diff); otherwise only the
// rows addHeldRows read already.
func (e *Engine) readRows(ctx context.Context, items []*item, changes map[string]Change) (map[int64][]bitrix.StoredProductRow, error) {
	out := map[int64][]bitrix.StoredProductRow{}
	for _, it := range items {
		if it.err == nil && it.needRows && it.heldRead {
			out[it.order.ID] = it.held
		}
	}
	if !e.opts.DryRun && !e.opts.KeepChanges {
		return out, nil
	}
	ent := e.mapper.entity()
	b := bitrix.NewBatch(false)
	for _, it := range items {
		if it.err != nil || !it.needRows || it.heldRead || it.dealID == 0 || it.dealID >= dryIDBase {
			continue
		}
		if ch, ok := changes[dealKey(it.order.ID)]; ok && ch.Op == OpCreate {
			continue
		}
		if err := b.Add("pr"+strconv.FormatInt(it.order.ID, 10), bitrix.ProductRowsGetCmd(ent, bitrix.ID(it.dealID))); err != nil {
			return nil, err
		}
	}
	if b.Len() == 0 {
		return out, nil
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return nil, err
	}
	for _, k := range b.Keys() {
		rows, err := bitrix.DecodeProductRows(res.Get(k).Result)
		if err != nil {
			return nil, err
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(k, "pr"), 10, 64)
		out[id] = rows
	}
	return out, nil
}

// addHeldRows adds to b a read of the rows of each deal the lookup found by
// ORIGIN_ID whose rows no link records (the database was lost, or the order
// was never linked); the returned function drops the rows write of those
// that hold the desired rows already: rewriting identical rows would be a
// write for an unchanged order. A read is one command per deal, as the
// write would be, and changes nothing on the deal. The lookup's own batch
// cannot carry it: the deals' ids are known only from its answer.
func (e *Engine) addHeldRows(b *bitrix.Batch, items []*item) (func(*bitrix.BatchResult), error) {
	ent := e.mapper.entity()
	byKey := map[string]*item{}
	for _, it := range items {
		if it.err != nil || !it.needRows || it.remote == nil || it.dealID == 0 || it.dealID >= dryIDBase || it.heldRead {
			continue
		}
		if rowsKnown(it, ent) {
			continue // the hash of what was set decided
		}
		k := "ph" + strconv.FormatInt(it.order.ID, 10)
		if err := b.Add(k, bitrix.ProductRowsGetCmd(ent, bitrix.ID(it.dealID))); err != nil {
			return nil, err
		}
		byKey[k] = it
	}
	return func(res *bitrix.BatchResult) {
		for k, it := range byKey {
			held, err := bitrix.DecodeProductRows(res.Get(k).Result)
			if err != nil {
				// Unreadable rows are set as if unknown: the set makes them right.
				e.log.Warn("reading a deal's product rows", "order", it.order.ID, "deal", it.dealID, "err", err)
				continue
			}
			it.held, it.heldRead = held, true
			if sameRows(it.deal.rows.rows, held) {
				it.needRows, it.rowsDone = false, true
			}
		}
	}, nil
}

// checkHeld reads, in one batch before the deals' writes, what the portal
// holds where no link records what crmsync wrote: found deals' rows
// (addHeldRows) and found companies' contacts (addHeldCompanyLinks). Only
// then; a run with every link known sends nothing.
func (e *Engine) checkHeld(ctx context.Context, items []*item) error {
	b := bitrix.NewBatch(false)
	rows, err := e.addHeldRows(b, items)
	if err != nil {
		return err
	}
	links, err := e.addHeldCompanyLinks(b, items)
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return err
	}
	rows(res)
	links(res)
	return nil
}

// sameRows reports whether the rows a deal holds, as
// crm.<e>.productrows.get answers them, are the desired rows: compared in
// SORT order, decimals by value ("2241" is 2241.00), without the fields a
// desired row leaves to the portal (no MEASURE_CODE or MEASURE_NAME sent:
// the catalogue product's, or 0 and ""; no PRODUCT_NAME: the product's) and
// with a zero discount alike whatever its type.
func sameRows(want []bitrix.ProductRow, held []bitrix.StoredProductRow) bool {
	if len(want) != len(held) {
		return false
	}
	held = slices.Clone(held)
	slices.SortStableFunc(held, func(a, b bitrix.StoredProductRow) int { return a.Sort - b.Sort })
	for i, w := range want {
		h := held[i].Row()
		if w.MeasureCode == 0 {
			h.MeasureCode = 0
		}
		if w.MeasureName == "" {
			h.MeasureName = ""
		}
		if w.ProductName == "" {
			h.ProductName = ""
		}
		if bitrix.ProductRowsHash([]bitrix.ProductRow{noZeroDiscount(w)}) != bitrix.ProductRowsHash([]bitrix.ProductRow{noZeroDiscount(h)}) {
			return false
		}
	}
	return true
}

// noZeroDiscount writes a discount of nothing as no discount fields: sent
// as 0 absolute, the portal may answer it as 0% (its default type).
func noZeroDiscount(r bitrix.ProductRow) bitrix.ProductRow {
	switch r.DiscountType {
	case bitrix.DiscountAbsolute:
		if !r.DiscountSum.IsZero() {
			return r
		}
	case bitrix.DiscountPercent:
		if !r.DiscountRate.IsZero() {
			return r
		}
	}
	r.DiscountType, r.DiscountSum, r.DiscountRate = 0, decimal.Zero, decimal.Zero
	return r
}

// rowsDone judges the rows commands of the deals' batch and clears the
// rows of the orders in clear. A rows call that failed parks its order
// (the deal's own write stands) and forgets its cached catalogue products.
func (e *Engine) rowsDone(ctx context.Context, b *bitrix.Batch, results map[string]*bitrix.CmdResult, items []*item,
	clear []*item, old map[int64][]bitrix.StoredProductRow) error {
	for _, it := range items {
		rk := rowsKey(it.order.ID)
		if _, sent := b.Cmd(rk); !sent || it.err != nil {
			continue // not sent, or the deal's own write failed: the next attempt sends them
		}
		if cr := results[rk]; cr == nil || cr.Status != bitrix.Done {
			it.err = fmt.Errorf("%w: order %s: product rows: %w", errBadOrder, orderName(it.order), cmdError(cr))
			e.forgetProducts(ctx, it.deal.rows)
			continue
		}
		e.rowsSet(it, old)
	}
	for _, it := range clear {
		if it.err != nil {
			continue
		}
		if err := e.gate.clearRows(ctx, e.mapper.entity(), bitrix.ID(it.dealID)); err != nil {
			if fatal(ctx, err) {
				return fmt.Errorf("bitrix: clearing product rows: %w", err)
			}
			it.err = fmt.Errorf("%w: order %s: clearing product rows: %w", errBadOrder, orderName(it.order), err)
			continue
		}
		e.rowsSet(it, old)
	}
	return nil
}

// rowsSet records that an order's rows are set.
func (e *Engine) rowsSet(it *item, old map[int64][]bitrix.StoredProductRow) {
	it.rowsDone = true
	e.sum.RowsSet++
	ent := e.mapper.entity()
	if it.action == "" {
		// Only the rows were written: the deal was updated all the same
		// (an order whose deal was found after a lost database included).
		it.action = string(ent) + ".rows"
		e.sum.DealsUpdated++
	}
	rc := &RowsChange{Lines: len(it.deal.rows.rows), Total: rowsTotal(it.deal.rows.rows).StringFixed(2),
		Currency: it.order.Currency, Rows: reportRows(it.deal.rows.rows), New: it.action == string(ent)+".add"}
	if prev, ok := old[it.order.ID]; ok {
		rc.Old = make([]RowReport, len(prev))
		for i, r := range prev {
			rc.Old[i] = reportRow(r.Row())
		}
	}
	e.addChange(Change{Op: OpRows, Entity: string(ent), EntityID: it.dealID, OrderID: it.order.ID,
		OrderNumber: it.order.Number, Site: it.order.Site, Rows: rc})
}

func reportRows(rows []bitrix.ProductRow) []RowReport {
	out := make([]RowReport, len(rows))
	for i, r := range rows {
		out[i] = reportRow(r)
	}
	return out
}

func reportRow(r bitrix.ProductRow) RowReport {
	out := RowReport{ProductID: int64(r.ProductID), Name: r.ProductName, Price: r.Price.String(), Quantity: r.Quantity.String(),
		TaxIncluded: r.TaxIncluded, MeasureCode: r.MeasureCode, MeasureName: r.MeasureName}
	if r.DiscountType == bitrix.DiscountAbsolute {
		out.DiscountSum = r.DiscountSum.String()
	}
	if r.TaxRate != nil {
		s := r.TaxRate.String()
		out.TaxRate = &s
	}
	return out
}
