package bitrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Discount types of a product row (DISCOUNT_TYPE_ID). The type says which
// of DISCOUNT_SUM and DISCOUNT_RATE the portal takes as given; it computes
// the other (docs/api-notes.md, "Deal content").
const (
	DiscountAbsolute = 1 // DISCOUNT_SUM per unit is given
	DiscountPercent  = 2 // DISCOUNT_RATE is given; the portal's default
)

// ProductRow is one row crm.<deal|lead>.productrows.set writes. Money and
// quantities are exact decimals and travel as JSON numbers written from
// the decimal text, never through float64.
type ProductRow struct {
	// ProductID is a catalogue product (catalog.product.list), 0 for a
	// free-text row.
	ProductID   ID
	ProductName string
	// Price is the final price of one unit: discount and tax applied.
	Price    decimal.Decimal
	Quantity decimal.Decimal
	// DiscountType is DiscountAbsolute (DiscountSum sent) or
	// DiscountPercent (DiscountRate sent); 0 sends no discount fields, which
	// the portal takes as a 0% discount.
	DiscountType int
	DiscountSum  decimal.Decimal // per unit, with DiscountAbsolute
	DiscountRate decimal.Decimal // percent, with DiscountPercent
	// TaxRate in percent; nil sends no TAX_RATE (a row without tax).
	TaxRate     *decimal.Decimal
	TaxIncluded bool
	// MeasureCode (catalog_measure.code, e.g. 796 pieces) and MeasureName
	// are sent when set; otherwise the portal takes the catalogue
	// product's, or 0 and "" for a free-text row.
	MeasureCode int
	MeasureName string
	Sort        int
}

// Validate reports what the portal would refuse, or store in a way nobody
// means: a row without a name and product (the portal names it "[<row
// id>]"), a quantity that is not positive, negative money, an unknown
// discount type, a rate outside 0..100.
func (r ProductRow) Validate() error {
	var problems []string
	if r.ProductID < 0 {
		problems = append(problems, "negative PRODUCT_ID")
	}
	if r.ProductID == 0 && strings.TrimSpace(r.ProductName) == "" {
		problems = append(problems, "no PRODUCT_NAME for a free-text row")
	}
	if !r.Quantity.IsPositive() {
		problems = append(problems, "QUANTITY "+r.Quantity.String()+" is not positive")
	}
	if r.Price.IsNegative() {
		problems = append(problems, "negative PRICE "+r.Price.String())
	}
	switch r.DiscountType {
	case 0:
	case DiscountAbsolute:
		if r.DiscountSum.IsNegative() {
			problems = append(problems, "negative DISCOUNT_SUM "+r.DiscountSum.String())
		}
	case DiscountPercent:
		if r.DiscountRate.IsNegative() || r.DiscountRate.GreaterThan(decimal.NewFromInt(100)) {
			problems = append(problems, "DISCOUNT_RATE "+r.DiscountRate.String()+" is not within 0..100")
		}
	default:
		problems = append(problems, fmt.Sprintf("DISCOUNT_TYPE_ID %d is neither 1 (absolute) nor 2 (percent)", r.DiscountType))
	}
	if r.TaxRate != nil && r.TaxRate.IsNegative() {
		problems = append(problems, "negative TAX_RATE "+r.TaxRate.String())
	}
	if r.MeasureCode < 0 {
		problems = append(problems, "negative MEASURE_CODE")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadRequest, strings.Join(problems, "; "))
	}
	return nil
}

// Fields is the row as sent: only the fields the row sets, decimals as
// JSON numbers in their exact decimal form.
func (r ProductRow) Fields() map[string]any {
	f := map[string]any{
		"PRODUCT_ID":   r.ProductID,
		"PRICE":        Number(r.Price),
		"QUANTITY":     Number(r.Quantity),
		"TAX_INCLUDED": yn(r.TaxIncluded),
		"SORT":         r.Sort,
	}
	if r.ProductName != "" {
		f["PRODUCT_NAME"] = r.ProductName
	}
	switch r.DiscountType {
	case DiscountAbsolute:
		f["DISCOUNT_TYPE_ID"] = DiscountAbsolute
		f["DISCOUNT_SUM"] = Number(r.DiscountSum)
	case DiscountPercent:
		f["DISCOUNT_TYPE_ID"] = DiscountPercent
		f["DISCOUNT_RATE"] = Number(r.DiscountRate)
		if r.DiscountRate.Equal(decimal.NewFromInt(100)) {
			// At 100% the price before the discount cannot be derived from
			// a price of 0, so the portal wants the sum too.
			f["DISCOUNT_SUM"] = Number(r.DiscountSum)
		}
	}
	if r.TaxRate != nil {
		f["TAX_RATE"] = Number(*r.TaxRate)
	}
	if r.MeasureCode != 0 {
		f["MEASURE_CODE"] = r.MeasureCode
	}
	if r.MeasureName != "" {
		f["MEASURE_NAME"] = r.MeasureName
	}
	return f
}

// Number renders d as a JSON number in its exact decimal form ("1999.9",
// "0.013"): no float64 rounding, no exponent. In a batch query it is the
// same text.
func Number(d decimal.Decimal) json.Number { return json.Number(d.String()) }

// FormatMoney renders an amount with two decimals ("1999.90"), the form in
// which the portal stores and answers OPPORTUNITY. Amounts with more
// decimals are rounded half away from zero.
func FormatMoney(d decimal.Decimal) string { return d.StringFixed(2) }

// ProductRowsHashVersion prefixes every ProductRowsHash; a change of the
// encoding bumps it, so stored hashes of the old form never match.
const ProductRowsHashVersion = "pr1"

// ProductRowsHash is the canonical content hash of an ordered list of rows:
// the same rows in the same order give the same hash whatever the decimals'
// trailing zeros ("1.50" and "1.5" are one value). The order counts: the
// call stores the list as sent and a manager sees rows in that order, so a
// reordering is a change to send. No rows at all have a hash too, distinct
// from "" (nothing sent yet).
func ProductRowsHash(rows []ProductRow) string {
	canon := make([]map[string]any, len(rows))
	for i, r := range rows {
		canon[i] = r.Fields()
	}
	// encoding/json sorts map keys, and json.Number keeps the decimal
	// text, so the encoding is canonical.
	b, err := json.Marshal(canon)
	if err != nil {
		// Only ints, strings and json.Number: cannot fail.
		panic(fmt.Sprintf("bitrix: encoding product rows: %v", err))
	}
	sum := sha256.Sum256(b)
	return ProductRowsHashVersion + ":" + hex.EncodeToString(sum[:])
}

// errEmptyRowsInBatch: see ProductRowsSetCmd.
var errEmptyRowsInBatch = errors.New("no rows: a batch query cannot carry an empty list (PHP drops it and the portal answers \"The parameter rows must be array.\"); clear the rows with Client.SetProductRows")

// productRowsEntity checks that e has product rows through the legacy methods.
func productRowsEntity(e Entity) error {
	if e != EntityDeal && e != EntityLead {
		return fmt.Errorf("%w: crm.%s has no productrows methods (deal and lead only)", ErrBadRequest, e)
	}
	return nil
}

// ProductRowsSetCmd builds crm.<deal|lead>.productrows.set for a batch. The
// call replaces every row of the entity: rows not sent are deleted. Each row
// is validated first; the error names the row. An empty list is refused
// here (see Client.SetProductRows).
func ProductRowsSetCmd(e Entity, id ID, rows []ProductRow) (Cmd, error) {
	cmd, err := productRowsSet(e, id, rows)
	if err != nil {
		return Cmd{}, err
	}
	if len(rows) == 0 {
		return Cmd{}, fmt.Errorf("%w: %s %d: %w", ErrBadRequest, cmd.Method, id, errEmptyRowsInBatch)
	}
	return cmd, nil
}

func productRowsSet(e Entity, id ID, rows []ProductRow) (Cmd, error) {
	if err := productRowsEntity(e); err != nil {
		return Cmd{}, err
	}
	method := "crm." + string(e) + ".productrows.set"
	if id <= 0 {
		return Cmd{}, fmt.Errorf("%w: %s: id %d", ErrBadRequest, method, id)
	}
	list := make([]any, len(rows))
	for i, r := range rows {
		if err := r.Validate(); err != nil {
			return Cmd{}, fmt.Errorf("%s %d: row %d (%q): %w", method, id, i+1, r.ProductName, err)
		}
		list[i] = r.Fields()
	}
	return Cmd{Method: method, Params: map[string]any{"id": id, "rows": list}}, nil
}

// ProductRowsGetCmd builds crm.<deal|lead>.productrows.get.
func ProductRowsGetCmd(e Entity, id ID) Cmd {
	return Cmd{Method: "crm." + string(e) + ".productrows.get", Params: map[string]any{"id": id}}
}

// SetProductRows replaces the rows of a deal or lead with one plain call,
// which, unlike a batch command, can also send no rows to clear them.
func (c *Client) SetProductRows(ctx context.Context, e Entity, id ID, rows []ProductRow) error {
	cmd, err := productRowsSet(e, id, rows)
	if err != nil {
		return err
	}
	resp, err := c.Run(ctx, cmd, nil)
	if err != nil {
		return err
	}
	return DecodeTrue(cmd.Method, resp.Result)
}

// ProductRows reads the rows of a deal or lead.
func (c *Client) ProductRows(ctx context.Context, e Entity, id ID) ([]StoredProductRow, error) {
	if err := productRowsEntity(e); err != nil {
		return nil, err
	}
	cmd := ProductRowsGetCmd(e, id)
	return runAs(ctx, c, cmd, decodeIn(cmd.Method, DecodeProductRows))
}

// StoredProductRow is a row as crm.<deal|lead>.productrows.get answers it:
// the fields sent plus what the portal computed (PRICE_EXCLUSIVE,
// PRICE_NETTO, PRICE_BRUTTO, the discount field not sent).
type StoredProductRow struct {
	ID                  ID
	OwnerID             ID
	OwnerType           string // D deal, L lead
	ProductID           ID
	ProductName         string
	OriginalProductName string
	Price               decimal.Decimal
	PriceExclusive      decimal.Decimal // discounted, without tax
	PriceNetto          decimal.Decimal // before discount, without tax
	PriceBrutto         decimal.Decimal // before discount, with tax
	Quantity            decimal.Decimal
	DiscountType        int
	DiscountRate        decimal.Decimal
	DiscountSum         decimal.Decimal
	TaxRate             *decimal.Decimal // nil: null, no tax
	TaxIncluded         bool
	MeasureCode         int
	MeasureName         string
	Sort                int
	XMLID               string
	Type                int // 1 product, 4 offer, 7 service, ...
}

// UnmarshalJSON reads numbers or numeric strings and null.
func (s *StoredProductRow) UnmarshalJSON(b []byte) error {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	var errs []error
	dec := func(name string) decimal.Decimal {
		d, _, err := r.Decimal(name)
		if err != nil {
			errs = append(errs, err)
		}
		return d
	}
	num := func(name string) int {
		n, err := parseLooseInt(r[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return int(n)
	}
	*s = StoredProductRow{
		ID: r.ID(), OwnerID: r.IDField("OWNER_ID"), OwnerType: r.String("OWNER_TYPE"),
		ProductID: r.IDField("PRODUCT_ID"), ProductName: r.String("PRODUCT_NAME"),
		OriginalProductName: r.String("ORIGINAL_PRODUCT_NAME"),
		Price:               dec("PRICE"), PriceExclusive: dec("PRICE_EXCLUSIVE"), PriceNetto: dec("PRICE_NETTO"),
		PriceBrutto: dec("PRICE_BRUTTO"), Quantity: dec("QUANTITY"), DiscountType: num("DISCOUNT_TYPE_ID"),
		DiscountRate: dec("DISCOUNT_RATE"), DiscountSum: dec("DISCOUNT_SUM"), TaxIncluded: r.Bool("TAX_INCLUDED"),
		MeasureCode: num("MEASURE_CODE"), MeasureName: r.String("MEASURE_NAME"), Sort: num("SORT"),
		XMLID: r.String("XML_ID"), Type: num("TYPE"),
	}
	if d, ok, err := r.Decimal("TAX_RATE"); err != nil {
		errs = append(errs, err)
	} else if ok {
		s.TaxRate = &d
	}
	return errors.Join(errs...)
}

// Row returns the writable part of a stored row, as ProductRow; sending it
// back reproduces the row.
func (s StoredProductRow) Row() ProductRow {
	r := ProductRow{ProductID: s.ProductID, ProductName: s.ProductName, Price: s.Price, Quantity: s.Quantity,
		DiscountType: s.DiscountType, TaxRate: s.TaxRate, TaxIncluded: s.TaxIncluded, MeasureCode: s.MeasureCode,
		MeasureName: s.MeasureName, Sort: s.Sort}
	switch s.DiscountType {
	case DiscountAbsolute:
		r.DiscountSum = s.DiscountSum
	case DiscountPercent:
		r.DiscountRate = s.DiscountRate
		r.DiscountSum = s.DiscountSum
	}
	return r
}

// DecodeProductRows decodes a crm.<deal|lead>.productrows.get result.
func DecodeProductRows(raw json.RawMessage) ([]StoredProductRow, error) {
	return listOf[StoredProductRow]("product rows")(raw)
}

// Decimal reads a numeric field exactly from its JSON text (899.1 or
// "899.10"); ok is false when absent, null or "".
func (r Record) Decimal(name string) (d decimal.Decimal, ok bool, err error) {
	s := strings.TrimSpace(rawText(r[name]))
	if s == "" {
		return decimal.Decimal{}, false, nil
	}
	d, err = decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, false, fmt.Errorf("%s %q is not a number", name, truncate(s, 40))
	}
	return d, true, nil
}
