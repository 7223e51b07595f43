package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDealContentKeys: mapping.products, mapping.values (keys and values
// keep their case) and mapping.paid_field load.
func TestDealContentKeys(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, `mapping:
  deal_fields: {UF_CRM_DELIVERY: delivery.code, UF_CRM_TYPE: orderType}
  products: {match: External_ID, iblock_id: 14}
  values:
    UF_CRM_DELIVERY: {courier: "45", Russian-Post: "46"}
    UF_CRM_PAID: {"Y": "61", "N": "62"}
  paid_field: UF_CRM_PAID
`)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Mapping
	if m.Products != (Products{Match: ProductsMatchExternalID, IBlockID: 14}) || m.PaidField != "UF_CRM_PAID" {
		t.Errorf("products %+v, paid field %q", m.Products, m.PaidField)
	}
	want := map[string]map[string]string{"UF_CRM_DELIVERY": {"courier": "45", "Russian-Post": "46"}, "UF_CRM_PAID": {"Y": "61", "N": "62"}}
	if diff := cmp.Diff(want, m.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	def, err := load(t, "db: x.db\n")
	if err != nil {
		t.Fatal(err)
	}
	if def.Mapping.Products.Match != ProductsMatchNone || def.Mapping.Values != nil || def.Mapping.PaidField != "" {
		t.Errorf("defaults: %+v", def.Mapping)
	}
}

// TestDealContentKeysRefused: every problem names its key.
func TestDealContentKeysRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, body, key string }{
		{"match", "mapping: {products: {match: sku}}\n", "mapping.products.match"},
		{"iblock", "mapping: {products: {iblock_id: -1}}\n", "mapping.products.iblock_id"},
		{"unknown products key", "mapping: {products: {matches: none}}\n", "mapping.products.matches"},
		{"values not nested", "mapping: {deal_fields: {UF_CRM_X: a}, values: {UF_CRM_X: 5}}\n", "mapping.values.UF_CRM_X"},
		{"values of an unmapped field", "mapping: {values: {UF_CRM_X: {a: '1'}}}\n", "mapping.values.UF_CRM_X"},
		{"empty target", "mapping: {deal_fields: {UF_CRM_X: a}, values: {UF_CRM_X: {a: ''}}}\n", "mapping.values.UF_CRM_X.a"},
		{"paid field name", "mapping: {paid_field: paid}\n", "mapping.paid_field"},
		{"paid field twice", "mapping: {deal_fields: {UF_CRM_PAID: a}, paid_field: UF_CRM_PAID}\n", "mapping.paid_field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.key+":") {
				t.Errorf("error %v, want one naming %s", err, tt.key)
			}
		})
	}
}
