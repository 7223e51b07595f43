package bitrix_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// A method the portal lacks (module off, scope missing) or a scope the
// webhook lacks is a configuration error naming the method, in a plain call
// and inside a batch alike; never an entity's "not found".
func TestMissingMethodOrScopeIsAConfigError(t *testing.T) {
	t.Parallel()
	task := bitrix.TaskAddCmd(bitrix.Fields{"TITLE": "Call", "RESPONSIBLE_ID": 1})
	notify := bitrix.NotifySystemAddCmd(1, "hello", nil)
	for _, tc := range []struct {
		name    string
		opts    bitrixtest.Options
		cmd     bitrix.Cmd
		target  error
		message string
	}{
		{"module off", bitrixtest.Options{MissingMethods: []string{"tasks.task.add"}}, task, bitrix.ErrMethodNotFound,
			"bitrix: method tasks.task.add not found on the portal (module or scope missing)"},
		{"scope missing", bitrixtest.Options{Scopes: []string{"crm", "task"}}, notify, bitrix.ErrAuth,
			"bitrix: the webhook lacks the scope im.notify.system.add needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tc.target) || errors.Is(err, bitrix.ErrNotFound) || errors.Is(err, bitrix.ErrBadRequest) ||
					!strings.Contains(err.Error(), tc.message) {
					t.Errorf("%s: %v, want %v with %q", what, err, tc.target, tc.message)
				}
				if tc.target == bitrix.ErrMethodNotFound && !errors.Is(err, bitrix.ErrConfig) {
					t.Errorf("%s: %v is not a configuration error", what, err)
				}
			}

			// A plain call: refused once, not retried.
			p := newPair(t, tc.opts)
			_, err := p.c.Run(ctx, tc.cmd, nil)
			check("call", err)
			if n := p.srv.Stats().Requests; n != 1 {
				t.Errorf("call: %d requests, want 1", n)
			}

			// In a batch, one command per request: the batch stops at the
			// refused command and reports it as an error, with the other
			// outcomes kept.
			p = newPair(t, tc.opts, bitrix.WithMaxBatchCommands(1))
			b := bitrix.NewBatch(false)
			mustAdd(t, b, "c", bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{"NAME": "Ann"}, nil))
			mustAdd(t, b, "x", tc.cmd)
			mustAdd(t, b, "d", bitrix.AddCmd(bitrix.EntityContact, bitrix.Fields{"NAME": "Bob"}, nil))
			res, err := p.c.Batch(ctx, b)
			check("batch", err)
			if res == nil || res.Get("c").Status != bitrix.Done || res.Get("x").Status != bitrix.Failed ||
				res.Get("d").Status != bitrix.NotExecuted {
				t.Fatalf("batch outcomes %+v", res)
			}
			check("batch command", res.Get("x").Err)
			if n := p.srv.Stats().Requests; n != 2 {
				t.Errorf("batch: %d requests, want 2 (none after the refused command)", n)
			}
		})
	}
}
