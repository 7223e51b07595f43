package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// A key without customer_read fails check up front, and a pull or backfill
// that meets the refusal anyway exits 4 naming the scope to allow.
func TestMissingCustomerReadIsAConfigurationError(t *testing.T) {
	t.Parallel()
	rc := retailcrmtest.New(t, retailcrmtest.Options{Scopes: []string{"order_read", "order_write", "reference_read"}})
	bx := bitrixtest.New(t, bitrixtest.Options{Unlimited: true})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, pullConfig(rc, bx))
	rc.CreateOrder(retailcrm.Order{Customer: &retailcrm.Customer{FirstName: "Anna", Email: "anna@example.com"}})

	r := runInProcess(t, "--config", cfg, "check")
	r.mustCode(t, exitConfig)
	if !strings.Contains(r.stdout, "FAIL retailcrm.scopes") || !strings.Contains(r.stdout, "customer_read (pull: customer changes") {
		t.Errorf("check output:\n%s", r.stdout)
	}
	for _, cmd := range []string{"pull", "backfill"} {
		r := runInProcess(t, "--config", cfg, "--db", filepath.Join(dir, cmd+".db"), cmd)
		r.mustCode(t, exitConfig)
		if !strings.Contains(r.stderr, "/api/v5/customers/history: HTTP 403: Access denied.") ||
			!strings.Contains(r.stderr, "needs the API key scope customer_read") || strings.Contains(r.stderr, rc.APIKey()) {
			t.Errorf("%s stderr:\n%s", cmd, r.stderr)
		}
	}
}
