package deploy

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOperationsDocNamesEveryMetric: docs/operations.md, "Metrics", names
// every metric crmsync writes and none it does not.
func TestOperationsDocNamesEveryMetric(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := registeredMetrics(t)
	named := map[string]bool{}
	for _, n := range metricName.FindAllString(string(data), -1) {
		named[n] = true
		if _, ok := known[n]; !ok {
			t.Errorf("docs/operations.md names %s, which crmsync does not write", n)
		}
	}
	for n := range known {
		if !named[n] {
			t.Errorf("docs/operations.md does not name %s", n)
		}
	}
}
