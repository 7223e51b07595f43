package store

import (
	"context"
	"database/sql"
	"strings"
)

// maxTxStmts bounds the statements one transaction keeps prepared: queries
// built with a variable number of placeholders would otherwise each take a
// slot.
const maxTxStmts = 64

// stmtTx is a write transaction that prepares each statement text once and
// reuses it: a backfill group writes the same few statements hundreds of
// times in one transaction, and SQLite's parser and planner were a large
// share of the engine's time per order. The statements are closed with the
// transaction (database/sql closes a Tx's statements at Commit and
// Rollback).
type stmtTx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

func newStmtTx(tx *sql.Tx) *stmtTx { return &stmtTx{Tx: tx, stmts: map[string]*sql.Stmt{}} }

// stmt is the prepared statement of query, or nil when it is not kept (a
// script of several statements, a full cache, or a text SQLite rejects, so
// the unprepared call reports the error as before).
func (t *stmtTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := t.stmts[query]; ok {
		return s
	}
	if len(t.stmts) >= maxTxStmts || strings.Contains(query, ";") {
		return nil
	}
	s, err := t.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	t.stmts[query] = s
	return s
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
