package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRedactMasksBeforeTheDatabase checks that the redaction function the
// caller passes in is applied to every free text before it is written: the
// columns hold the masked text, read straight from SQLite, and without a
// function the text is kept as it is.
func TestRedactMasksBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	const secret = "tok-5ecret-0042"
	text := "GET /x?key=" + secret + " failed"
	masked := "GET /x?key=[masked] failed"
	for _, tc := range []struct {
		name   string
		redact func(string) string
		want   string
	}{
		{"redactor passed", strings.NewReplacer(secret, "[masked]").Replace, masked},
		{"no redactor", nil, text},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _ := openTest(t, Options{Redact: tc.redact})
			writeEveryText(t, s, text)
			for _, q := range []string{
				`SELECT source_id FROM events`, `SELECT message FROM events`,
				`SELECT last_error FROM failures`, `SELECT payload FROM failures`,
				`SELECT value FROM ledger`, `SELECT result_id FROM rule_fires`,
				`SELECT message FROM runs`,
			} {
				var got string
				if err := s.db.QueryRowContext(ctx, q).Scan(&got); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if got != tc.want {
					t.Errorf("%s = %q, want %q", q, got, tc.want)
				}
			}
			// Masked gives what the store keeps, so a caller can compare.
			if got := s.Masked(text); got != tc.want {
				t.Errorf("Masked = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecretsNeverReachTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const apiKey = "rcrm-KEY-0123456789abcdef"
	const webhook = "https://shop.bitrix24.ru/rest/1/whsecret77xyz/"
	// The caller's redactor (crmsync passes sync/redact's); the store
	// knows no secret itself.
	red := strings.NewReplacer(apiKey, "***", "whsecret77xyz", "***")
	s, path := openTest(t, Options{Redact: red.Replace})
	leak := "GET https://shop.retailcrm.ru/api/v5/orders?apiKey=" + apiKey + " via " + webhook + "crm.deal.add failed"
	runID := writeEveryText(t, s, leak)
	// The ledger still matches the value as written.
	if ok, err := s.LedgerHas(ctx, SideBitrix, "comment", 1, "COMMENT", leak); err != nil || !ok {
		t.Errorf("LedgerHas(leak) = %v, %v", ok, err)
	}
	evs, err := s.Events(ctx, EventFilter{RunID: runID})
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Message, "***") {
		t.Fatalf("events = %+v, %v", evs, err)
	}

	check := func(stage string) {
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{apiKey, "whsecret77xyz"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("%s: %s contains %q", stage, filepath.Base(p), secret)
				}
			}
		}
	}
	check("before checkpoint")
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	check("after checkpoint")
}

// writeEveryText writes text to every free-text column, through a failed
// run: an event's source id and message, a failure's error and payload, a
// ledger value, a rule fire's result id and the run's message. It returns
// the run's id.
func writeEveryText(t *testing.T, s *Store, text string) int64 {
	t.Helper()
	ctx := context.Background()
	runID, err := s.StartRun(ctx, "pull", 1)
	if err != nil {
		t.Fatal(err)
	}
	mustTx(t, s, func(tx *Tx) error {
		if _, err := tx.AddEvent(ctx, Event{RunID: runID, Source: SourceBitrix, SourceID: text, Action: "deal.add", Result: ResultFailed, Message: text}); err != nil {
			return err
		}
		if _, _, err := tx.RecordFailure(ctx, FailureReport{Kind: "order", Key: "1", Error: text, Payload: text, MaxAttempts: 5}); err != nil {
			return err
		}
		if err := tx.AddLedger(ctx, LedgerEntry{Side: SideBitrix, Entity: "comment", EntityID: 1, Field: "COMMENT", Value: text}); err != nil {
			return err
		}
		_, err := tx.MarkRuleFired(ctx, RuleFire{RuleKey: "r", EventKey: "e", Action: "task", ResultID: text})
		return err
	})
	if err := s.FinishRun(ctx, runID, RunFailed, nil, text); err != nil {
		t.Fatal(err)
	}
	return runID
}
