package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/runs"
)

// UserLister is implemented by a RetailCRM client that can list its users
// (*retailcrm.Client does). Without it, managers are matched only through
// mapping.managers.
type UserLister interface {
	Users(ctx context.Context, f retailcrm.UsersFilter) (*retailcrm.UsersPage, error)
}

// managerMatchTTL is how long stored matches are used before both user
// lists are read again (when an order needs them).
const managerMatchTTL = 24 * time.Hour

// managerCache is a run's view of the stored manager matches
// (docs/configuration.md, "Responsible manager").
type managerCache struct {
	loaded bool
	// refreshed: this run already read the user lists (or failed to):
	// at most once per run.
	refreshed bool
	matches   map[int64]store.ManagerMatch
}

// loadManagers reads the stored matches, once per run.
func (e *Engine) loadManagers(ctx context.Context) error {
	if e.people.loaded {
		return nil
	}
	m, err := e.store.ManagerMatches(ctx)
	if err != nil {
		return err
	}
	e.people.matches, e.people.loaded = m, true
	return nil
}

// known reports whether the stored matches know a RetailCRM user and are
// fresh.
func (e *Engine) knownUser(id int64) bool {
	m, ok := e.people.matches[id]
	return ok && e.now().Sub(m.MatchedAt) < managerMatchTTL
}

// prepareManagers makes sure the stored matches know the managers of the
// orders (unless mapping.managers names them) and the users behind their
// history records (whose names texts show): when one is unknown, or the
// matches are a day old, both user lists are read again. Orders that name
// no one cost nothing, so a pull with nothing new makes no request.
func (e *Engine) prepareManagers(ctx context.Context, orders []*retailcrm.Order, events map[int64]*orderEvents) error {
	var ids []int64
	for _, o := range orders {
		if _, mapped := e.cfg.Mapping.ManagerFor(o.ManagerID); o.ManagerID > 0 && !mapped {
			ids = append(ids, o.ManagerID)
		}
		if ev := events[o.ID]; ev != nil {
			for _, r := range ev.records {
				if r.User != nil && r.User.ID > 0 {
					ids = append(ids, r.User.ID)
				}
			}
		}
	}
	if len(ids) == 0 || e.people.refreshed {
		return nil
	}
	if err := e.loadManagers(ctx); err != nil {
		return err
	}
	var unknown []int64
	for _, id := range ids {
		if !e.knownUser(id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return e.refreshManagers(ctx, unknown)
}

// refreshManagers reads RetailCRM's users and the portal's active users,
// matches them by e-mail and replaces the stored matches. The users asked
// for that RetailCRM does not list are stored unmatched, so they are not
// asked for again until the matches are a day old. A key or webhook that
// may not read users leaves the matches as they were, with a warning
// (check names the scope): deals then get bitrix.assigned_by_id.
func (e *Engine) refreshManagers(ctx context.Context, asked []int64) error {
	e.people.refreshed = true
	if _, ok := e.rc.Unwrap().(UserLister); !ok {
		return nil
	}
	var users []retailcrm.User
	for page := 1; ; page++ {
		p, err := e.rc.Users(ctx, retailcrm.UsersFilter{Limit: 100, Page: page})
		if err != nil {
			return e.usersUnreadable("RetailCRM /api/v5/users (API key scope user_read)", err)
		}
		users = append(users, p.Users...)
		if len(p.Users) == 0 || page >= p.Pagination.TotalPageCount {
			break
		}
	}
	bxUsers, err := e.bitrixUsers(ctx)
	if err != nil {
		return e.usersUnreadable("Bitrix24 user.get (webhook scope user or user_basic)", err)
	}
	byEmail := bitrix.UsersByEmail(bxUsers)
	now := e.now()
	rows := make([]store.ManagerMatch, 0, len(users)+len(asked))
	matches := make(map[int64]store.ManagerMatch, len(users)+len(asked))
	emails := 0
	for _, u := range bxUsers {
		if u.Email != "" {
			emails++
		}
	}
	for _, u := range users {
		if u.ID <= 0 {
			continue
		}
		m := store.ManagerMatch{RetailCRMUserID: u.ID, Email: store.NormalizeEmail(u.Email), Name: clean(u.Name()), MatchedAt: now}
		if bu, ok := byEmail[bitrix.NormalizeEmail(u.Email)]; ok && m.Email != "" {
			m.BitrixUserID = int64(bu.ID)
		}
		matches[u.ID] = m
	}
	for _, id := range asked {
		if _, ok := matches[id]; !ok {
			matches[id] = store.ManagerMatch{RetailCRMUserID: id, MatchedAt: now}
		}
	}
	for _, m := range matches {
		rows = append(rows, m)
	}
	if len(bxUsers) > 0 && emails == 0 {
		e.log.Warn("Bitrix24 user.get shows no e-mails (the webhook has scope user_brief only?); managers are matched only through mapping.managers")
	}
	if err := e.store.Tx(ctx, func(tx *store.Tx) error { return tx.ReplaceManagerMatches(ctx, rows) }); err != nil {
		return fmt.Errorf("storing manager matches: %w", err)
	}
	e.people.matches, e.people.loaded = matches, true
	return nil
}

// usersUnreadable decides what a failed read of a user list means: a
// missing scope or a refused request leaves the matches as they were (the
// run goes on, deals get the fallback user); anything else stops the run
// like any failed read, so no deal is given the wrong user for a moment's
// outage.
func (e *Engine) usersUnreadable(what string, err error) error {
	switch runs.Classify(err) {
	case runs.ClassConfig, runs.ClassPermanent:
		e.log.Warn("cannot read users to match managers; deals get mapping.managers or bitrix.assigned_by_id", "read", what, "err", err)
		return nil
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// bitrixUsers lists the portal's active users: the first page, then the
// rest in as few batches as the answer's total needs.
func (e *Engine) bitrixUsers(ctx context.Context) ([]bitrix.User, error) {
	filter := map[string]any{"ACTIVE": true}
	b := bitrix.NewBatch(false)
	if err := b.Add("u0", bitrix.UsersCmd(filter, 0)); err != nil {
		return nil, err
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return nil, err
	}
	seen := map[bitrix.ID]bool{}
	var out []bitrix.User
	add := func(cr *bitrix.CmdResult) error {
		if cr == nil {
			return nil
		}
		page, err := bitrix.DecodeUsers(cr.Result)
		if err != nil {
			return err
		}
		for _, u := range page {
			if !seen[u.ID] {
				seen[u.ID] = true
				out = append(out, u)
			}
		}
		return nil
	}
	first := res.Get("u0")
	if err := add(first); err != nil {
		return nil, err
	}
	if first == nil || !first.HasNext || first.Next <= 0 {
		return out, nil
	}
	var starts []int
	for s := first.Next; s < max(first.Total, first.Next+1); s += bitrix.PageSize {
		starts = append(starts, s)
	}
	for len(starts) > 0 {
		n := min(len(starts), bitrix.PageSize)
		b := bitrix.NewBatch(false)
		var keys []string
		for _, s := range starts[:n] {
			k := fmt.Sprintf("u%d", s)
			if err := b.Add(k, bitrix.UsersCmd(filter, s)); err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		starts = starts[n:]
		res, err := e.read(ctx, b)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := add(res.Get(k)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// assignee is the Bitrix24 user responsible for the deal of an order whose
// manager is the RetailCRM user retailcrmUser: mapping.managers, else the
// user matched by e-mail, else bitrix.assigned_by_id (0: the portal's
// default, the webhook's user).
func (e *Engine) assignee(retailcrmUser int64) int64 {
	if retailcrmUser > 0 {
		if id, ok := e.cfg.Mapping.ManagerFor(retailcrmUser); ok {
			return id
		}
		if m, ok := e.people.matches[retailcrmUser]; ok && m.BitrixUserID > 0 {
			return m.BitrixUserID
		}
	}
	return int64(e.cfg.Bitrix.AssignedByID)
}

// managerName is a RetailCRM user's name as the stored matches know it
// ("" when unknown): texts that say who changed an order name the person
// with it. The users behind a page's history records are looked up before
// the page is planned (prepareManagers).
func (e *Engine) managerName(retailcrmUser int64) string {
	return e.people.matches[retailcrmUser].Name
}

// managerChanged reports whether the order's history in this page sets
// its manager (or creates it): only then does the deal's responsible user
// follow it, so a person who reassigns the deal in Bitrix24 keeps it.
func managerChanged(it *item) bool {
	if it.events == nil {
		return false
	}
	for _, r := range it.events.records {
		if r.Field == "manager" || r.Created {
			return true
		}
	}
	return false
}

// keepAssignee drops ASSIGNED_BY_ID from an update of a found deal unless
// the order's manager changed (managerChanged).
func keepAssignee(it *item, diff []FieldChange) []FieldChange {
	if managerChanged(it) {
		return diff
	}
	out := diff[:0]
	for _, fc := range diff {
		if fc.Field != bitrix.FieldAssignedByID {
			out = append(out, fc)
		}
	}
	return out
}

// taskResponsible is who gets a rule's task: the user the rule names, or
// for responsible_id: manager the deal's responsible user (assignee), else
// the webhook's user, whom the portal makes responsible for deals when
// nobody is configured.
func (e *Engine) taskResponsible(p *pendingAction) (int64, error) {
	if !p.action.ResponsibleManager {
		return p.action.Responsible, nil
	}
	if id := e.assignee(p.manager); id > 0 {
		return id, nil
	}
	if hook, err := bitrix.ParseWebhook(e.cfg.Bitrix.WebhookURL); err == nil && hook.UserID > 0 {
		return hook.UserID, nil
	}
	return 0, fmt.Errorf("responsible_id: manager: the order's manager has no Bitrix24 user and bitrix.assigned_by_id is 0")
}
