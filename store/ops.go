package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StartRun records the start of a command's run and returns its id. The
// caller holds the RunLock, so any run still marked running was left by a
// process that died: those are marked interrupted first.
func (s *Store) StartRun(ctx context.Context, command string, pid int) (int64, error) {
	var id int64
	err := s.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE runs SET result = 'interrupted' WHERE result = 'running'`); err != nil {
			return err
		}
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO runs (command, started_at, result, pid) VALUES (?, ?, 'running', ?)`,
			command, ms(s.now()), pid)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start run %s: %w", command, err)
	}
	return id, nil
}

// FinishRun records a run's end, result, counters and (for a failed run)
// its error message, which is redacted.
func (s *Store) FinishRun(ctx context.Context, id int64, result RunResult, counters map[string]int64, message string) error {
	return s.FinishRunLeaving(ctx, id, result, counters, message, RunLeaves{})
}

// FinishRunLeaving is FinishRun that also records, in the same
// transaction, the state the run leaves for the next run and for status
// (RunState). The counters are the run's report only: nothing reads them
// back as state.
func (s *Store) FinishRunLeaving(ctx context.Context, id int64, result RunResult, counters map[string]int64, message string, leaves RunLeaves) error {
	enc, err := encodeCounters(counters)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return s.Tx(ctx, func(tx *Tx) error {
		var command string
		var started int64
		now := ms(s.now())
		err := tx.tx.QueryRowContext(ctx, `UPDATE runs SET ended_at = ?, result = ?, counters = ?, message = ? WHERE id = ?
			RETURNING command, started_at`, now, string(result), enc, s.mask(message), id).Scan(&command, &started)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("finish run %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("finish run %d: %w", id, err)
		}
		if leaves.Backlog == nil && !leaves.CommentsComplete {
			return nil
		}
		var backlog, complete sql.NullInt64
		if leaves.Backlog != nil {
			backlog = sql.NullInt64{Int64: *leaves.Backlog, Valid: true}
		}
		if leaves.CommentsComplete {
			complete = sql.NullInt64{Int64: started, Valid: true}
		}
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO run_state (command, backlog, comments_complete_at, run_id, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (command) DO UPDATE SET backlog = coalesce(excluded.backlog, backlog),
				comments_complete_at = coalesce(excluded.comments_complete_at, comments_complete_at),
				run_id = excluded.run_id, updated_at = excluded.updated_at`, command, backlog, complete, id, now)
		if err != nil {
			return fmt.Errorf("finish run %d: run state: %w", id, err)
		}
		return nil
	})
}

// RetryFailures re-queues failures: unparked, attempts reset, due now. With
// no ids it re-queues every parked failure. Skipped ones are re-queued only
// when named. It returns the ids changed, so the caller can name unknown ones.
func (s *Store) RetryFailures(ctx context.Context, ids []int64) ([]int64, error) {
	where := `parked = 1 AND skipped = 0`
	args := []any{ms(s.now())}
	if len(ids) > 0 {
		where = `id IN (SELECT value FROM json_each(?))`
		args = append(args, idsJSON(ids))
	}
	return s.updateFailures(ctx, "retry", `UPDATE failures SET parked = 0, skipped = 0, attempts = 0, next_attempt_at = ?
		WHERE `+where+` RETURNING id`, args...)
}

// SkipFailures acknowledges failures: they are no longer retried nor listed
// by default. It returns the ids changed.
func (s *Store) SkipFailures(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.updateFailures(ctx, "skip", `UPDATE failures SET skipped = 1
		WHERE id IN (SELECT value FROM json_each(?)) RETURNING id`, idsJSON(ids))
}

func (s *Store) updateFailures(ctx context.Context, op, query string, args ...any) ([]int64, error) {
	var out []int64
	err := s.Tx(ctx, func(tx *Tx) (err error) {
		out, err = queryAll(ctx, tx.tx, "", query, args, scanInt64)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s failures: %w", op, err)
	}
	return out, nil
}

// Prune deletes what is older than before: events, runs (but the latest of
// each command) and ledger rows (but the latest value of each field, which
// conflict resolution still needs). Links, cursors, failures, rule fires
// and the other state tables are kept: they are state, not history.
func (s *Store) Prune(ctx context.Context, before time.Time) (PruneResult, error) {
	var r PruneResult
	cut := ms(before)
	err := s.Tx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM events WHERE at < ?`, cut)
		if err != nil {
			return err
		}
		r.Events, _ = res.RowsAffected()
		res, err = tx.tx.ExecContext(ctx, `DELETE FROM ledger WHERE written_at < ? AND id NOT IN
			(SELECT max(id) FROM ledger GROUP BY side, entity, entity_id, field)`, cut)
		if err != nil {
			return err
		}
		r.Ledger, _ = res.RowsAffected()
		res, err = tx.tx.ExecContext(ctx, `DELETE FROM runs WHERE started_at < ? AND result <> 'running' AND id NOT IN
			(SELECT max(id) FROM runs GROUP BY command)`, cut)
		if err != nil {
			return err
		}
		r.Runs, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune: %w", err)
	}
	return r, nil
}
