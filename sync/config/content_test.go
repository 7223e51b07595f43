package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDealContentKeys: mapping.products, mapping.values (keys and values
// keep their case) and mapping.paid_field load.
func TestDealContentKeys(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, `mapping:
  deal_fields: {UF_CRM_DELIVERY: delivery.code, UF_CRM_TYPE: orderType}
  products: {match: External_ID, iblock_id: 14}
  values:
    UF_CRM_DELIVERY: {courier: "45", Russian-Post: "46"}
    UF_CRM_PAID: {"Y": "61", "N": "62"}
  paid_field: UF_CRM_PAID
`)
	m := cfg.Mapping
	if m.Products != (Products{Match: ProductsMatchExternalID, IBlockID: 14}) || m.PaidField != "UF_CRM_PAID" {
		t.Errorf("products %+v, paid field %q", m.Products, m.PaidField)
	}
	want := map[string]map[string]string{"UF_CRM_DELIVERY": {"courier": "45", "Russian-Post": "46"}, "UF_CRM_PAID": {"Y": "61", "N": "62"}}
	if diff := cmp.Diff(want, m.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	def := mustLoad(t, "db: x.db\n")
	if def.Mapping.Products.Match != ProductsMatchNone || def.Mapping.Values != nil || def.Mapping.PaidField != "" {
		t.Errorf("defaults: %+v", def.Mapping)
	}
}

// TestDealContentKeysRefused: every problem names its key.
func TestDealContentKeysRefused(t *testing.T) {
	t.Parallel()
	loadInvalidCases(t, []invalidCase{
		{"match", "mapping: {products: {match: sku}}\n", []string{"mapping.products.match:"}, nil},
		{"iblock", "mapping: {products: {iblock_id: -1}}\n", []string{"mapping.products.iblock_id:"}, nil},
		{"unknown products key", "mapping: {products: {matches: none}}\n", []string{"mapping.products.matches:"}, nil},
		{"values not nested", "mapping: {deal_fields: {UF_CRM_X: a}, values: {UF_CRM_X: 5}}\n", []string{"mapping.values.UF_CRM_X:"}, nil},
		{"values of an unmapped field", "mapping: {values: {UF_CRM_X: {a: '1'}}}\n", []string{"mapping.values.UF_CRM_X:"}, nil},
		{"empty target", "mapping: {deal_fields: {UF_CRM_X: a}, values: {UF_CRM_X: {a: ''}}}\n", []string{"mapping.values.UF_CRM_X.a:"}, nil},
		{"paid field name", "mapping: {paid_field: paid}\n", []string{"mapping.paid_field:"}, nil},
		{"paid field twice", "mapping: {deal_fields: {UF_CRM_PAID: a}, paid_field: UF_CRM_PAID}\n", []string{"mapping.paid_field:"}, nil},
	})
}
