package store

import (
	"context"
	"fmt"
	"time"
)

// ReferenceEntry is one entry of a cached RetailCRM dictionary.
type ReferenceEntry struct {
	Code string
	Name string
	// StatusGroup is an order status's group (dictionary "statuses").
	StatusGroup string
	// CancelStatus marks a product status that takes the line out of the
	// order (dictionary "product-statuses").
	CancelStatus bool
}

// Reference is a cached dictionary: its entries by code, and when it was
// read.
type Reference struct {
	Entries   map[string]ReferenceEntry
	FetchedAt time.Time
}

// References returns every cached dictionary by name; a dictionary never
// read is absent.
func (r *reader) References(ctx context.Context) (map[string]Reference, error) {
	out := map[string]Reference{}
	err := queryEach(ctx, r.q, "read reference fetches", `SELECT dictionary, fetched_at FROM reference_fetches`, nil, func(sc scanner) error {
		var name string
		var at int64
		err := sc.Scan(&name, &at)
		out[name] = Reference{Entries: map[string]ReferenceEntry{}, FetchedAt: fromMS(at)}
		return err
	})
	if err != nil {
		return nil, err
	}
	err = queryEach(ctx, r.q, "read reference names", `SELECT dictionary, code, name, status_group, cancel_status FROM reference_names`, nil, func(sc scanner) error {
		var dict string
		var e ReferenceEntry
		err := sc.Scan(&dict, &e.Code, &e.Name, &e.StatusGroup, &e.CancelStatus)
		if ref, ok := out[dict]; ok {
			ref.Entries[e.Code] = e
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutReference replaces a cached dictionary with what was read at
// fetchedAt (the store's clock when zero).
func (t *Tx) PutReference(ctx context.Context, dictionary string, entries []ReferenceEntry, fetchedAt time.Time) error {
	if dictionary == "" {
		return fmt.Errorf("put reference: the dictionary must be named")
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM reference_names WHERE dictionary = ?`, dictionary); err != nil {
		return fmt.Errorf("put reference %s: %w", dictionary, err)
	}
	for _, e := range entries {
		if e.Code == "" {
			continue
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO reference_names (dictionary, code, name, status_group, cancel_status)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (dictionary, code) DO UPDATE SET name = excluded.name,
			status_group = excluded.status_group, cancel_status = excluded.cancel_status`,
			dictionary, e.Code, e.Name, e.StatusGroup, e.CancelStatus); err != nil {
			return fmt.Errorf("put reference %s %s: %w", dictionary, e.Code, err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO reference_fetches (dictionary, fetched_at) VALUES (?, ?)
		ON CONFLICT (dictionary) DO UPDATE SET fetched_at = excluded.fetched_at`, dictionary, ms(t.orNow(fetchedAt))); err != nil {
		return fmt.Errorf("put reference %s: %w", dictionary, err)
	}
	return nil
}
