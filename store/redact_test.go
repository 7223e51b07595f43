package store

import (
	"context"
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
