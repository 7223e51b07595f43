package retailcrm

import (
	"context"
	"encoding/json"
	"fmt"
)

// refResponse decodes {"success": …, "<member>": {code: T}} where the map
// may come as [] when empty.
type refResponse[T any] struct {
	envelope
	member string
	items  map[string]T
}

func (r *refResponse[T]) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &r.envelope); err != nil {
		return err
	}
	v, ok := raw[r.member]
	if !ok {
		if r.envelope.Success != nil && !*r.envelope.Success {
			return nil
		}
		return fmt.Errorf("no %q member", r.member)
	}
	items, err := codeMap[T](v)
	if err != nil {
		return fmt.Errorf("%s: %w", r.member, err)
	}
	r.items = items
	return nil
}

func getReference[T any](ctx context.Context, c *Client, path, member string) (map[string]T, error) {
	r := &refResponse[T]{member: member}
	if err := c.get(ctx, path, nil, r); err != nil {
		return nil, err
	}
	return r.items, nil
}

// Statuses reads the order statuses keyed by code.
func (c *Client) Statuses(ctx context.Context) (map[string]Status, error) {
	return getReference[Status](ctx, c, "/api/v5/reference/statuses", "statuses")
}

// ProductStatuses reads the order line statuses keyed by code.
func (c *Client) ProductStatuses(ctx context.Context) (map[string]ProductStatus, error) {
	return getReference[ProductStatus](ctx, c, "/api/v5/reference/product-statuses", "productStatuses")
}

// StatusGroups reads the status groups keyed by code.
func (c *Client) StatusGroups(ctx context.Context) (map[string]StatusGroup, error) {
	return getReference[StatusGroup](ctx, c, "/api/v5/reference/status-groups", "statusGroups")
}

// OrderMethods reads the order methods keyed by code.
func (c *Client) OrderMethods(ctx context.Context) (map[string]OrderMethod, error) {
	return getReference[OrderMethod](ctx, c, "/api/v5/reference/order-methods", "orderMethods")
}

// DeliveryTypes reads the delivery types keyed by code.
func (c *Client) DeliveryTypes(ctx context.Context) (map[string]DeliveryType, error) {
	return getReference[DeliveryType](ctx, c, "/api/v5/reference/delivery-types", "deliveryTypes")
}

// PaymentTypes reads the payment types keyed by code.
func (c *Client) PaymentTypes(ctx context.Context) (map[string]PaymentType, error) {
	return getReference[PaymentType](ctx, c, "/api/v5/reference/payment-types", "paymentTypes")
}

// Sites reads the account's stores keyed by code.
func (c *Client) Sites(ctx context.Context) (map[string]Site, error) {
	return getReference[Site](ctx, c, "/api/v5/reference/sites", "sites")
}

// PaymentStatuses reads the payment statuses keyed by code.
func (c *Client) PaymentStatuses(ctx context.Context) (map[string]PaymentStatus, error) {
	return getReference[PaymentStatus](ctx, c, "/api/v5/reference/payment-statuses", "paymentStatuses")
}

// OrderTypes reads the order types keyed by code.
func (c *Client) OrderTypes(ctx context.Context) (map[string]OrderType, error) {
	return getReference[OrderType](ctx, c, "/api/v5/reference/order-types", "orderTypes")
}

// Named is a reference entry with a display name: Status, StatusGroup,
// ProductStatus, OrderMethod, OrderType, DeliveryType, PaymentType,
// PaymentStatus or Site.
type Named interface{ displayName() string }

func (v Status) displayName() string        { return v.Name }
func (v StatusGroup) displayName() string   { return v.Name }
func (v ProductStatus) displayName() string { return v.Name }
func (v OrderMethod) displayName() string   { return v.Name }
func (v OrderType) displayName() string     { return v.Name }
func (v DeliveryType) displayName() string  { return v.Name }
func (v PaymentType) displayName() string   { return v.Name }
func (v PaymentStatus) displayName() string { return v.Name }
func (v Site) displayName() string          { return v.Name }

// Names turns a dictionary into code → name, the names as the shop wrote
// them; an entry without a name is named by its code.
func Names[T Named](dict map[string]T) map[string]string {
	out := make(map[string]string, len(dict))
	for code, v := range dict {
		name := v.displayName()
		if name == "" {
			name = code
		}
		out[code] = name
	}
	return out
}
