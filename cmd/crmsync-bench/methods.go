package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

// methodMix is what one run asked the portal, by method: HTTP requests and,
// inside batches, commands. It explains a requests-per-operation figure.
type methodMix struct {
	requests, commands map[string]int
}

func mixBetween(before, after bitrixtest.Stats) methodMix {
	return methodMix{requests: diffCounts(before.PerMethod, after.PerMethod),
		commands: diffCounts(before.CommandsPerMethod, after.CommandsPerMethod)}
}

func diffCounts(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (m methodMix) String() string {
	return fmt.Sprintf("requests: %s; commands in batches: %s", countList(m.requests), countList(m.commands))
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("`%s` %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
