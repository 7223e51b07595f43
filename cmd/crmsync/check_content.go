package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/config"
)

// checkContent checks what a deal carries besides its mapped fields:
// mapping.paid_field exists, every target of mapping.values is an item of
// its list field, and the catalogue mapping.products searches can be read.
func checkContent(ctx context.Context, bx *bitrix.Client, cfg *config.Config, rep *checkReport) {
	m := cfg.Mapping
	owner := bitrix.EntityDeal
	if cfg.Bitrix.Entity == config.EntityLead {
		owner = bitrix.EntityLead
	}
	if m.PaidField != "" || len(m.Values) > 0 {
		fields := map[bitrix.Entity]map[string]bitrix.FieldInfo{}
		info := func(e bitrix.Entity) (map[string]bitrix.FieldInfo, error) {
			if f, ok := fields[e]; ok {
				return f, nil
			}
			f, err := bx.Fields(ctx, e)
			fields[e] = f
			return f, err
		}
		if f := m.PaidField; f != "" {
			all, err := info(owner)
			switch _, ok := all[f]; {
			case err != nil:
				rep.add("mapping.paid_field", checkFail, err.Error(), "")
			case !ok:
				rep.add("mapping.paid_field", checkFail, fmt.Sprintf("the %s has no field %s", owner, f),
					"create a string or list field for it in CRM settings → fields, or fix the name")
			default:
				rep.add("mapping.paid_field", checkOK, fmt.Sprintf("the %s field %s exists", owner, f), "")
			}
		}
		for _, f := range slices.Sorted(maps.Keys(m.Values)) {
			e := owner
			if _, ok := m.ContactFields[f]; ok {
				e = bitrix.EntityContact
			}
			all, err := info(e)
			if err != nil {
				rep.add("mapping.values."+f, checkFail, err.Error(), "")
				continue
			}
			checkValues(ctx, bx, e, f, all, m.Values[f], rep)
		}
	}
	if m.Products.Match == config.ProductsMatchExternalID {
		checkCatalog(ctx, bx, m.Products.IBlockID, rep)
	}
}

// checkValues reports targets of mapping.values.<field> that are not the id
// of one of the list field's items (a deal stores the item's id, not its
// text).
func checkValues(ctx context.Context, bx *bitrix.Client, e bitrix.Entity, field string, all map[string]bitrix.FieldInfo,
	table map[string]string, rep *checkReport) {
	key := "mapping.values." + field
	fi, ok := all[field]
	if !ok {
		rep.add(key, checkFail, fmt.Sprintf("the %s has no field %s", e, field), "fix the name, or create the field")
		return
	}
	items := fi.Items
	if len(items) == 0 && fi.Type == "enumeration" && e == bitrix.EntityDeal {
		// crm.deal.fields may not list the items; the user field does.
		if ufs, err := bx.DealUserFieldList(ctx, map[string]any{"FIELD_NAME": field}); err == nil && len(ufs) == 1 {
			items, _ = ufs[0].Items()
		}
	}
	if len(items) == 0 {
		if fi.Type == "enumeration" {
			rep.add(key, checkFail, fmt.Sprintf("the list field %s has no items", field), "add the values in CRM settings → fields")
		} else {
			rep.add(key, checkOK, fmt.Sprintf("%s is a %s field: values are written as translated", field, fi.Type), "")
		}
		return
	}
	have := map[string]bool{}
	var avail []string
	for _, it := range items {
		have[it.ID.String()] = true
		avail = append(avail, it.ID.String()+" = "+strconv.Quote(it.Value))
	}
	var bad []string
	for _, from := range slices.Sorted(maps.Keys(table)) {
		if to := table[from]; !have[to] {
			bad = append(bad, from+" → "+to)
		}
	}
	if len(bad) > 0 {
		rep.add(key, checkFail, fmt.Sprintf("%s has no item(s) with these ids: %s", field, strings.Join(bad, ", ")),
			"use the ids of its items: "+strings.Join(avail, ", "))
		return
	}
	rep.add(key, checkOK, fmt.Sprintf("every value maps to an item of the list field %s", field), "")
}

// checkCatalog reads the catalogue rows are matched in: the configured
// iblock, or the list of catalogues (administrators only).
func checkCatalog(ctx context.Context, bx *bitrix.Client, iblock int, rep *checkReport) {
	const key = "mapping.products"
	if iblock > 0 {
		if _, err := bx.CatalogProductsByXMLID(ctx, bitrix.ID(iblock), []string{"crmsync-check"}); err != nil {
			rep.add(key, checkFail, fmt.Sprintf("catalogue %d cannot be read: %v", iblock, err),
				"give the webhook the catalog scope and its user read access to the catalogue; check mapping.products.iblock_id")
			return
		}
		rep.add(key, checkOK, fmt.Sprintf("rows are matched to products of catalogue %d by XML_ID", iblock), "")
		return
	}
	cats, err := bx.Catalogs(ctx)
	if err != nil {
		rep.add(key, checkFail, "mapping.products.iblock_id is 0 and the catalogues cannot be listed (catalog.catalog.list is for administrators): "+err.Error(),
			"set mapping.products.iblock_id to the catalogue's id (CRM → Products), or use an administrator's webhook")
		return
	}
	if len(cats) == 0 {
		rep.add(key, checkFail, "the portal has no product catalogue", "set mapping.products.match: none")
		return
	}
	var ids []string
	for _, c := range cats {
		ids = append(ids, fmt.Sprintf("%d (%s)", c.IBlockID, c.Name))
	}
	rep.add(key, checkOK, "rows are matched by XML_ID in the catalogues "+strings.Join(ids, ", "),
		"to search one catalogue only (and not need an administrator's webhook), set mapping.products.iblock_id")
}
