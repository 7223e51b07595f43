package bitrixtest

import (
	"sort"
	"strconv"
	"strings"
)

// getter returns the values of a field of one row (several for multifields).
type getter func(field string) []string

// filterOps in match order: longer prefixes first.
var filterOps = []string{"!@", ">=", "<=", "!=", "=%", "%=", "@", ">", "<", "=", "!", "%"}

func splitOp(key string) (op, field string) {
	for _, op := range filterOps {
		if strings.HasPrefix(key, op) {
			return op, strings.ToUpper(strings.TrimSpace(key[len(op):]))
		}
	}
	return "=", strings.ToUpper(strings.TrimSpace(key))
}

// matches applies a legacy CRM filter.
func matches(filter map[string]any, get getter) bool {
	for key, want := range filter {
		if strings.EqualFold(key, "LOGIC") {
			continue
		}
		op, field := splitOp(key)
		have := get(field)
		if !matchOne(op, have, want) {
			return false
		}
	}
	return true
}

func matchOne(op string, have []string, want any) bool {
	if len(have) == 0 {
		have = []string{""}
	}
	wantList := List(want)
	_, isList := want.([]any)
	if _, isMap := want.(map[string]any); isMap {
		isList = true
	}
	anyHave := func(pred func(string) bool) bool {
		for _, h := range have {
			if pred(h) {
				return true
			}
		}
		return false
	}
	inList := func(h string) bool {
		for _, w := range wantList {
			if compare(h, Str(w)) == 0 {
				return true
			}
		}
		return false
	}
	w := ""
	if len(wantList) > 0 {
		w = Str(wantList[0])
	}
	switch op {
	case "@":
		return anyHave(inList)
	case "!@":
		return !anyHave(inList)
	case "=":
		if isList {
			return anyHave(inList)
		}
		return anyHave(func(h string) bool { return compare(h, w) == 0 })
	case "!", "!=":
		if isList {
			return !anyHave(inList)
		}
		return !anyHave(func(h string) bool { return compare(h, w) == 0 })
	case ">":
		return anyHave(func(h string) bool { return h != "" && compare(h, w) > 0 })
	case ">=":
		return anyHave(func(h string) bool { return h != "" && compare(h, w) >= 0 })
	case "<":
		return anyHave(func(h string) bool { return h != "" && compare(h, w) < 0 })
	case "<=":
		return anyHave(func(h string) bool { return h != "" && compare(h, w) <= 0 })
	case "%", "=%", "%=":
		needle := strings.ToLower(strings.Trim(w, "%"))
		return anyHave(func(h string) bool { return strings.Contains(strings.ToLower(h), needle) })
	}
	return false
}

// compare orders numerically when both sides are numbers, else as text.
func compare(a, b string) int {
	fa, ea := strconv.ParseFloat(strings.TrimSpace(a), 64)
	fb, eb := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if ea == nil && eb == nil {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// sortRows orders rows by the order map (keys sorted for determinism), ID
// ascending by default.
func sortRows[T any](rows []T, order map[string]any, get func(T) getter) {
	keys := make([]string, 0, len(order))
	for k := range order {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sort.SliceStable(rows, func(i, j int) bool {
		gi, gj := get(rows[i]), get(rows[j])
		for _, k := range keys {
			f := strings.ToUpper(k)
			c := compare(first(gi(f)), first(gj(f)))
			if c == 0 {
				continue
			}
			if strings.EqualFold(Str(order[k]), "DESC") {
				return c > 0
			}
			return c < 0
		}
		return compare(first(gi("ID")), first(gj("ID"))) < 0
	})
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// page cuts rows at start (pages of 50) and fills total/next; start -1
// skips counting.
func page[T any](rows []T, startParam any) ([]T, *result) {
	res := &result{}
	start, _ := intParam(startParam)
	if start < 0 {
		if len(rows) > 50 {
			rows = rows[:50]
		}
		return rows, res
	}
	res.total, res.hasTot = len(rows), true
	if int(start) >= len(rows) {
		return rows[:0], res
	}
	end := min(int(start)+50, len(rows))
	if end < len(rows) {
		res.next, res.hasNext = end, true
	}
	return rows[start:end], res
}
