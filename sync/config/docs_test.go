package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// docExample is the YAML block of docs/configuration.md that shows every key
// with its default.
func docExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	const intro = "A complete file, with every key and its default:"
	_, rest, ok := strings.Cut(string(data), intro)
	if !ok {
		t.Fatalf("docs/configuration.md lacks %q", intro)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("docs/configuration.md: no ```yaml block after the introduction")
	}
	return block
}

// TestDocListsEveryKey: the example in docs/configuration.md names every key
// of Config (a secret's _file form too), loads, and shows each default; a key
// without a default (its zero value) may show an example instead.
func TestDocListsEveryKey(t *testing.T) {
	t.Parallel()
	block := docExample(t)
	root, err := parseYAML([]byte(block))
	if err != nil {
		t.Fatalf("the example is not valid YAML: %v", err)
	}
	for _, k := range Keys() {
		if node(root, k) == nil {
			t.Errorf("docs/configuration.md does not list %s", k)
		}
	}
	p := writeFile(t, t.TempDir(), "crmsync.yaml", block)
	doc, err := Load(viper.New(), Options{File: p, CredentialsDir: t.TempDir()})
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	def, got := reflect.ValueOf(defaults()).Elem(), reflect.ValueOf(doc).Elem()
	for _, f := range fields() {
		if f.index == nil {
			continue
		}
		want := def.FieldByIndex(f.index)
		if want.IsZero() {
			continue
		}
		if diff := cmp.Diff(want.Interface(), got.FieldByIndex(f.index).Interface(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("docs/configuration.md shows %s other than its default (-default +doc):\n%s", f.path, diff)
		}
	}
}

// TestKeysComeFromTheStruct: the key list is Config's yaml tags, each
// secret followed by its _file form; a key needs a field, a field a key.
func TestKeysComeFromTheStruct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, f := range fields() {
		if seen[f.path] {
			t.Errorf("key %s twice", f.path)
		}
		seen[f.path] = true
		if f.index == nil && !strings.HasSuffix(f.path, "_file") {
			t.Errorf("%s has no field", f.path)
		}
	}
	for _, k := range SecretKeys() {
		i := slices.Index(Keys(), k)
		if i < 0 || i+1 >= len(Keys()) || Keys()[i+1] != k+"_file" {
			t.Errorf("secret %s is not followed by %s_file", k, k)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("retailcrm: {api_key: x}\n"), &doc); err != nil || node(doc.Content[0], "retailcrm.api_key") == nil {
		t.Fatal("node does not find a nested key")
	}
}
