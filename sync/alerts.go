package sync

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
	"github.com/crmsync/crmsync/sync/config"
)

// errorKind names the class of a run's failure for deduplicating alerts:
// the sentinel it wraps, else its text with the numbers taken out (ids and
// counts differ from run to run while the cause stays the same).
func errorKind(err error) string {
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

// RunAlert describes a run that failed outright, for AlertRunFailure.
type RunAlert struct {
	Config  *config.Config
	Bitrix  Bitrix
	Store   *store.Store
	Command string // pull, push, backfill
	Err     error
	Now     time.Time
	Logger  *slog.Logger
}

// AlertRunFailure tells alerts.notify_user_ids that a run failed outright,
// once per command, kind of failure and day: cron runs every few minutes,
// and one message about a broken webhook is enough until tomorrow or until
// something else breaks. It is recorded as sent only when it was, so a
// portal that could not take it is asked again by the next failing run.
// Pull calls it itself; other commands (push) can call it with their error.
func AlertRunFailure(ctx context.Context, a RunAlert) int {
	g := &liveGate{bx: a.Bitrix}
	return sendRunAlert(ctx, a, g)
}

// alertRunFailed is AlertRunFailure for the engine's own run, through its
// write gate.
func (e *Engine) alertRunFailed(ctx context.Context, command string, runErr error) {
	if e.opts.DryRun {
		return
	}
	n := sendRunAlert(ctx, RunAlert{Config: e.cfg, Store: e.store, Command: command, Err: runErr, Now: e.now(), Logger: e.log}, e.gate)
	e.sum.Alerts += n
}

func sendRunAlert(ctx context.Context, a RunAlert, g gate) int {
	if a.Config == nil || a.Store == nil || a.Err == nil || len(a.Config.Alerts.NotifyUserIDs) == 0 {
		return 0
	}
	log := a.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := a.Now
	if now.IsZero() {
		now = time.Now()
	}
	kind, day := errorKind(a.Err), now.UTC().Format("2006-01-02")
	if sent, err := a.Store.AlertSent(ctx, a.Command, kind, day); err != nil || sent {
		if err != nil {
			log.Warn("reading sent alerts", "err", err)
		}
		return 0
	}
	// An error can quote order data (a customer's e-mail, a RetailCRM
	// message): escaped, since notifications render BBCode.
	msg := fmt.Sprintf("crmsync: %s failed: %s. Later runs failing the same way today are not reported again. Run crmsync status for details.",
		a.Command, esc(oneLine(a.Err.Error())))
	b := bitrix.NewBatch(false)
	for i, u := range a.Config.Alerts.NotifyUserIDs {
		if err := b.Add("f"+strconv.Itoa(i), bitrix.NotifySystemAddCmd(bitrix.ID(u), msg, nil)); err != nil {
			log.Warn("building run alert", "err", err)
			return 0
		}
	}
	res, err := g.write(ctx, b)
	if err != nil || res == nil || len(res.ByStatus(bitrix.Done)) == 0 {
		log.Warn("sending the run failure alert", "err", err)
		return 0
	}
	if err := a.Store.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkAlertSent(ctx, a.Command, kind, day)
		return err
	}); err != nil {
		log.Warn("recording the run failure alert", "err", err)
	}
	return len(res.ByStatus(bitrix.Done))
}
