package retailcrm

import (
	"net/http"
	"strings"
)

// Scopes of a RetailCRM API key (GET /api/credentials) that crmsync's calls
// need; see docs/api-notes.md, "Scopes, auth and transport".
const (
	ScopeOrderRead     = "order_read"
	ScopeOrderWrite    = "order_write"
	ScopeCustomerRead  = "customer_read"
	ScopeReferenceRead = "reference_read"
	// ScopeUserRead is what /api/v5/users needs (manager matching); the
	// name follows the others, no primary source confirms it.
	ScopeUserRead = "user_read"
)

// EndpointScope returns the scope a call of method on path (e.g. "GET",
// "/api/v5/customers/history") needs, or "" when no scope is known for it
// (/api/credentials needs none; the scope of /api/v5/settings is not
// documented).
func EndpointScope(method, path string) string {
	switch {
	case strings.HasPrefix(path, "/api/v5/reference/"):
		return ScopeReferenceRead
	case path == "/api/v5/customers" || strings.HasPrefix(path, "/api/v5/customers/"):
		return ScopeCustomerRead
	case path == "/api/v5/customers-corporate" || strings.HasPrefix(path, "/api/v5/customers-corporate/"):
		// Corporate customers have no scope of their own in the scope
		// lists RetailCRM's module checks.
		return ScopeCustomerRead
	case path == "/api/v5/users" || strings.HasPrefix(path, "/api/v5/users/"):
		return ScopeUserRead
	case path == "/api/v5/orders" || strings.HasPrefix(path, "/api/v5/orders/"):
		if method == http.MethodGet {
			return ScopeOrderRead
		}
		return ScopeOrderWrite
	}
	return ""
}
