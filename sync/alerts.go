package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/store"
)

// runAlertRuleKey keys the alerts about failed runs in the store's record
// of fired rules.
const runAlertRuleKey = "builtin:run-alert"

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

// alertRunFailed tells alerts.notify_user_ids that a run failed outright,
// once per command, kind of failure and day: cron runs every few minutes,
// and one message about a broken webhook is enough until tomorrow or until
// something else breaks. The alert goes through the write gate; it is
// recorded as sent only when it was, so a portal that could not take it is
// asked again by the next failing run.
func (e *Engine) alertRunFailed(ctx context.Context, runErr error) {
	users := e.cfg.Alerts.NotifyUserIDs
	if len(users) == 0 || e.opts.DryRun || runErr == nil {
		return
	}
	kind := errorKind(runErr)
	event := e.opts.RunCommand + ":" + kind + ":" + e.now().UTC().Format("2006-01-02")
	if _, sent, err := e.store.RuleFired(ctx, runAlertRuleKey, event, "notify"); err != nil || sent {
		if err != nil {
			e.log.Warn("reading sent alerts", "err", err)
		}
		return
	}
	msg := fmt.Sprintf("crmsync: %s failed: %s. Later runs failing the same way today are not reported again. Run crmsync status for details.",
		e.opts.RunCommand, oneLine(runErr.Error()))
	b := bitrix.NewBatch(false)
	for i, u := range users {
		if err := b.Add("f"+strconv.Itoa(i), bitrix.NotifySystemAddCmd(bitrix.ID(u), msg, nil)); err != nil {
			e.log.Warn("building run alert", "err", err)
			return
		}
	}
	res, err := e.gate.write(ctx, b)
	if res != nil {
		e.sum.BitrixRequests += res.Requests
	}
	if err != nil || res == nil || len(res.ByStatus(bitrix.Done)) == 0 {
		e.log.Warn("sending the run failure alert", "err", err)
		return
	}
	e.sum.Alerts += len(res.ByStatus(bitrix.Done))
	if err := e.store.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.MarkRuleFired(ctx, store.RuleFire{RuleKey: runAlertRuleKey, EventKey: event, Action: "notify"})
		return err
	}); err != nil {
		e.log.Warn("recording the run failure alert", "err", err)
	}
}
