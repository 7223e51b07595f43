package bitrixtest

import (
	"net/url"
	"strconv"
	"strings"
)

// ParseQuery parses a query string the way PHP's parse_str does:
// filter[@ORIGIN_ID][0]=1 becomes {"filter": {"@ORIGIN_ID": {"0": "1"}}},
// select[]=ID appends the next integer key. Every leaf is a string; lists
// are maps with "0".."n-1" keys (PHP arrays), see List.
func ParseQuery(q string) map[string]any {
	root := map[string]any{}
	parseQueryInto(q, root, nil)
	return root
}

// parseQueryOrdered also returns, per map path (keys joined by "\x00"), the
// order in which keys first appeared: batch commands run in that order.
func parseQueryOrdered(q string) (map[string]any, map[string][]string) {
	root := map[string]any{}
	order := map[string][]string{}
	parseQueryInto(q, root, order)
	return root, order
}

// parseQueryInto parses q into root, recording the key order in order
// unless it is nil (ParseQuery: every batch command is parsed, and only the
// batch's own keys need their order).
func parseQueryInto(q string, root map[string]any, order map[string][]string) {
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			key = rawKey
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			val = rawVal
		}
		path := splitKey(key)
		if len(path) == 0 || path[0] == "" {
			continue
		}
		insert(root, order, "", path, val)
	}
}

// splitKey turns a[b][c] into [a b c]; a malformed bracket ends parsing
// like PHP does (the rest is kept as part of the last name).
func splitKey(key string) []string {
	open := strings.IndexByte(key, '[')
	if open <= 0 {
		// PHP replaces spaces and dots in the base name with underscores;
		// method params never rely on that, so keep the name as is.
		return []string{key}
	}
	parts := []string{key[:open]}
	rest := key[open:]
	for len(rest) > 0 && rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			break
		}
		parts = append(parts, rest[1:end])
		rest = rest[end+1:]
	}
	return parts
}

func insert(m map[string]any, order map[string][]string, path string, keys []string, val string) {
	k := keys[0]
	if k == "" {
		k = strconv.Itoa(nextIndex(m))
	}
	if _, seen := m[k]; !seen && order != nil {
		order[path] = append(order[path], k)
	}
	if len(keys) == 1 {
		m[k] = val
		return
	}
	child, ok := m[k].(map[string]any)
	if !ok {
		child = map[string]any{}
		m[k] = child
	}
	if order != nil {
		path += "\x00" + k
	}
	insert(child, order, path, keys[1:], val)
}

// nextIndex is PHP's next integer key: one more than the largest one.
func nextIndex(m map[string]any) int {
	n := 0
	for k := range m {
		if i, err := strconv.Atoi(k); err == nil && i >= n {
			n = i + 1
		}
	}
	return n
}
