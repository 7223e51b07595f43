package bitrixtest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// ProductRow is one stored product row of a deal or lead, with the prices
// the portal computes (docs/api-notes.md, "Deal content").
type ProductRow struct {
	ID             int64
	ProductID      int64
	ProductName    string
	OriginalName   string // the catalogue product's name, the row's own for a free-text row
	Price          decimal.Decimal
	PriceExclusive decimal.Decimal
	PriceNetto     decimal.Decimal
	PriceBrutto    decimal.Decimal
	Quantity       decimal.Decimal
	DiscountTypeID int
	DiscountRate   decimal.Decimal
	DiscountSum    decimal.Decimal
	TaxRate        *decimal.Decimal
	TaxIncluded    bool
	MeasureCode    int
	MeasureName    string
	Sort           int
	Type           int
}

// Catalog is a trade catalogue (catalog.catalog.list); ProductIBlockID is
// set on a catalogue of variations (offers).
type Catalog struct {
	IBlockID        int64
	Name            string
	ProductIBlockID int64
}

// CatalogProduct is a product of a trade catalogue.
type CatalogProduct struct {
	ID       int64 // assigned by SeedProduct
	IBlockID int64
	Name     string
	XMLID    string
	Inactive bool
	// Measure is the catalog_measure id; MeasureCode and MeasureName are
	// what a product row takes from the product (default 796, "pcs").
	Measure     int64
	MeasureCode int
	MeasureName string
	Type        int // default 1, a simple product
}

// SeedCatalog adds a trade catalogue (an information block); pass the
// product catalogue's iblock id as productIBlockID for a catalogue of
// variations, else 0.
func (s *Server) SeedCatalog(iblockID int64, name string, productIBlockID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.data.catalogs {
		if c.IBlockID == iblockID {
			c.Name, c.ProductIBlockID = name, productIBlockID
			return
		}
	}
	s.data.catalogs = append(s.data.catalogs, &Catalog{IBlockID: iblockID, Name: name, ProductIBlockID: productIBlockID})
}

// SeedProduct adds a catalogue product and returns its id; the catalogue
// is created if it does not exist yet.
func (s *Server) SeedProduct(p CatalogProduct) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.data.catalogs, func(c *Catalog) bool { return c.IBlockID == p.IBlockID }) {
		s.data.catalogs = append(s.data.catalogs, &Catalog{IBlockID: p.IBlockID, Name: "Catalog " + itoa(p.IBlockID)})
	}
	if p.Type == 0 {
		p.Type = 1
	}
	if p.MeasureCode == 0 {
		p.Measure, p.MeasureCode, p.MeasureName = 5, 796, "pcs"
	}
	s.data.nextProduct++
	p.ID = s.data.nextProduct
	s.data.products = append(s.data.products, &p)
	return p.ID
}

// ProductRows returns a copy of the product rows of a deal or lead
// (kind "deal" or "lead") in the order the portal answers them.
func (s *Server) ProductRows(kind string, id int64) []ProductRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.data.entities[kind]
	if t == nil || t.rows[id] == nil {
		return nil
	}
	return slices.Clone(t.rows[id].Products)
}

func (d *store) product(id int64) *CatalogProduct {
	for _, p := range d.products {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// rowsErr is the legacy answer to a product-row error: ERROR_CORE with the
// portal's trailing <br> (crm-deal-productrows-set.md).
func rowsErr(desc string) *apiErr { return codeErr(400, "ERROR_CORE", desc+"<br>") }

var hundred = decimal.NewFromInt(100)

// decParam reads a number as PHP's (float) cast would: text that is not a
// number is 0.
func decParam(v any) decimal.Decimal {
	d, err := decimal.NewFromString(strings.TrimSpace(Str(v)))
	if err != nil {
		return decimal.Zero
	}
	return d
}

// productRowsSet replaces every row of the entity (crm.<e>.productrows.set)
// and, unless the amount is manual, recomputes OPPORTUNITY from the rows.
// Rows are checked first; one bad row fails the call and nothing changes.
func (s *Server) productRowsSet(kind string, p map[string]any) (*result, *apiErr) {
	r, e := s.ownerRow(kind, p, "The parameter id is invalid or not defined.", "Not found.")
	if e != nil {
		return nil, e
	}
	rv, has := getCI(p, "rows")
	_, isList := rv.([]any)
	if !has || (!isList && asMap(rv) == nil) {
		// Also a batch command whose rows were an empty list: a query
		// string cannot carry one.
		return nil, legacyErr("The parameter rows must be array.")
	}
	var rows []ProductRow
	for _, item := range List(rv) {
		m := asMap(item)
		if m == nil {
			return nil, legacyErr("The parameter rows must be array.")
		}
		row, e := s.data.productRow(m)
		if e != nil {
			return nil, e
		}
		rows = append(rows, row)
	}
	for i := range rows {
		s.data.nextRow++
		rows[i].ID = s.data.nextRow
		if rows[i].ProductName == "" {
			// Neither PRODUCT_ID nor PRODUCT_NAME: the portal names the
			// row after its own id.
			rows[i].ProductName = "[" + strconv.FormatInt(rows[i].ID, 10) + "]"
			rows[i].OriginalName = rows[i].ProductName
		}
	}
	slices.SortStableFunc(rows, func(a, b ProductRow) int { return a.Sort - b.Sort })
	r.Products = rows
	recalcOpportunity(r)
	return ok(true)
}

// productRow reads one row: defaults, the discount rules of the method's
// error list, the computed prices.
func (d *store) productRow(m map[string]any) (ProductRow, *apiErr) {
	get := func(k string) (any, bool) { return getCI(m, k) }
	row := ProductRow{Quantity: decimal.NewFromInt(1), DiscountTypeID: 2, Type: 1}
	if v, ok := get("PRODUCT_ID"); ok {
		row.ProductID, _ = intParam(v)
	}
	if v, ok := get("PRODUCT_NAME"); ok {
		row.ProductName = Str(v)
	}
	row.OriginalName = row.ProductName
	if row.ProductID != 0 {
		prod := d.product(row.ProductID)
		if prod == nil {
			// UNCONFIRMED what a portal does with an unknown product; the
			// fake refuses so that no code path relies on it.
			return row, rowsErr("bitrixtest: product " + strconv.FormatInt(row.ProductID, 10) + " is not in the catalogue")
		}
		row.OriginalName, row.Type = prod.Name, prod.Type
		if row.ProductName == "" {
			row.ProductName = prod.Name
		}
		row.MeasureCode, row.MeasureName = prod.MeasureCode, prod.MeasureName
	}
	if v, ok := get("PRICE"); ok {
		row.Price = decParam(v)
	}
	if v, ok := get("QUANTITY"); ok {
		row.Quantity = decParam(v)
	}
	typeV, typeSent := get("DISCOUNT_TYPE_ID")
	rateV, rateSent := get("DISCOUNT_RATE")
	sumV, sumSent := get("DISCOUNT_SUM")
	if typeSent {
		t, _ := intParam(typeV)
		row.DiscountTypeID = int(t)
	}
	row.DiscountRate, row.DiscountSum = decParam(rateV), decParam(sumV)
	switch {
	case row.DiscountTypeID != 1 && row.DiscountTypeID != 2:
		// UNCONFIRMED: the docs list types 1 and 2 only.
		return row, rowsErr("bitrixtest: Discount Type (DISCOUNT_TYPE_ID) " + strconv.Itoa(row.DiscountTypeID) + " is neither 1 nor 2")
	case typeSent && row.DiscountTypeID == 1 && !sumSent:
		return row, rowsErr("Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type (DISCOUNT_TYPE_ID) is defined")
	case typeSent && row.DiscountTypeID == 2 && !rateSent:
		return row, rowsErr("Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined")
	case row.DiscountTypeID == 2 && row.DiscountRate.Equal(hundred) && !sumSent:
		return row, rowsErr("Discount Sum (DISCOUNT_SUM) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined and Discount Rate (DISCOUNT_RATE) is 100%")
	}
	if v, ok := get("TAX_RATE"); ok && Str(v) != "" {
		t := decParam(v)
		row.TaxRate = &t
	}
	if v, ok := get("TAX_INCLUDED"); ok {
		row.TaxIncluded = strings.EqualFold(Str(v), "Y")
	}
	if v, ok := get("MEASURE_CODE"); ok {
		c, _ := intParam(v)
		row.MeasureCode = int(c)
	}
	if v, ok := get("MEASURE_NAME"); ok {
		row.MeasureName = Str(v)
	}
	if v, ok := get("SORT"); ok {
		n, _ := intParam(v)
		row.Sort = int(n)
	}
	row.compute()
	return row, nil
}

// compute fills the derived prices from PRICE (the final unit price) by
// the fields' definitions: PRICE_EXCLUSIVE is PRICE without tax, the
// discount lies between it and PRICE_NETTO, PRICE_BRUTTO is PRICE_NETTO
// with tax. Amounts are kept to 2 decimals, as the portal answers them.
// Checked against the docs' example (10% off 999 is 899.1); how the portal
// splits a discount when a tax rate is set is UNCONFIRMED.
func (r *ProductRow) compute() {
	taxFactor := decimal.NewFromInt(1)
	if r.TaxRate != nil {
		taxFactor = taxFactor.Add(r.TaxRate.Div(hundred))
	}
	r.PriceExclusive = r.Price.Div(taxFactor).Round(2)
	switch r.DiscountTypeID {
	case 1:
		r.PriceNetto = r.PriceExclusive.Add(r.DiscountSum)
		r.DiscountRate = decimal.Zero
		if !r.PriceNetto.IsZero() {
			r.DiscountRate = r.DiscountSum.Div(r.PriceNetto).Mul(hundred).Round(2)
		}
	default:
		if r.DiscountRate.Equal(hundred) {
			r.PriceNetto = r.DiscountSum
		} else {
			r.PriceNetto = r.PriceExclusive.Div(decimal.NewFromInt(1).Sub(r.DiscountRate.Div(hundred))).Round(2)
			r.DiscountSum = r.PriceNetto.Sub(r.PriceExclusive)
		}
	}
	r.PriceBrutto = r.PriceNetto.Mul(taxFactor).Round(2)
}

// rowsTotal is what the rows add up to: PRICE × QUANTITY, to 2 decimals.
func rowsTotal(rows []ProductRow) decimal.Decimal {
	sum := decimal.Zero
	for _, r := range rows {
		sum = sum.Add(r.Price.Mul(r.Quantity))
	}
	return sum.Round(2)
}

// recalcOpportunity sets OPPORTUNITY to the rows' total unless the amount
// is manual (IS_MANUAL_OPPORTUNITY=Y): "If a deal has product rows and
// isManualOpportunity = N, the entered value opportunity is replaced by the
// calculation of product rows" (b24restdocs tutorial, docs/api-notes.md).
// After a set that leaves no rows the total is 0.00 (UNCONFIRMED).
func recalcOpportunity(r *Row) {
	if strings.EqualFold(Str(r.Fields["IS_MANUAL_OPPORTUNITY"]), "Y") {
		return
	}
	r.Fields["OPPORTUNITY"] = rowsTotal(r.Products).StringFixed(2)
}

func (s *Server) productRowsGet(kind string, p map[string]any) (*result, *apiErr) {
	r, e := s.ownerRow(kind, p, "The parameter id is invalid or not defined.", "Not found.")
	if e != nil {
		return nil, e
	}
	owner := map[string]string{"deal": "D", "lead": "L"}[kind]
	out := make([]any, len(r.Products))
	for i, pr := range r.Products {
		var tax any
		if pr.TaxRate != nil {
			tax = num(*pr.TaxRate)
		}
		// Types as the docs' example: ids of the row and owner are
		// strings, the rest numbers, PRICE_ACCOUNT a 2-decimal string.
		out[i] = map[string]any{
			"ID": strconv.FormatInt(pr.ID, 10), "OWNER_ID": strconv.FormatInt(r.ID, 10), "OWNER_TYPE": owner,
			"PRODUCT_ID": pr.ProductID, "PRODUCT_NAME": pr.ProductName, "ORIGINAL_PRODUCT_NAME": pr.OriginalName,
			"PRODUCT_DESCRIPTION": nil, "PRICE": num(pr.Price), "PRICE_EXCLUSIVE": num(pr.PriceExclusive),
			"PRICE_NETTO": num(pr.PriceNetto), "PRICE_BRUTTO": num(pr.PriceBrutto), "PRICE_ACCOUNT": pr.Price.StringFixed(2),
			"QUANTITY": num(pr.Quantity), "DISCOUNT_TYPE_ID": pr.DiscountTypeID, "DISCOUNT_RATE": num(pr.DiscountRate),
			"DISCOUNT_SUM": num(pr.DiscountSum), "TAX_RATE": tax, "TAX_INCLUDED": yn(pr.TaxIncluded), "CUSTOMIZED": "Y",
			"MEASURE_CODE": pr.MeasureCode, "MEASURE_NAME": pr.MeasureName, "SORT": pr.Sort, "XML_ID": "",
			"TYPE": pr.Type, "STORE_ID": 0, "RESERVE_ID": nil, "DATE_RESERVE_END": nil, "RESERVE_QUANTITY": 0,
		}
	}
	return ok(out)
}

func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }

// The catalogue (scope catalog).

func (s *Server) catalogList(p map[string]any) (*result, *apiErr) {
	cs := compileFilter(asMap(p["filter"]))
	get := func(c *Catalog) getter {
		return func(f string) []string {
			switch f {
			case "ID", "IBLOCKID":
				return []string{itoa(c.IBlockID)}
			case "NAME":
				return []string{c.Name}
			case "PRODUCTIBLOCKID":
				return []string{itoa(c.ProductIBlockID)}
			case "IBLOCKTYPEID":
				return []string{"0"}
			}
			return nil
		}
	}
	if e := checkStart("catalog.catalog.list", p["start"]); e != nil {
		return nil, e
	}
	cats := slices.Clone(s.data.catalogs)
	slices.SortFunc(cats, func(a, b *Catalog) int { return int(a.IBlockID - b.IBlockID) })
	rows, res := listPage(cats, func(c *Catalog) bool { return cs.match(get(c)) }, asMap(p["order"]), p["start"], get)
	out := make([]any, len(rows))
	for i, c := range rows {
		var parent, sku any
		if c.ProductIBlockID != 0 {
			parent, sku = c.ProductIBlockID, 90+c.IBlockID
		}
		// iblockTypeId: the type table says CRM_PRODUCT_CATALOG, the
		// recorded answer shows 0; the fake sends what was recorded.
		out[i] = map[string]any{"id": c.IBlockID, "iblockId": c.IBlockID, "iblockTypeId": 0, "lid": "s1",
			"name": c.Name, "productIblockId": parent, "skuPropertyId": sku, "subscription": "N", "vatId": 1}
	}
	res.value = map[string]any{"catalogs": out}
	return res, nil
}

// catalogErr is the catalog module's error form: a numeric code (0 for
// these) and HTTP 400 (catalog-product-list.md). The texts are the fake's.
func catalogErr(desc string) *apiErr { return &apiErr{status: 400, code: 0, desc: desc} }

// productValue is a catalog_product field the fake answers, by its
// upper-cased name (filters compare names case-insensitively).
func productValue(pr *CatalogProduct, field string) (any, bool) {
	switch strings.ToUpper(field) {
	case "ID":
		return pr.ID, true
	case "IBLOCKID":
		return pr.IBlockID, true
	case "NAME":
		return pr.Name, true
	case "XMLID":
		return pr.XMLID, true
	case "ACTIVE":
		return yn(!pr.Inactive), true
	case "AVAILABLE":
		return yn(!pr.Inactive), true
	case "CODE":
		return "", true
	case "MEASURE":
		return pr.Measure, true
	case "TYPE":
		return pr.Type, true
	case "SORT":
		return 100, true
	case "VATID":
		return nil, true
	case "VATINCLUDED":
		return "Y", true
	case "IBLOCKSECTIONID":
		return nil, true
	}
	return nil, false
}

func (s *Server) productList(p map[string]any) (*result, *apiErr) {
	var sel []string
	for _, e := range List(p["select"]) {
		sel = append(sel, Str(e))
	}
	has := func(name string) bool {
		return slices.ContainsFunc(sel, func(x string) bool { return strings.EqualFold(x, name) })
	}
	if !has("id") || !has("iblockId") {
		return nil, catalogErr("Required select fields: id, iblockId")
	}
	filter := asMap(p["filter"])
	if _, ok := getCI(filter, "iblockId"); !ok {
		return nil, catalogErr("Required filter fields: iblockId")
	}
	for k := range filter {
		if strings.HasPrefix(k, "@") || strings.HasPrefix(k, "!@") {
			// The page documents IN as an array given to the plain key
			// (or =), NOT IN as an array to !; what a portal does with @
			// is not documented, so the fake refuses it loudly.
			return nil, catalogErr("bitrixtest: filter prefix @ is not documented for catalog.product.list; give an array to " + strings.TrimLeft(k, "!@"))
		}
	}
	if e := checkStart("catalog.product.list", p["start"]); e != nil {
		return nil, e
	}
	cs := compileFilter(filter)
	get := func(pr *CatalogProduct) getter {
		return func(f string) []string {
			v, _ := productValue(pr, f)
			return []string{Str(v)}
		}
	}
	rows, res := listPage(slices.Clone(s.data.products), func(pr *CatalogProduct) bool { return cs.match(get(pr)) },
		asMap(p["order"]), p["start"], get)
	out := make([]any, len(rows))
	for i, pr := range rows {
		m := map[string]any{}
		for _, f := range sel {
			if v, ok := productValue(pr, f); ok {
				m[f] = v
			}
		}
		out[i] = m
	}
	res.value = map[string]any{"products": out}
	return res, nil
}

// DefaultScopes are the webhook scopes of a fake made without
// Options.Scopes; a test that needs more (e.g. catalog) appends to them.
func DefaultScopes() []string { return []string{"crm", "task", "im", "bizproc", "user"} }
