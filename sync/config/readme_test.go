package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestREADMEMinimalConfigLoads: the configuration README.md shows a new
// user loads as it stands, its secrets read from the files it names, and
// passes RequireAPIs (what pull, push and check need).
func TestREADMEMinimalConfigLoads(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "## A minimal configuration")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md: no ```yaml block under \"A minimal configuration\"")
	}
	dir := t.TempDir()
	const etc = "/etc/crmsync/"
	if !strings.Contains(block, etc) {
		t.Fatalf("README.md's configuration names no secret file under %s:\n%s", etc, block)
	}
	writeFile(t, dir, "retailcrm_api_key", "readme-api-key-0123\n")
	writeFile(t, dir, "bitrix_webhook_url", "https://portal.bitrix24.ru/rest/1/readmehook0123/\n")
	p := writeFile(t, dir, "crmsync.yaml", strings.ReplaceAll(block, etc, dir+"/"))
	cfg, err := Load(viper.New(), Options{File: p, CredentialsDir: t.TempDir()})
	if err != nil {
		t.Fatalf("README.md's configuration does not load: %v", err)
	}
	if err := cfg.RequireAPIs(); err != nil {
		t.Fatalf("README.md's configuration lacks what the commands need: %v", err)
	}
	if cfg.RetailCRM.APIKey != "readme-api-key-0123" || !strings.Contains(cfg.Bitrix.WebhookURL, "readmehook0123") {
		t.Errorf("the secrets were not read from the files README.md names")
	}
	if len(cfg.Mapping.Statuses) == 0 {
		t.Error("README.md's configuration maps no status")
	}
}
