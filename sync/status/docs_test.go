package status_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/sync/status"
)

// TestOperationsDocListsEveryField: docs/operations.md names every top-level
// field of the status --json document, the contract scripts rely on.
func TestOperationsDocListsEveryField(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(data), "`status --json` is a stable document (")
	list, _, closed := strings.Cut(list, "fields are only ever added")
	if !ok || !closed {
		t.Fatal("docs/operations.md lacks the list of status --json fields")
	}
	rt := reflect.TypeFor[status.Report]()
	for f := range rt.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !strings.Contains(list, "`"+name+"`") {
			t.Errorf("docs/operations.md does not list the status --json field %s", name)
		}
	}
}
