package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/viper"
)

func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := writeFile(t, dir, "secrets/key", "file-key-0123456789\n")
	hook := writeFile(t, dir, "secrets/hook", "  https://p.bitrix24.ru/rest/3/filesecret99/\r\n")
	rcTok := writeFile(t, dir, "secrets/rc-token", "rc-token-0123456789abcdef")
	bxTok := writeFile(t, dir, "secrets/bx-token", "bxapptoken42\n")
	p := writeFile(t, dir, "crmsync.yaml", "retailcrm:\n  url: https://shop.retailcrm.ru\n  api_key_file: "+key+
		"\nbitrix:\n  webhook_url_file: "+hook+"\nserve:\n  retailcrm_token_file: "+rcTok+"\n  bitrix_token_file: "+bxTok+"\n")
	cfg, err := Load(viper.New(), Options{File: p, CredentialsDir: filepath.Join(dir, "no-credentials")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetailCRM.APIKey != "file-key-0123456789" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/3/filesecret99/" ||
		cfg.Serve.RetailCRMToken != "rc-token-0123456789abcdef" || cfg.Serve.BitrixToken != "bxapptoken42" {
		t.Errorf("secrets not read from their files (or the newline kept): %+v %+v %+v", cfg.RetailCRM, cfg.Bitrix, cfg.Serve)
	}
	if err := cfg.RequireAPIs(); err != nil {
		t.Error(err)
	}
	want := []SecretFile{{key, "retailcrm.api_key_file"}, {hook, "bitrix.webhook_url_file"}, {rcTok, "serve.retailcrm_token_file"}, {bxTok, "serve.bitrix_token_file"}}
	if diff := cmp.Diff(want, cfg.SecretFiles); diff != "" {
		t.Errorf("secret files (-want +got):\n%s", diff)
	}
	for _, s := range []string{"file-key-0123456789", "filesecret99", "rc-token-0123456789abcdef", "bxapptoken42"} {
		if !slices.ContainsFunc(cfg.Secrets(), func(x string) bool { return strings.Contains(x, s) }) {
			t.Errorf("Secrets() lacks %s", s)
		}
	}
}

func TestCredentialsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	writeFile(t, creds, "retailcrm_api_key", "cred-key-0123456789\n")
	writeFile(t, creds, "bitrix_webhook_url", "https://p.bitrix24.ru/rest/3/credsecret77/\n")
	writeFile(t, creds, "serve_retailcrm_token", "cred-rc-token-0123456789")
	writeFile(t, creds, "serve_bitrix_token", "cred-bx-token")

	p := writeFile(t, dir, "crmsync.yaml", "retailcrm:\n  url: https://shop.retailcrm.ru\n")
	cfg, err := Load(viper.New(), Options{File: p, CredentialsDir: creds})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetailCRM.APIKey != "cred-key-0123456789" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/3/credsecret77/" ||
		cfg.Serve.RetailCRMToken != "cred-rc-token-0123456789" || cfg.Serve.BitrixToken != "cred-bx-token" {
		t.Errorf("credentials not read: %+v %+v %+v", cfg.RetailCRM, cfg.Bitrix, cfg.Serve)
	}
	if len(cfg.SecretFiles) != 0 {
		t.Errorf("systemd's credentials are not the operator's files to chmod: %+v", cfg.SecretFiles)
	}

	// A value or a _file set explicitly beats the credentials directory.
	key := writeFile(t, dir, "key", "explicit-file-key\n")
	p = writeFile(t, dir, "explicit.yaml", "retailcrm:\n  api_key_file: "+key+"\nbitrix:\n  webhook_url: https://p.bitrix24.ru/rest/3/yamlsecret/\n")
	cfg, err = Load(viper.New(), Options{File: p, CredentialsDir: creds})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetailCRM.APIKey != "explicit-file-key" || cfg.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/3/yamlsecret/" || cfg.Serve.BitrixToken != "cred-bx-token" {
		t.Errorf("precedence: %+v %+v %+v", cfg.RetailCRM, cfg.Bitrix, cfg.Serve)
	}

	// A credential that is wrong is reported under its key, without its value.
	bad := filepath.Join(dir, "bad-credentials")
	writeFile(t, bad, "bitrix_webhook_url", "https://p.bitrix24.ru/rest/x/credsecret77/\n")
	writeFile(t, bad, "retailcrm_api_key", "")
	_, err = Load(viper.New(), Options{File: p, CredentialsDir: bad})
	if err != nil {
		t.Fatalf("explicit values should shadow bad credentials: %v", err)
	}
	_, err = Load(viper.New(), Options{SearchPath: []string{}, CredentialsDir: bad})
	for _, want := range []string{"bitrix.webhook_url: must look like", "(read from the systemd credential bitrix_webhook_url)", "retailcrm.api_key: systemd credential retailcrm_api_key: the file is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "credsecret77") {
		t.Errorf("error echoes the credential: %v", err)
	}
}

func TestSecretFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty", "\n")
	twoLines := writeFile(t, dir, "two", "TOPSECRET1\nTOPSECRET2\n")
	big := writeFile(t, dir, "big", strings.Repeat("A", 70<<10))
	key := writeFile(t, dir, "key", "TOPSECRET3\n")
	for _, tt := range []struct{ name, body, want string }{
		{"value and file", "retailcrm:\n  api_key: TOPSECRET0\n  api_key_file: " + key + "\n",
			"retailcrm.api_key_file: is set together with retailcrm.api_key; keep one"},
		{"missing", "serve:\n  bitrix_token_file: " + filepath.Join(dir, "nope") + "\n", "serve.bitrix_token_file: the file does not exist (line 2)"},
		{"empty", "retailcrm:\n  api_key_file: " + empty + "\n", "retailcrm.api_key_file: the file is empty (line 2)"},
		{"two lines", "bitrix:\n  webhook_url_file: " + twoLines + "\n", "bitrix.webhook_url_file: the file holds more than one line"},
		{"too big", "serve:\n  retailcrm_token_file: " + big + "\n", "serve.retailcrm_token_file: the file is larger than 64 KiB"},
		{"directory", "retailcrm:\n  api_key_file: " + dir + "\n", "retailcrm.api_key_file: names a directory"},
		{"bad token from file", "serve:\n  retailcrm_token_file: " + key + "\n",
			"serve.retailcrm_token: must be at least 16 characters of A-Z, a-z, 0-9, '.', '_', '~' or '-' (it is part of the trigger's URL), e.g. from openssl rand -hex 16 (read from the file named by serve.retailcrm_token_file)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loadInvalid(t, tt.body, []string{tt.want}, []string{"TOPSECRET", "AAAA"})
		})
	}
}

// Not parallel: uses the process environment.
func TestSecretEnvAndFileTogether(t *testing.T) {
	dir := t.TempDir()
	key := writeFile(t, dir, "key", "file-key-0123456789\n")
	p := writeFile(t, dir, "crmsync.yaml", "retailcrm:\n  api_key_file: "+key+"\n")
	t.Setenv("CRMSYNC_RETAILCRM_API_KEY", "env-key-0123456789")
	t.Setenv("CRMSYNC_SERVE_RETAILCRM_TOKEN", "env-rc-token-0123456789")
	t.Setenv("CRMSYNC_SERVE_BITRIX_TOKEN", "env-bx-token")
	t.Setenv("CRMSYNC_SERVE_LISTEN", ":9090")
	t.Setenv("CRMSYNC_SERVE_EVERY", "2m")
	_, err := Load(viper.New(), Options{File: p})
	if err == nil || !strings.Contains(err.Error(), "retailcrm.api_key_file: is set together with retailcrm.api_key") || strings.Contains(err.Error(), "0123456789") {
		t.Fatalf("err = %v", err)
	}
	cfg, err := Load(viper.New(), Options{File: writeFile(t, dir, "plain.yaml", "")})
	if err != nil {
		t.Fatal(err)
	}
	want := Serve{Listen: ":9090", Every: 2 * time.Minute, RetailCRMToken: "env-rc-token-0123456789", BitrixToken: "env-bx-token"}
	if cfg.Serve != want || cfg.RetailCRM.APIKey != "env-key-0123456789" {
		t.Errorf("serve from the environment: %+v", cfg.Serve)
	}
	if len(cfg.SecretFiles) != 0 {
		t.Errorf("nothing holds a secret on disk: %+v", cfg.SecretFiles)
	}
}

func TestConfigFileHoldingSecretsIsListed(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, "serve:\n  bitrix_token: yaml-bx-token\n  every: 90s\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SecretFiles) != 1 || cfg.SecretFiles[0].Path != cfg.File || cfg.SecretFiles[0].Key != "serve.bitrix_token" {
		t.Errorf("secret files %+v", cfg.SecretFiles)
	}
	if cfg.Serve.Every.Seconds() != 90 || cfg.Serve.Listen != DefaultServeListen {
		t.Errorf("serve %+v", cfg.Serve)
	}
	cfg, err = load(t, "retailcrm:\n  api_key: \"\"\n")
	if err != nil || len(cfg.SecretFiles) != 0 {
		t.Errorf("an empty key holds no secret: %v %+v", err, cfg)
	}
}

func TestCredentialNames(t *testing.T) {
	t.Parallel()
	var got []string
	for _, k := range SecretKeys() {
		got = append(got, CredentialName(k))
		if !slices.Contains(Keys(), k) || !slices.Contains(Keys(), k+"_file") {
			t.Errorf("%s or its _file form is not in the schema", k)
		}
	}
	if diff := cmp.Diff([]string{"retailcrm_api_key", "bitrix_webhook_url", "serve_retailcrm_token", "serve_bitrix_token"}, got); diff != "" {
		t.Error(diff)
	}
}
