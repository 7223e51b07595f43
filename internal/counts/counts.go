// Package counts prints named counts on one line, as status prints a run's
// counters and the sandbox the deals of each stage.
package counts

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Line is "a=1 b=2": every count as name=value, sorted by name, so the
// line reads the same from run to run.
func Line[V ~int | ~int64](m map[string]V) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
