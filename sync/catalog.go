package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
)

// catalogMissTTL is how long "no catalogue product has this code" stands
// before the code is looked up again: the catalogue may gain the product.
const catalogMissTTL = 24 * time.Hour

// resolveProducts gives the rows of the chunk's orders their catalogue
// products (mapping.products.match: external_id) and then their hashes.
// Lookups are cached in the database; codes never looked up, and misses
// older than catalogMissTTL, are looked up in one batch (≤ 50 codes a
// command, per catalogue).
func (e *Engine) resolveProducts(ctx context.Context, items []*item) error {
	var codes []string
	if e.cfg.Mapping.Products.Match == config.ProductsMatchExternalID {
		seen := map[string]bool{}
		for _, it := range items {
			if it.deal == nil || it.deal.rows == nil {
				continue
			}
			for _, c := range it.deal.rows.codes {
				if c != "" && !seen[c] {
					seen[c] = true
					codes = append(codes, c)
				}
			}
		}
	}
	found := map[string]int64{}
	if len(codes) > 0 {
		var err error
		if found, err = e.catalogProducts(ctx, codes); err != nil {
			return err
		}
	}
	for _, it := range items {
		if it.deal == nil || it.deal.rows == nil {
			continue
		}
		rs := it.deal.rows
		for i, c := range rs.codes {
			if id := found[c]; c != "" && id > 0 {
				rs.rows[i].ProductID = bitrix.ID(id)
			}
		}
		rs.hash = bitrix.ProductRowsHash(rs.rows)
	}
	return nil
}

// catalogKey is the catalogue a cached lookup belongs to: the configured
// iblock id, 0 for the catalogues the portal lists.
func (e *Engine) catalogKey() int64 { return int64(e.cfg.Mapping.Products.IBlockID) }

// catalogProducts maps external codes to catalogue product ids (0: none).
func (e *Engine) catalogProducts(ctx context.Context, codes []string) (map[string]int64, error) {
	key := e.catalogKey()
	cached, err := e.store.CatalogProducts(ctx, key, codes)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(codes))
	var unknown []string
	now := e.now()
	for _, c := range codes {
		p, ok := cached[c]
		if !ok || (p.ProductID == 0 && now.Sub(p.CheckedAt) > catalogMissTTL) {
			unknown = append(unknown, c)
			continue
		}
		out[c] = p.ProductID
	}
	if len(unknown) == 0 {
		return out, nil
	}
	iblocks, err := e.catalogIBlocks(ctx)
	if err != nil {
		return nil, err
	}
	best := map[string]bitrix.CatalogProduct{}
	b := bitrix.NewBatch(false)
	for _, ib := range iblocks {
		for i, cmd := range bitrix.CatalogProductLookupCmds(bitrix.ID(ib), unknown) {
			if err := b.Add("cp"+strconv.FormatInt(ib, 10)+"_"+strconv.Itoa(i), cmd); err != nil {
				return nil, err
			}
		}
	}
	for b.Len() > 0 {
		res, err := e.read(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("%w (mapping.products: the webhook needs the catalog scope and read access to the catalogue)", err)
		}
		next := bitrix.NewBatch(false)
		for _, k := range b.Keys() {
			cr := res.Get(k)
			ps, err := bitrix.DecodeCatalogProducts(cr.Result)
			if err != nil {
				return nil, err
			}
			for _, p := range ps {
				if cur, ok := best[p.XMLID]; !ok || better(p, cur) {
					best[p.XMLID] = p
				}
			}
			if cr.HasNext && len(ps) > 0 && cr.Next > 0 {
				if err := next.Add(k+"_"+strconv.Itoa(cr.Next), bitrix.PageCmd(cr.Cmd, cr.Next)); err != nil {
					return nil, err
				}
			}
		}
		b = next
	}
	put := make([]store.CatalogProduct, 0, len(unknown))
	for _, c := range unknown {
		id := int64(best[c].ID)
		out[c] = id
		put = append(put, store.CatalogProduct{IBlockID: key, XMLID: c, ProductID: id, CheckedAt: now})
	}
	if err := e.store.Tx(ctx, func(tx *store.Tx) error { return tx.PutCatalogProducts(ctx, put) }); err != nil {
		return nil, fmt.Errorf("recording catalogue lookups: %w", err)
	}
	return out, nil
}

// better picks among products sharing an external code: an active one,
// then the oldest (nothing makes XML_ID unique).
func better(p, cur bitrix.CatalogProduct) bool {
	if p.Active != cur.Active {
		return p.Active
	}
	return p.ID < cur.ID
}

// catalogIBlocks are the catalogues searched: mapping.products.iblock_id,
// or every catalogue catalog.catalog.list names (products and variations;
// read once per run). That method is for administrators only: a webhook of
// another user must name the catalogue, and the run stops with a
// configuration error saying so.
func (e *Engine) catalogIBlocks(ctx context.Context) ([]int64, error) {
	if id := e.catalogKey(); id > 0 {
		return []int64{id}, nil
	}
	if e.iblocks != nil {
		return e.iblocks, nil
	}
	b := bitrix.NewBatch(false)
	if err := b.Add("cc", bitrix.CatalogListCmd()); err != nil {
		return nil, err
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%w: mapping.products.iblock_id is 0 and the portal refuses to list its catalogues (catalog.catalog.list is for administrators): set mapping.products.iblock_id",
			config.ErrInvalid), err)
	}
	cats, err := bitrix.DecodeCatalogs(res.Get("cc").Result)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	for _, c := range cats {
		if c.IBlockID > 0 && !slices.Contains(ids, int64(c.IBlockID)) {
			ids = append(ids, int64(c.IBlockID))
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: mapping.products.match is external_id, but the portal has no product catalogue", config.ErrInvalid)
	}
	e.iblocks = ids
	return ids, nil
}

// forgetProducts drops the cached products of an order whose rows call
// failed, so the next attempt looks them up again (a product may have
// been deleted from the catalogue).
func (e *Engine) forgetProducts(ctx context.Context, rs *rowsState) {
	var codes []string
	for i, c := range rs.codes {
		if c != "" && rs.rows[i].ProductID > 0 {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		return
	}
	if err := e.store.Tx(ctx, func(tx *store.Tx) error { return tx.ForgetCatalogProducts(ctx, e.catalogKey(), codes) }); err != nil {
		e.log.Warn("forgetting catalogue lookups", "err", err)
	}
}
