package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/redact"
	"github.com/crmsync/crmsync/sync/runs"
)

// TestStatusPageHidesSecrets: the page serve mounts at GET / shows what
// status --json shows (its runs and failures), and never the API key or the
// webhook's secret from the configuration, even when the database carries
// them (a database written unredacted, as by an older release).
func TestStatusPageHidesSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	webhook := "https://shop.bitrix24.ru/rest/1/" + testHookSecret + "/"
	cfg := writeConfig(t, dir, validConfig("https://shop.retailcrm.ru", webhook)+"db: "+db+"\n")

	seedStore(t, db)
	st, err := store.Open(ctx, db, store.Options{}) // no redactor: the secrets go in as they are
	if err != nil {
		t.Fatal(err)
	}
	err = st.Tx(ctx, func(tx *store.Tx) error {
		_, _, err := tx.RecordFailure(ctx, store.FailureReport{Kind: "order", Key: "1042", MaxAttempts: 1,
			Error: "RetailCRM answered 403 for key " + testAPIKey + "; Bitrix24 " + webhook + "crm.deal.add"})
		return err
	})
	if err == nil {
		var id int64
		if id, err = st.StartRun(ctx, "push", 1); err == nil {
			err = st.FinishRun(ctx, id, store.RunFailed, map[string]int64{"bitrix_requests": 2}, "POST "+webhook+"batch?key="+testAPIKey)
		}
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	a := &app{streams: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}, v: viper.New(),
		redactor: redact.New(), apis: &runs.Counter{}}
	a.global.configFile = cfg
	if err := a.setup(); err != nil {
		t.Fatal(err)
	}
	if a.cfg == nil {
		t.Fatalf("config: %v", a.cfgErr)
	}
	srv := httptest.NewServer(a.statusPage())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", res.StatusCode, page)
	}
	for _, secret := range []string{testAPIKey, testHookSecret} {
		if strings.Contains(page, secret) {
			t.Errorf("the status page shows the secret %q", secret)
		}
	}
	if !strings.Contains(page, "for key ***") || !strings.Contains(page, "/rest/1/***/") {
		t.Errorf("the page lacks the masked texts:\n%s", page)
	}

	// The same runs and failures as status --json.
	r := runInProcess(t, "--config", cfg, "status", "--json")
	r.mustCode(t, exitOK)
	rep := decodeStatus(t, r)
	if len(rep.Runs) != 2 || len(rep.Failures.Items) != 3 {
		t.Fatalf("status --json: %d runs, %d failures", len(rep.Runs), len(rep.Failures.Items))
	}
	for _, run := range rep.Runs {
		if want := fmt.Sprintf(`<tr class="run" data-command="%s">`, run.Command); !strings.Contains(page, want) {
			t.Errorf("the page lacks the run of %s", run.Command)
		}
	}
	for _, f := range rep.Failures.Items {
		if want := fmt.Sprintf(`<td class="num">#%d</td><td>%s</td><td>%s`, f.ID, f.Kind, f.Key); !strings.Contains(page, want) {
			t.Errorf("the page lacks failure %s", want)
		}
	}
}
