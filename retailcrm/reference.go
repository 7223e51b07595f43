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
