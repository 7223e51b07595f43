package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/crmsync/crmsync/sync/redact"
	"github.com/crmsync/crmsync/sync/runs"
)

// TestPanicIsRedacted: a panic in a command (a bug) whose value quotes
// the webhook URL and the API key is printed with both masked, with the
// stack a bug report needs, and exits 1.
func TestPanicIsRedacted(t *testing.T) {
	t.Parallel()
	const key = "rcrm-panic-key-0001"
	hook := "https://p.bitrix24.ru/rest/1/panicsecret77/"
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "retailcrm:\n  url: https://shop.retailcrm.ru\n  api_key: "+key+"\nbitrix:\n  webhook_url: "+hook+"\n")

	var out, errb bytes.Buffer
	a := &app{streams: streams{in: strings.NewReader(""), out: &out, err: &errb}, v: viper.New(), redactor: redact.New(), apis: &runs.Counter{}}
	root := a.rootCmd()
	root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error {
		panic(fmt.Errorf("POST %scrm.deal.add.json: X-API-KEY %s: %w", hook, key, errors.New("boom")))
	}})
	root.SetArgs([]string{"--config", cfg, "boom"})
	root.SetOut(&out)
	root.SetErr(&errb)
	_, err := a.execute(context.Background(), root)
	code := exitCode(err, false)
	a.printError(err, code)

	if code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	got := errb.String()
	for _, secret := range []string{key, "panicsecret77"} {
		if strings.Contains(got, secret) {
			t.Errorf("the panic printed %s:\n%s", secret, got)
		}
	}
	wantAll(t, "stderr", got, "crmsync: internal error", "panic: POST https://p.bitrix24.ru/rest/1/***/crm.deal.add.json: X-API-KEY ***: boom",
		"goroutine ", "TestPanicIsRedacted")
}
