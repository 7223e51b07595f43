package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/texts"
)

// ErrNotBuilt: an alert's batch could not be built (nothing was sent).
var ErrNotBuilt = errors.New("building the alert")

// Alerter sends crmsync's alerts to alerts.notify_user_ids as Bitrix24
// system notifications: the items a run parked (pull: one message each,
// push: one digest per run; each engine words its own) and a run that
// failed outright (once per command, kind of failure and day).
type Alerter struct {
	// Users are alerts.notify_user_ids; none: nothing is sent.
	Users []int64
	// Send sends a batch: the engine's write path, so a dry run records
	// instead of sending and the requests are counted with the run's.
	Send func(ctx context.Context, b *bitrix.Batch) (*bitrix.BatchResult, error)
	// Store remembers which run failures were told today.
	Store *store.Store
	// Log receives what could not be sent (nil: discarded).
	Log *slog.Logger
	// Texts words the alerts RunFailed sends (nil: the default locale's).
	Texts *texts.Catalog
}

func (a *Alerter) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return a.Log
}

// Notify sends every message to every user, in one batch. It returns the
// batch's result (nil when there is no one to tell); a failed notification
// is in the result, not in the error; a batch that cannot be built is
// ErrNotBuilt.
func (a *Alerter) Notify(ctx context.Context, msgs []string) (*bitrix.BatchResult, error) {
	if len(a.Users) == 0 || len(msgs) == 0 {
		return nil, nil
	}
	b := bitrix.NewBatch(false)
	for i, msg := range msgs {
		for j, u := range a.Users {
			if err := b.Add("n"+strconv.Itoa(i)+"_"+strconv.Itoa(j), bitrix.NotifySystemAddCmd(bitrix.ID(u), msg, nil)); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrNotBuilt, err)
			}
		}
	}
	return a.Send(ctx, b)
}

// RunFailed tells the users that a run of command failed outright with
// err, once per command, kind of failure (AlertKind) and day: cron runs
// every few minutes, and one message about a broken webhook is enough
// until tomorrow or until something else breaks. It is recorded as sent
// only when it was, so a portal that could not take it is asked again by
// the next failing run. It returns the notifications delivered.
func (a *Alerter) RunFailed(ctx context.Context, command string, err error, now time.Time) int {
	if a.Store == nil || err == nil || len(a.Users) == 0 {
		return 0
	}
	if now.IsZero() {
		now = time.Now()
	}
	log := a.log()
	kind, day := AlertKind(err), now.UTC().Format("2006-01-02")
	if sent, err := a.Store.AlertSent(ctx, command, kind, day); err != nil || sent {
		if err != nil {
			log.Warn("reading sent alerts", "err", err)
		}
		return 0
	}
	// An error can quote order data (a customer's e-mail, a RetailCRM
	// message): escaped, since notifications render BBCode.
	txt := a.Texts
	if txt == nil {
		txt = texts.For(texts.Default)
	}
	msg := txt.F(texts.AlertRunFailed, command, bitrix.EscapeMarkup(shorten(err.Error())))
	res, err := a.Notify(ctx, []string{msg})
	if err != nil || res == nil || len(res.ByStatus(bitrix.Done)) == 0 {
		log.Warn("sending the run failure alert", "err", err)
		return 0
	}
	if err := a.Store.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkAlertSent(ctx, command, kind, day)
		return err
	}); err != nil {
		log.Warn("recording the run failure alert", "err", err)
	}
	return len(res.ByStatus(bitrix.Done))
}

// shorten folds text onto one line of at most 80 characters.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return s
}

// AlertKind names the kind of a run's failure for deduplicating alerts:
// the sentinel it wraps, else its text with the numbers taken out (ids and
// counts differ from run to run while the cause stays the same). The names
// are stored (alerts sent today), so they never change.
func AlertKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{bitrix.ErrAuth, "bitrix-auth"}, {bitrix.ErrOverload, "bitrix-overload"}, {bitrix.ErrConfig, "bitrix-config"},
		{bitrix.ErrQueryLimit, "bitrix-query-limit"}, {bitrix.ErrOperationTimeLimit, "bitrix-operation-limit"},
		{bitrix.ErrServer, "bitrix-server"}, {bitrix.ErrTransport, "bitrix-transport"}, {bitrix.ErrBadResponse, "bitrix-bad-response"},
		{retailcrm.ErrAuth, "retailcrm-auth"}, {retailcrm.ErrAccountNotFound, "retailcrm-account"},
		{retailcrm.ErrRateLimited, "retailcrm-rate-limit"}, {retailcrm.ErrServer, "retailcrm-server"},
		{retailcrm.ErrNotAPI, "retailcrm-not-api"}, {retailcrm.ErrDecode, "retailcrm-decode"},
		{store.ErrCorrupt, "database-corrupt"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	text := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, err.Error())
	sum := sha256.Sum256([]byte(text))
	return "other-" + hex.EncodeToString(sum[:6])
}
