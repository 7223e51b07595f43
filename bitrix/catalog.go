package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Catalog is a trade catalogue of catalog.catalog.list (scope catalog;
// administrators only). A CRM portal has a product catalogue and, when
// products have variations, a catalogue of offers whose ProductIBlockID
// names the product catalogue.
type Catalog struct {
	ID       ID
	IBlockID ID
	// IBlockTypeID is CRM_PRODUCT_CATALOG by the docs' type table, 0 in
	// their example answer: do not rely on it.
	IBlockTypeID    string
	Name            string
	ProductIBlockID ID // set only on a catalogue of variations (offers)
	SKUPropertyID   ID
}

// IsOffers reports whether the catalogue holds variations of another's products.
func (c Catalog) IsOffers() bool { return c.ProductIBlockID != 0 }

// CatalogListCmd builds catalog.catalog.list (all fields, first page).
func CatalogListCmd() Cmd {
	return Cmd{Method: "catalog.catalog.list", Params: map[string]any{"order": map[string]string{"id": "asc"}, "start": 0}}
}

// DecodeCatalogs decodes {"catalogs": [...]}.
func DecodeCatalogs(raw json.RawMessage) ([]Catalog, error) {
	return readRows(listUnder[Record]("catalog.catalog.list", "catalogs"), func(r Record) (Catalog, error) {
		return Catalog{ID: r.IDField("id"), IBlockID: r.IDField("iblockId"), IBlockTypeID: r.String("iblockTypeId"),
			Name: r.String("name"), ProductIBlockID: r.IDField("productIblockId"), SKUPropertyID: r.IDField("skuPropertyId")}, nil
	})(raw)
}

// Catalogs reads every trade catalogue, following next.
func (c *Client) Catalogs(ctx context.Context) ([]Catalog, error) {
	out, err := readPages(ctx, c, firstUnpaged(CatalogListCmd()), DecodeCatalogs)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// firstUnpaged sends cmd as it is for the first page and with start for
// the next ones.
func firstUnpaged(cmd Cmd) func(start int) Cmd {
	return func(start int) Cmd {
		if start == 0 {
			return cmd
		}
		return PageCmd(cmd, start)
	}
}

// CatalogProduct is a catalog.product.list row as CatalogProductLookupCmds
// selects it.
type CatalogProduct struct {
	ID       ID
	IBlockID ID
	Name     string
	XMLID    string
	Active   bool
	Measure  ID  // catalog_measure.id, not the measure's code
	Type     int // 1 product, 4 offer, 7 service, ...
}

// catalogProductSelect is what a lookup reads; id and iblockId are
// required by the method.
func catalogProductSelect() []string {
	return []string{"id", "iblockId", "name", "xmlId", "active", "measure", "type"}
}

// MaxCatalogLookup is how many XML_IDs one catalog.product.list command
// asks for: one page of answers when the codes are unique.
const MaxCatalogLookup = PageSize

// CatalogProductLookupCmds builds catalog.product.list commands finding the
// products of catalogue iblockID whose external code (xmlId) is one of
// xmlIDs, at most MaxCatalogLookup codes per command, blanks and repeats
// dropped. The documented IN form is the plain key with an array value
// ("xmlId": [...]); iblockId in the filter and id, iblockId in select are
// required (docs/api-notes.md, "Deal content"). A code held by several
// products can make an answer longer than a page: follow next (PageCmd).
func CatalogProductLookupCmds(iblockID ID, xmlIDs []string) []Cmd {
	seen := map[string]bool{}
	var codes []string
	for _, x := range xmlIDs {
		if x == "" || seen[x] {
			continue
		}
		seen[x] = true
		codes = append(codes, x)
	}
	var out []Cmd
	for chunk := range slices.Chunk(codes, MaxCatalogLookup) {
		out = append(out, Cmd{Method: "catalog.product.list", Params: map[string]any{
			"select": catalogProductSelect(),
			"filter": map[string]any{"iblockId": iblockID, "xmlId": slices.Clone(chunk)},
			"order":  map[string]string{"id": "asc"},
			"start":  0,
		}})
	}
	return out
}

// DecodeCatalogProducts decodes {"products": [...]}.
func DecodeCatalogProducts(raw json.RawMessage) ([]CatalogProduct, error) {
	return readRows(listUnder[Record]("catalog.product.list", "products"), func(r Record) (CatalogProduct, error) {
		typ, err := parseLooseInt(r["type"])
		if err != nil {
			return CatalogProduct{}, fmt.Errorf("%w: catalog.product.list: product %s type: %w", ErrBadResponse, r.String("id"), err)
		}
		return CatalogProduct{ID: r.IDField("id"), IBlockID: r.IDField("iblockId"), Name: r.String("name"),
			XMLID: r.String("xmlId"), Active: r.Bool("active"), Measure: r.IDField("measure"), Type: int(typ)}, nil
	})(raw)
}

// CatalogProductsByXMLID finds the products of catalogue iblockID whose
// external code is one of xmlIDs, following every page; products come in
// id order per command.
func (c *Client) CatalogProductsByXMLID(ctx context.Context, iblockID ID, xmlIDs []string) ([]CatalogProduct, error) {
	var out []CatalogProduct
	for _, cmd := range CatalogProductLookupCmds(iblockID, xmlIDs) {
		page, err := readPages(ctx, c, firstUnpaged(cmd), DecodeCatalogProducts)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}
