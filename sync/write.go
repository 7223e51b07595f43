package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/store"
)

// maxWriteRounds bounds how often commands that were not executed, or whose
// outcome stayed unknown, are sent again within one chunk.
const maxWriteRounds = 5

// fatal reports errors that end the run instead of one item: the portal
// refusing the configuration or every request for now (bitrix.Classify), a
// batch that cannot be built. A context error ends it only when it is the
// run's own context that ended.
func fatal(ctx context.Context, err error) bool {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return true
	}
	switch bitrix.Classify(err) {
	case bitrix.ClassConfig, bitrix.ClassThrottled:
		return true
	}
	return errors.Is(err, bitrix.ErrInvalidBatch)
}

// resolver checks commands whose outcome is unknown: it returns the result
// of those that did happen (found by a lookup) so they are not sent again.
type resolver func(ctx context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error)

// writeAll sends writes through the gate until each is done or failed.
// Not-executed commands are resent; commands with an unknown outcome are
// resolved first (a lookup by ORIGIN_ID, or of the deal's comments) and
// resent only when the lookup shows they did not happen. A batch is never
// replayed whole.
func (e *Engine) writeAll(ctx context.Context, b *bitrix.Batch, resolve resolver) (map[string]*bitrix.CmdResult, error) {
	final := map[string]*bitrix.CmdResult{}
	pending := b
	var lastErr error
	for round := 0; pending.Len() > 0; round++ {
		if round >= maxWriteRounds {
			return nil, fmt.Errorf("bitrix: %d writes still not done after %d rounds: %w", pending.Len(), round, lastErr)
		}
		if round > 0 {
			if err := e.sleep(ctx, e.retryDelay*time.Duration(round)); err != nil {
				return nil, err
			}
		}
		res, err := e.gate.write(ctx, pending)
		if err != nil {
			lastErr = err
			if fatal(ctx, err) || res == nil {
				return nil, fmt.Errorf("bitrix writes: %w", err)
			}
			e.log.Warn("bitrix: write batch failed; checking each command", "err", err)
		}
		resend := map[string]bitrix.Cmd{}
		unknown := map[string]bitrix.Cmd{}
		for _, k := range res.Keys {
			cr := res.Results[k]
			switch {
			case cr.Status == bitrix.Failed && errors.Is(cr.Err, bitrix.ErrAuth):
				// Every other write would fail the same way: a configuration
				// problem (exit 4), not the item's.
				return nil, fmt.Errorf("bitrix %s: %w", cr.Cmd.Method, cr.Err)
			case cr.Status == bitrix.Failed && (errors.Is(cr.Err, bitrix.ErrOperationTimeLimit) || errors.Is(cr.Err, bitrix.ErrQueryLimit)):
				// Refused before running: the client pauses the method; send
				// it again next round.
				lastErr = cr.Err
				resend[k] = cr.Cmd
			case cr.Status == bitrix.Done || cr.Status == bitrix.Failed:
				final[k] = cr
			case cr.Status == bitrix.Unknown:
				unknown[k] = cr.Cmd
			default:
				if cr.Err != nil {
					lastErr = cr.Err
				}
				resend[k] = cr.Cmd
			}
		}
		if len(unknown) > 0 {
			found := map[string]json.RawMessage{}
			if resolve != nil {
				found, err = resolve(ctx, unknown)
				if err != nil {
					return nil, err
				}
			}
			for _, k := range pending.Keys() {
				cmd, ok := unknown[k]
				if !ok {
					continue
				}
				if raw, ok := found[k]; ok {
					final[k] = &bitrix.CmdResult{Key: k, Cmd: cmd, Status: bitrix.Done, Result: raw}
					continue
				}
				resend[k] = cmd
			}
		}
		// A command that referred to one sent again ran without its id (a
		// deal's rows whose add was refused before it ran): it goes again
		// with it; only idempotent calls refer to others.
		for _, k := range res.Keys {
			cr, ok := final[k]
			if !ok {
				continue
			}
			if dep := refOf(cr.Cmd); dep != "" {
				if _, again := resend[dep]; again {
					delete(final, k)
					resend[k] = cr.Cmd
				}
			}
		}
		// In the batch's own order, so a command referring to another
		// ($result) still follows it.
		next := bitrix.NewBatch(false)
		for _, k := range pending.Keys() {
			cmd, ok := resend[k]
			if !ok {
				continue
			}
			cmd, err := rebind(cmd, final, resend)
			if err != nil {
				final[k] = &bitrix.CmdResult{Key: k, Cmd: cmd, Status: bitrix.Failed, Err: err}
				continue
			}
			if err := next.Add(k, cmd); err != nil {
				return nil, err
			}
		}
		pending = next
	}
	return final, nil
}

// refKey matches a reference to the whole result of a command: the id an
// add returned.
var refKey = regexp.MustCompile(`^\$result\[([^\]]+)\]$`)

// refOf is the key of the command whose id cmd's id refers to, or "".
func refOf(cmd bitrix.Cmd) string {
	ref, ok := cmd.Params["id"].(bitrix.Ref)
	if !ok {
		return ""
	}
	if m := refKey.FindStringSubmatch(string(ref)); m != nil {
		return m[1]
	}
	return ""
}

// rebind prepares a command that is sent again and whose id refers to
// another command of its first batch (the rows of a deal created in the
// same batch): the reference stays when that command is sent again too,
// and becomes the id it returned when it is done. When it failed, so does
// this one.
func rebind(cmd bitrix.Cmd, final map[string]*bitrix.CmdResult, resend map[string]bitrix.Cmd) (bitrix.Cmd, error) {
	dep := refOf(cmd)
	if dep == "" {
		return cmd, nil
	}
	if _, again := resend[dep]; again {
		return cmd, nil
	}
	cr := final[dep]
	if cr == nil || cr.Status != bitrix.Done {
		return cmd, fmt.Errorf("bitrix %s: not sent, as %s it depends on did not succeed", cmd.Method, dep)
	}
	id, err := bitrix.DecodeID(cr.Result)
	if err != nil || id <= 0 {
		return cmd, fmt.Errorf("bitrix %s: no id in the answer of %s: %v", cmd.Method, dep, err)
	}
	params := maps.Clone(cmd.Params)
	params["id"] = id
	return bitrix.Cmd{Method: cmd.Method, Params: params}, nil
}

// resolveByOrigin finds adds of entity ent that happened, by ORIGIN_ID.
// Updates of scalar fields set fixed values, so such an unknown update is
// simply resent; an update that adds PHONE or EMAIL rows is not idempotent
// (a row without ID is appended), so the contact is read first.
func (e *Engine) resolveByOrigin(ent bitrix.Entity) resolver {
	return func(ctx context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
		out, err := e.resolveMultiUpdates(ctx, cmds)
		if err != nil {
			return nil, err
		}
		keyByOrigin := map[string]string{}
		var ids []int64
		for k, c := range cmds {
			if !strings.HasSuffix(c.Method, ".add") {
				continue
			}
			fields, _ := c.Params["fields"].(map[string]any)
			o, _ := fields[bitrix.FieldOriginID].(string)
			id, err := strconv.ParseInt(o, 10, 64)
			if err != nil {
				continue
			}
			keyByOrigin[o] = k
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return out, nil
		}
		rows, err := e.readByIDs(ctx, "ru", ids, func(ids []int64) bitrix.Cmd { return e.byOriginCmd(ent, ids, []string{"ID", bitrix.FieldOriginID}) })
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			k, ok := keyByOrigin[r.String(bitrix.FieldOriginID)]
			if !ok {
				continue
			}
			if _, done := out[k]; !done {
				out[k] = json.RawMessage(r.ID().String())
			}
		}
		return out, nil
	}
}

// resolveMultiUpdates reports the contact updates with multifield rows
// whose values the contact already holds: they happened.
func (e *Engine) resolveMultiUpdates(ctx context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	idOf := map[string]int64{}
	var ids []int64
	for k, c := range cmds {
		fields, _ := c.Params["fields"].(map[string]any)
		if c.Method != "crm.contact.update" || (fields[bitrix.FieldEmail] == nil && fields[bitrix.FieldPhone] == nil) {
			continue
		}
		id, _ := c.Params["id"].(bitrix.ID)
		idOf[k] = int64(id)
		ids = append(ids, int64(id))
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := e.readByIDs(ctx, "rm", ids, func(ids []int64) bitrix.Cmd { return byIDCmd(bitrix.EntityContact, ids, contactSelect()) })
	if err != nil {
		return nil, err
	}
	byID := map[int64]bitrix.Record{}
	for _, r := range rows {
		byID[int64(r.ID())] = r
	}
	for k, id := range idOf {
		r, ok := byID[id]
		if !ok {
			continue
		}
		fields, _ := cmds[k].Params["fields"].(map[string]any)
		applied := true
		for _, mf := range []struct {
			name string
			key  func(string) string
		}{{bitrix.FieldEmail, e.mapper.norm.emailKey}, {bitrix.FieldPhone, e.mapper.norm.phoneKey}} {
			rowsIn, _ := fields[mf.name].([]map[string]any)
			var want []string
			for _, row := range rowsIn {
				if v, ok := row["VALUE"].(string); ok {
					want = append(want, v)
				}
			}
			if len(bitrix.MissingValues(r.Multi(mf.name), want, mf.key)) > 0 {
				applied = false
			}
		}
		if applied {
			out[k] = json.RawMessage("true")
		}
	}
	return out, nil
}

// resolveComments finds comments that were written after all, by reading
// the newest comments of their deals. A comment whose id the ledger already
// gives to an earlier write, or that another command here claimed, is not
// this one; texts are compared by bitrix.CommentKey, as the portal may have
// changed their whitespace.
func (e *Engine) resolveComments(ctx context.Context, cmds map[string]bitrix.Cmd) (map[string]json.RawMessage, error) {
	b := bitrix.NewBatch(false)
	keyOf := map[string]string{}
	for k, c := range cmds {
		fields, _ := c.Params["fields"].(map[string]any)
		id := toString(fields["ENTITY_ID"])
		typ := toString(fields["ENTITY_TYPE"])
		eid, err := bitrix.ParseID(id)
		if err != nil {
			continue
		}
		lk := "r" + k
		if err := b.Add(lk, bitrix.TimelineCommentListCmd(typ, eid, bitrix.ListRequest{Order: map[string]string{"ID": "DESC"}})); err != nil {
			return nil, err
		}
		keyOf[lk] = k
	}
	res, err := e.read(ctx, b)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	claimed := map[bitrix.ID]bool{}
	for _, lk := range slices.Sorted(maps.Keys(keyOf)) {
		k := keyOf[lk]
		list, err := bitrix.DecodeComments(res.Get(lk).Result)
		if err != nil {
			return nil, fmt.Errorf("bitrix lookup %s: %w", lk, err)
		}
		fields, _ := cmds[k].Params["fields"].(map[string]any)
		text := bitrix.CommentKey(toString(fields["COMMENT"]))
		// Oldest first: of two equal texts, the first written is claimed first.
		for _, c := range slices.Backward(list) {
			if claimed[c.ID] || bitrix.CommentKey(c.Comment) != text {
				continue
			}
			known, err := e.store.LedgerHasRemoteID(ctx, store.SideBitrix, ledgerComment, int64(c.ID))
			if err != nil {
				return nil, err
			}
			if known {
				continue
			}
			claimed[c.ID] = true
			out[k] = json.RawMessage(c.ID.String())
			break
		}
	}
	return out, nil
}

// cmdError describes a failed command for the parking reason.
func cmdError(cr *bitrix.CmdResult) error {
	if cr == nil {
		return errors.New("bitrix: write was not sent")
	}
	if cr.Err != nil {
		return fmt.Errorf("bitrix %s: %w", cr.Cmd.Method, cr.Err)
	}
	return fmt.Errorf("bitrix %s: %s", cr.Cmd.Method, cr.Status)
}
