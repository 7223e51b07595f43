package store

import (
	"context"
	"fmt"
	"time"
)

// BitrixBudget returns the portal's request counter as the last run left
// it: level requests not yet drained at at. ok is false when no run has
// recorded one for portal.
func (r *reader) BitrixBudget(ctx context.Context, portal string) (level float64, at time.Time, ok bool, err error) {
	var atMS int64
	ok, err = found(r.q.QueryRowContext(ctx, `SELECT level, at FROM bitrix_budget WHERE portal = ?`, portal).Scan(&level, &atMS), "read bitrix budget")
	if !ok {
		return 0, time.Time{}, false, err
	}
	return level, fromMS(atMS), true, nil
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
