package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Tx is one write transaction, handed to the function given to Store.Tx.
// It also has every read method, which sees the transaction's own writes.
// It must not be used after that function returns.
type Tx struct {
	reader
	tx *stmtTx
}

// exec runs one statement. An error is named by what, a format of the
// statement's own arguments (see wrapf).
func (t *Tx) exec(ctx context.Context, what, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, query, args...)
	return wrapf(err, what, args...)
}

// SetCursor stores a cursor's value.
func (t *Tx) SetCursor(ctx context.Context, name, value string) error {
	if name == "" {
		return fmt.Errorf("set cursor: empty name")
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		name, value, ms(t.now()))
	if err != nil {
		return fmt.Errorf("set cursor %q: %w", name, err)
	}
	return nil
}

// SetCursorInt stores a numeric cursor, such as a history record id.
func (t *Tx) SetCursorInt(ctx context.Context, name string, value int64) error {
	return t.SetCursor(ctx, name, itoa(value))
}

// DeleteCursor removes a cursor (e.g. a finished backfill's).
func (t *Tx) DeleteCursor(ctx context.Context, name string) error {
	return t.exec(ctx, "delete cursor %q", `DELETE FROM cursors WHERE name = ?`, name)
}

// PutOrderLink inserts or replaces an order's link.
func (t *Tx) PutOrderLink(ctx context.Context, l OrderLink) error {
	if l.OrderID == 0 || l.EntityID == 0 {
		return fmt.Errorf("put order link: order id %d and entity id %d must be set", l.OrderID, l.EntityID)
	}
	et := entityTypeOrDeal(l.EntityType)
	if et != EntityDeal && et != EntityLead {
		return fmt.Errorf("put order link %d: unknown entity type %q", l.OrderID, et)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO order_links (`+orderLinkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO UPDATE SET site = excluded.site, number = excluded.number,
			entity_type = excluded.entity_type, entity_id = excluded.entity_id,
			contact_id = excluded.contact_id, customer_id = excluded.customer_id,
			content_hash = excluded.content_hash, synced_at = excluded.synced_at, status_group = excluded.status_group,
			rows_hash = excluded.rows_hash`,
		l.OrderID, l.Site, l.Number, string(et), l.EntityID, l.ContactID, l.CustomerID, l.ContentHash, ms(t.orNow(l.SyncedAt)), l.StatusGroup,
		l.RowsHash)
	if err != nil {
		return fmt.Errorf("put order link %d: %w", l.OrderID, err)
	}
	return nil
}

// PutCatalogProducts records catalogue lookups (ProductID 0: no product
// has the code), replacing earlier ones of the same codes.
func (t *Tx) PutCatalogProducts(ctx context.Context, ps []CatalogProduct) error {
	for _, p := range ps {
		if p.XMLID == "" {
			return fmt.Errorf("put catalogue product: empty external code")
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO catalog_products (iblock_id, xml_id, product_id, checked_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (iblock_id, xml_id) DO UPDATE SET product_id = excluded.product_id, checked_at = excluded.checked_at`,
			p.IBlockID, p.XMLID, p.ProductID, ms(t.orNow(p.CheckedAt)))
		if err != nil {
			return fmt.Errorf("put catalogue product %q: %w", p.XMLID, err)
		}
	}
	return nil
}

// ForgetCatalogProducts drops cached lookups, so the codes are looked up
// again (a rows call naming the products failed).
func (t *Tx) ForgetCatalogProducts(ctx context.Context, iblockID int64, xmlIDs []string) error {
	codes, err := json.Marshal(xmlIDs)
	if err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM catalog_products WHERE iblock_id = ? AND xml_id IN (SELECT value FROM json_each(?))`,
		iblockID, string(codes)); err != nil {
		return fmt.Errorf("forget catalogue products: %w", err)
	}
	return nil
}

// SetCommentSweep records the last deal (or lead) id push's comment sweep
// read.
func (t *Tx) SetCommentSweep(ctx context.Context, et EntityType, lastEntityID int64) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO comment_sweeps (entity_type, last_entity_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (entity_type) DO UPDATE SET last_entity_id = excluded.last_entity_id, updated_at = excluded.updated_at`,
		string(entityTypeOrDeal(et)), lastEntityID, ms(t.now()))
	if err != nil {
		return fmt.Errorf("set comment sweep: %w", err)
	}
	return nil
}

// SetCommentCursor records the last comment id push read on a deal (or
// lead).
func (t *Tx) SetCommentCursor(ctx context.Context, et EntityType, entityID, lastCommentID int64) error {
	et = entityTypeOrDeal(et)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO comment_cursors (entity_type, entity_id, last_comment_id, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (entity_type, entity_id) DO UPDATE SET last_comment_id = excluded.last_comment_id, updated_at = excluded.updated_at`,
		string(et), entityID, lastCommentID, ms(t.now()))
	if err != nil {
		return fmt.Errorf("set comment cursor of %s %d: %w", et, entityID, err)
	}
	return nil
}

// PutProfileContribution stores what an order adds to its customer's
// purchase profile, replacing what it added before (under any customer).
func (t *Tx) PutProfileContribution(ctx context.Context, c ProfileContribution) error {
	if c.OrderID == 0 {
		return fmt.Errorf("put profile contribution: order id must be set")
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO profile_contributions (order_id, customer_id, counted, amount, created_at, number, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, counted = excluded.counted,
			amount = excluded.amount, created_at = excluded.created_at, number = excluded.number, updated_at = excluded.updated_at`,
		c.OrderID, c.CustomerID, c.Counted, c.Amount, c.CreatedAt, c.Number, ms(t.now()))
	if err != nil {
		return fmt.Errorf("put profile contribution of order %d: %w", c.OrderID, err)
	}
	return nil
}

// MarkAlertSent records that the alert about a failed run of command, of
// this kind of failure, was sent on day (UTC, 2006-01-02). It returns
// false, changing nothing, when that was already recorded.
func (t *Tx) MarkAlertSent(ctx context.Context, command, kind, day string) (bool, error) {
	if command == "" || kind == "" || day == "" {
		return false, fmt.Errorf("mark alert sent: command, kind and day must be set")
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO alert_marks (command, kind, day, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, command, kind, day, ms(t.now()))
	if err != nil {
		return false, fmt.Errorf("mark alert sent %s/%s/%s: %w", command, kind, day, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteOrderLink forgets an order's link (e.g. its deal was deleted).
func (t *Tx) DeleteOrderLink(ctx context.Context, orderID int64) error {
	return t.exec(ctx, "delete order link %d", `DELETE FROM order_links WHERE order_id = ?`, orderID)
}

// PutCustomerLink inserts or replaces a customer's link. The email is
// stored normalised (NormalizeEmail).
func (t *Tx) PutCustomerLink(ctx context.Context, l CustomerLink) error {
	if l.CustomerID == 0 || l.ContactID == 0 {
		return fmt.Errorf("put customer link: customer id %d and contact id %d must be set", l.CustomerID, l.ContactID)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO customer_links (`+customerLinkCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer_id) DO UPDATE SET contact_id = excluded.contact_id, email = excluded.email,
			phone = excluded.phone, content_hash = excluded.content_hash, synced_at = excluded.synced_at`,
		l.CustomerID, l.ContactID, NormalizeEmail(l.Email), strings.TrimSpace(l.Phone), l.ContentHash, ms(t.orNow(l.SyncedAt)))
	if err != nil {
		return fmt.Errorf("put customer link %d: %w", l.CustomerID, err)
	}
	return nil
}

// DeleteCustomerLink forgets a customer's link.
func (t *Tx) DeleteCustomerLink(ctx context.Context, customerID int64) error {
	return t.exec(ctx, "delete customer link %d", `DELETE FROM customer_links WHERE customer_id = ?`, customerID)
}

func nullInt(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: v != 0} }

// SetDuplicates records what a lookup of one ORIGIN_ID found: the entity
// crmsync uses and the others sharing that ORIGIN_ID. No others clears the
// group (the duplicates are gone, or were merged).
func (t *Tx) SetDuplicates(ctx context.Context, et EntityType, originID, keptID int64, others []int64) error {
	if et != EntityDeal && et != EntityLead && et != EntityContact {
		return fmt.Errorf("set duplicates of %d: unknown entity type %q", originID, et)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM bitrix_duplicates WHERE entity_type = ? AND origin_id = ?`, string(et), originID); err != nil {
		return fmt.Errorf("set duplicates of %s %d: %w", et, originID, err)
	}
	now := ms(t.now())
	for _, id := range others {
		if id == keptID {
			continue
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO bitrix_duplicates (entity_type, origin_id, entity_id, kept_id, seen_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (entity_type, entity_id) DO UPDATE SET origin_id = excluded.origin_id,
				kept_id = excluded.kept_id, seen_at = excluded.seen_at`, string(et), originID, id, keptID, now)
		if err != nil {
			return fmt.Errorf("set duplicates of %s %d: %w", et, originID, err)
		}
	}
	return nil
}

// AddEvent appends to the event log and returns the event's id. The
// message is redacted.
func (t *Tx) AddEvent(ctx context.Context, e Event) (int64, error) {
	if e.Source == "" || e.Action == "" || e.Result == "" {
		return 0, fmt.Errorf("add event: source, action and result must be set")
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO events (run_id, source, source_id, order_id, action, result, message, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		nullInt(e.RunID), string(e.Source), t.mask(e.SourceID), nullInt(e.OrderID), e.Action, string(e.Result), t.mask(e.Message), ms(t.orNow(e.At)))
	if err != nil {
		return 0, fmt.Errorf("add event %s: %w", e.Action, err)
	}
	return res.LastInsertId()
}

// Backoff is the wait after the given number of failed attempts:
// 1m·2^(attempts-1), capped at 6h.
func Backoff(attempts int) time.Duration {
	const base, ceiling = time.Minute, 6 * time.Hour
	if attempts < 1 {
		attempts = 1
	}
	if attempts > 10 { // 2^9 min already exceeds the cap; avoids overflow
		return ceiling
	}
	return min(base<<(attempts-1), ceiling)
}

// RecordFailure notes a failed attempt of an item: the first one inserts
// it, later ones count up, and the next attempt is scheduled by Backoff. The
// item is parked when its attempts reach r.MaxAttempts; parkedNow is true
// only on the attempt that parked it, so one alert is sent per parking. A
// failure after an operator's skip starts over from one attempt. The error
// text and payload are redacted.
func (t *Tx) RecordFailure(ctx context.Context, r FailureReport) (f Failure, parkedNow bool, err error) {
	if r.Kind == "" || r.Key == "" {
		return Failure{}, false, fmt.Errorf("record failure: kind and key must be set")
	}
	prev, ok, err := t.Failure(ctx, r.Kind, r.Key)
	if err != nil {
		return Failure{}, false, err
	}
	now := t.now()
	attempts := 1
	first := now
	if ok && !prev.Skipped {
		attempts = prev.Attempts + 1
		first = prev.FirstFailedAt
	}
	parked := r.MaxAttempts > 0 && attempts >= r.MaxAttempts
	parkedNow = parked && !(ok && prev.Parked && !prev.Skipped)
	_, err = t.tx.ExecContext(ctx, `INSERT INTO failures
		(kind, key, attempts, last_error, payload, first_failed_at, last_failed_at, next_attempt_at, parked, skipped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (kind, key) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error,
			payload = excluded.payload, first_failed_at = excluded.first_failed_at,
			last_failed_at = excluded.last_failed_at, next_attempt_at = excluded.next_attempt_at,
			parked = excluded.parked, skipped = 0`,
		r.Kind, r.Key, attempts, t.mask(r.Error), t.mask(r.Payload), ms(first), ms(now), ms(now.Add(Backoff(attempts))), parked)
	if err != nil {
		return Failure{}, false, fmt.Errorf("record failure %s %s: %w", r.Kind, r.Key, err)
	}
	f, _, err = t.Failure(ctx, r.Kind, r.Key)
	return f, parkedNow, err
}

// ClearFailure forgets an item's failure after it succeeded. Clearing an
// item that never failed is not an error.
func (t *Tx) ClearFailure(ctx context.Context, kind, key string) error {
	return t.exec(ctx, "clear failure %s %s", `DELETE FROM failures WHERE kind = ? AND key = ?`, kind, key)
}

// AddLedger records a value crmsync wrote. The value is redacted (and so is
// the value LedgerHas compares, so the two still match).
func (t *Tx) AddLedger(ctx context.Context, e LedgerEntry) error {
	if e.Side == "" || e.Entity == "" || e.Field == "" {
		return fmt.Errorf("add ledger: side, entity and field must be set")
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO ledger (side, entity, entity_id, field, value, remote_id, written_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		string(e.Side), e.Entity, e.EntityID, e.Field, t.mask(e.Value), e.RemoteID, ms(t.orNow(e.WrittenAt)))
	if err != nil {
		return fmt.Errorf("add ledger %s %s %d: %w", e.Side, e.Entity, e.EntityID, err)
	}
	return nil
}

// MarkRuleFired records that a rule's action ran for an event. It returns
// false, changing nothing, when that was already recorded.
func (t *Tx) MarkRuleFired(ctx context.Context, f RuleFire) (bool, error) {
	if f.RuleKey == "" || f.EventKey == "" || f.Action == "" {
		return false, fmt.Errorf("mark rule fired: rule key, event key and action must be set")
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO rule_fires (rule_key, event_key, action, result_id, fired_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		f.RuleKey, f.EventKey, f.Action, t.mask(f.ResultID), ms(t.orNow(f.FiredAt)))
	if err != nil {
		return false, fmt.Errorf("mark rule fired %s/%s/%s: %w", f.RuleKey, f.EventKey, f.Action, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// encodeCounters stores nil as {} so readers always get an object.
func encodeCounters(c map[string]int64) (string, error) {
	if c == nil {
		return "{}", nil
	}
	b, err := json.Marshal(c)
	return string(b), err
}
