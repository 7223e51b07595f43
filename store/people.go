package store

import (
	"context"
	"fmt"
	"time"
)

// ManagerMatch is what pull knows of a RetailCRM user (a manager): the
// Bitrix24 user matched to it by e-mail, if any, and its name.
type ManagerMatch struct {
	RetailCRMUserID int64
	BitrixUserID    int64  // 0: no Bitrix24 user matched
	Email           string // normalised (NormalizeEmail)
	Name            string
	MatchedAt       time.Time // zero means now when written
}

// ManagerMatches returns every stored match by RetailCRM user id.
func (r *reader) ManagerMatches(ctx context.Context) (map[int64]ManagerMatch, error) {
	out := map[int64]ManagerMatch{}
	err := queryRows(ctx, r.q, "read manager matches", `SELECT retailcrm_user_id, bitrix_user_id, email, name, matched_at FROM manager_matches`,
		nil, func(sc scanner) (m ManagerMatch, err error) {
			var at int64
			err = sc.Scan(&m.RetailCRMUserID, &m.BitrixUserID, &m.Email, &m.Name, &at)
			m.MatchedAt = fromMS(at)
			return m, err
		}, func(m ManagerMatch) { out[m.RetailCRMUserID] = m })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReplaceManagerMatches replaces every stored match with matches: a refresh
// reads both user lists whole, so a user gone from either loses its match.
func (t *Tx) ReplaceManagerMatches(ctx context.Context, matches []ManagerMatch) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM manager_matches`); err != nil {
		return fmt.Errorf("replace manager matches: %w", err)
	}
	for _, m := range matches {
		if m.RetailCRMUserID <= 0 {
			return fmt.Errorf("replace manager matches: RetailCRM user id %d", m.RetailCRMUserID)
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO manager_matches (retailcrm_user_id, bitrix_user_id, email, name, matched_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (retailcrm_user_id) DO UPDATE SET bitrix_user_id = excluded.bitrix_user_id,
			email = excluded.email, name = excluded.name, matched_at = excluded.matched_at`,
			m.RetailCRMUserID, max(m.BitrixUserID, 0), NormalizeEmail(m.Email), m.Name, ms(t.orNow(m.MatchedAt)))
		if err != nil {
			return fmt.Errorf("replace manager matches: %w", err)
		}
	}
	return nil
}

// RepointCustomer moves what crmsync keeps of RetailCRM customer from to
// into, after RetailCRM merged them: the orders linked with from's
// customer id and their purchase-profile rows. The customer links are the
// caller's (PutCustomerLink).
func (t *Tx) RepointCustomer(ctx context.Context, from, into int64) error {
	for _, q := range []string{`UPDATE order_links SET customer_id = ? WHERE customer_id = ?`,
		`UPDATE profile_contributions SET customer_id = ? WHERE customer_id = ?`} {
		if _, err := t.tx.ExecContext(ctx, q, into, from); err != nil {
			return fmt.Errorf("repoint customer %d to %d: %w", from, into, err)
		}
	}
	return nil
}
