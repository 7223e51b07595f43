// Package storetest is test support for the packages that keep their state
// in the store: it turns a database back into what an older release kept,
// so that a test can check the first run after the migration.
package storetest

import (
	"database/sql"
	"testing"

	_ "modernc.org/sqlite" // the driver the store uses
)

// ToSchema3 turns the database file at path (no store holds it open) back
// into schema 3: carry first moves what the caller's state tables hold into
// the rows schema 3 kept it in, then the tables and columns of the later
// schemas go. The next store.Open migrates the file again.
func ToSchema3(t testing.TB, path string, carry ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// What the migrations after schema 3 added; a new migration adds its
	// undo here, once for every test that goes back.
	undo := []string{
		`DROP TABLE comment_cursors`, `DROP TABLE run_state`, `DROP TABLE profile_contributions`, `DROP TABLE alert_marks`,
		`DROP TABLE reference_names`, `DROP TABLE reference_fetches`,
		`ALTER TABLE order_links DROP COLUMN rows_hash`, `DROP TABLE catalog_products`, // schemas 5 and 6
		`DROP TABLE IF EXISTS manager_matches`,    // schema 7
		`DROP TABLE bitrix_budget`,                // schema 8
		`DROP TABLE IF EXISTS company_links`,      // schema 9
		`DROP TABLE IF EXISTS company_duplicates`, // schema 10
		`PRAGMA user_version = 3`,
	}
	for _, q := range append(carry, undo...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
