package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// CompanyLink ties a company key of RetailCRM (a corporate customer id, or
// "inn:<INN>[:<KPP>]" for an order's legal buyer) to its Bitrix24 company,
// with what crmsync knows is applied to that company.
type CompanyLink struct {
	OriginID    string // the company's ORIGIN_ID in Bitrix24
	CompanyID   int64
	ContentHash string // the company's own fields
	// Requisites maps "<INN>:<KPP>" to the hash of the requisite as last
	// written or found complete.
	Requisites map[string]string
	// Contacts are the contacts crmsync linked to the company, ascending.
	Contacts []int64
	SyncedAt time.Time
}

const companyLinkCols = `origin_id, company_id, content_hash, requisites, contacts, synced_at`

// CompanyLinks returns the links of the given company keys that exist.
func (r *reader) CompanyLinks(ctx context.Context, origins []string) (map[string]CompanyLink, error) {
	out := make(map[string]CompanyLink, len(origins))
	if len(origins) == 0 {
		return out, nil
	}
	keys, _ := json.Marshal(origins) // []string always marshals
	err := queryRows(ctx, r.q, "read company links", `SELECT `+companyLinkCols+` FROM company_links
		WHERE origin_id IN (SELECT value FROM json_each(?))`, []any{string(keys)}, scanCompanyLink,
		func(l CompanyLink) { out[l.OriginID] = l })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanCompanyLink(sc scanner) (l CompanyLink, err error) {
	var reqs, contacts string
	var at int64
	if err := sc.Scan(&l.OriginID, &l.CompanyID, &l.ContentHash, &reqs, &contacts, &at); err != nil {
		return CompanyLink{}, err
	}
	// A value that does not decode is treated as empty: the next sync
	// checks the company in Bitrix24 and writes the link again.
	if json.Unmarshal([]byte(reqs), &l.Requisites) != nil {
		l.Requisites = nil
	}
	if json.Unmarshal([]byte(contacts), &l.Contacts) != nil {
		l.Contacts = nil
	}
	l.SyncedAt = fromMS(at)
	return l, nil
}

// CountCompanyLinks counts the company links held.
func (r *reader) CountCompanyLinks(ctx context.Context) (int64, error) {
	n, _, err := queryOne(r.q.QueryRowContext(ctx, `SELECT count(*) FROM company_links`), scanInt64, "count company links")
	return n, err
}

// PutCompanyLink inserts or replaces a company key's link.
func (t *Tx) PutCompanyLink(ctx context.Context, l CompanyLink) error {
	if l.OriginID == "" || l.CompanyID == 0 {
		return fmt.Errorf("put company link: origin %q and company id %d must be set", l.OriginID, l.CompanyID)
	}
	reqs := l.Requisites
	if reqs == nil {
		reqs = map[string]string{}
	}
	contacts := slices.Compact(slices.Sorted(slices.Values(l.Contacts)))
	if contacts == nil {
		contacts = []int64{}
	}
	rj, _ := json.Marshal(reqs)
	cj, _ := json.Marshal(contacts)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO company_links (`+companyLinkCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (origin_id) DO UPDATE SET company_id = excluded.company_id, content_hash = excluded.content_hash,
			requisites = excluded.requisites, contacts = excluded.contacts, synced_at = excluded.synced_at`,
		l.OriginID, l.CompanyID, l.ContentHash, string(rj), string(cj), ms(t.orNow(l.SyncedAt)))
	if err != nil {
		return fmt.Errorf("put company link %q: %w", l.OriginID, err)
	}
	return nil
}

// DeleteCompanyLink forgets a company key's link.
func (t *Tx) DeleteCompanyLink(ctx context.Context, origin string) error {
	return t.exec(ctx, "delete company link %q", `DELETE FROM company_links WHERE origin_id = ?`, origin)
}

// CompanyDuplicate is one group of Bitrix24 companies that carry crmsync's
// ORIGINATOR_ID and the same ORIGIN_ID: the oldest, which crmsync uses, and
// the others, which it leaves alone.
type CompanyDuplicate struct {
	OriginID string    // the company key: a corporate customer id or "inn:<INN>[:<KPP>]"
	KeptID   int64     // the lowest id: the one crmsync uses
	Others   []int64   // ascending
	SeenAt   time.Time // when a lookup last saw them
}

// CompanyDuplicates lists the recorded groups of companies sharing one
// ORIGIN_ID, by ORIGIN_ID.
func (r *reader) CompanyDuplicates(ctx context.Context) ([]CompanyDuplicate, error) {
	var out []CompanyDuplicate
	err := queryEach(ctx, r.q, "read company duplicates", `SELECT origin_id, company_id, kept_id, seen_at FROM company_duplicates
		ORDER BY origin_id, company_id`, nil, func(sc scanner) error {
		var origin string
		var id, kept, seen int64
		if err := sc.Scan(&origin, &id, &kept, &seen); err != nil {
			return err
		}
		if n := len(out); n == 0 || out[n-1].OriginID != origin {
			out = append(out, CompanyDuplicate{OriginID: origin, KeptID: kept})
		}
		d := &out[len(out)-1]
		d.Others = append(d.Others, id)
		d.SeenAt = fromMS(max(ms(d.SeenAt), seen))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetCompanyDuplicates records what a lookup of one company ORIGIN_ID
// found: the company crmsync uses and the others sharing it. No others
// clears the group.
func (t *Tx) SetCompanyDuplicates(ctx context.Context, originID string, keptID int64, others []int64) error {
	if originID == "" {
		return fmt.Errorf("set company duplicates: the ORIGIN_ID must be set")
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM company_duplicates WHERE origin_id = ?`, originID); err != nil {
		return fmt.Errorf("set company duplicates of %s: %w", originID, err)
	}
	now := ms(t.now())
	for _, id := range others {
		if id == keptID {
			continue
		}
		_, err := t.tx.ExecContext(ctx, `INSERT INTO company_duplicates (company_id, origin_id, kept_id, seen_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (company_id) DO UPDATE SET origin_id = excluded.origin_id,
				kept_id = excluded.kept_id, seen_at = excluded.seen_at`, id, originID, keptID, now)
		if err != nil {
			return fmt.Errorf("set company duplicates of %s: %w", originID, err)
		}
	}
	return nil
}
