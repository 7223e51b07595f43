package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// BitrixBudget returns the portal's request counter as the last run left
// it: level requests not yet drained at at. ok is false when no run has
// recorded one for portal.
func (r *reader) BitrixBudget(ctx context.Context, portal string) (level float64, at time.Time, ok bool, err error) {
	var ms int64
	err = r.q.QueryRowContext(ctx, `SELECT level, at FROM bitrix_budget WHERE portal = ?`, portal).Scan(&level, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("read bitrix budget: %w", err)
	}
	return level, fromMS(ms), true, nil
}

// PutBitrixBudget records the portal's request counter (level at at) for
// the next run.
func (t *Tx) PutBitrixBudget(ctx context.Context, portal string, level float64, at time.Time) error {
	if portal == "" {
		return fmt.Errorf("put bitrix budget: the portal must be named")
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO bitrix_budget (portal, level, at) VALUES (?, ?, ?)
		ON CONFLICT (portal) DO UPDATE SET level = excluded.level, at = excluded.at`,
		portal, level, ms(t.orNow(at))); err != nil {
		return fmt.Errorf("put bitrix budget: %w", err)
	}
	return nil
}
