package bitrixtest

import (
	"cmp"
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
func matches(filter map[string]any, get getter) bool { return compileFilter(filter).match(get) }

// cond is one filter condition with its wanted values parsed once, so that
// a list can test many rows without re-reading the filter for each.
type cond struct {
	op, field string
	list      []operand // every wanted value (@, and = or ! with a list)
	isList    bool
	w         operand // the first wanted value, "" when none
	needle    string  // for %, =% and %=
}

type conds []cond

// compileFilter reads a legacy CRM filter once; LOGIC is ignored.
func compileFilter(filter map[string]any) conds {
	out := make(conds, 0, len(filter))
	for key, want := range filter {
		if strings.EqualFold(key, "LOGIC") {
			continue
		}
		op, field := splitOp(key)
		c := cond{op: op, field: field}
		wantList := List(want)
		_, c.isList = want.([]any)
		if _, isMap := want.(map[string]any); isMap {
			c.isList = true
		}
		c.list = make([]operand, len(wantList))
		for i, w := range wantList {
			c.list[i] = newOperand(Str(w))
		}
		if len(c.list) > 0 {
			c.w = c.list[0]
		}
		c.needle = strings.ToLower(strings.Trim(c.w.s, "%"))
		out = append(out, c)
	}
	return out
}

// match reports whether a row passes every condition.
func (cs conds) match(get getter) bool {
	for i := range cs {
		if !cs[i].match(get(cs[i].field)) {
			return false
		}
	}
	return true
}

func (c *cond) match(have []string) bool {
	if len(have) == 0 {
		have = []string{""}
	}
	anyHave := func(pred func(operand) bool) bool {
		for _, h := range have {
			if pred(newOperand(h)) {
				return true
			}
		}
		return false
	}
	inList := func(h operand) bool {
		for _, w := range c.list {
			if compareOperands(h, w) == 0 {
				return true
			}
		}
		return false
	}
	eq := func(h operand) bool { return compareOperands(h, c.w) == 0 }
	switch c.op {
	case "@":
		return anyHave(inList)
	case "!@":
		return !anyHave(inList)
	case "=":
		if c.isList {
			return anyHave(inList)
		}
		return anyHave(eq)
	case "!", "!=":
		if c.isList {
			return !anyHave(inList)
		}
		return !anyHave(eq)
	case ">":
		return anyHave(func(h operand) bool { return h.s != "" && compareOperands(h, c.w) > 0 })
	case ">=":
		return anyHave(func(h operand) bool { return h.s != "" && compareOperands(h, c.w) >= 0 })
	case "<":
		return anyHave(func(h operand) bool { return h.s != "" && compareOperands(h, c.w) < 0 })
	case "<=":
		return anyHave(func(h operand) bool { return h.s != "" && compareOperands(h, c.w) <= 0 })
	case "%", "=%", "%=":
		return anyHave(func(h operand) bool { return strings.Contains(strings.ToLower(h.s), c.needle) })
	}
	return false
}

// equals lists the values one equality condition (=, or @) admits: a row
// passes it only if one of its values of c.field compares equal to one of
// them. ok is false for any other operator.
func (c *cond) equals() (vals []operand, ok bool) {
	switch {
	case c.op == "@", c.op == "=" && c.isList:
		return c.list, true
	case c.op == "=":
		return []operand{c.w}, true
	}
	return nil, false
}

// operand is a compared value with its number, or its instant when it is
// a datetime, parsed once.
type operand struct {
	s    string
	f    float64
	num  bool
	at   int64 // unix seconds of a datetime
	time bool
}

func newOperand(s string) operand {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	o := operand{s: s, f: f, num: err == nil}
	if !o.num {
		o.at, o.time = parseDateTime(s)
	}
	return o
}

// compare orders numerically when both sides are numbers, else as text.
func compare(a, b string) int { return compareOperands(newOperand(a), newOperand(b)) }

func compareOperands(a, b operand) int {
	if a.time && b.time {
		// The portal compares datetimes as instants (it converts every
		// value to the server's zone), whatever offset each was written in.
		return cmp.Compare(a.at, b.at)
	}
	if a.num && b.num {
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	}
	return strings.Compare(a.s, b.s)
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

// pageSize is the fixed page size of list methods.
const pageSize = 50

// page cuts rows at start (pages of 50) and fills total/next as the
// portal does: next only when more rows follow. start -1 (see fastStart)
// skips counting: total 0 and never a next.
func page[T any](rows []T, startParam any) ([]T, *result) {
	res := &result{hasTot: true}
	start, _ := intParam(startParam)
	if start < 0 {
		if len(rows) > pageSize {
			rows = rows[:pageSize]
		}
		return rows, res
	}
	res.total = len(rows)
	if int(start) >= len(rows) {
		return rows[:0], res
	}
	end := min(int(start)+pageSize, len(rows))
	if end < len(rows) {
		res.next, res.hasNext = end, true
	}
	return rows[start:end], res
}

// fastStart reports whether the documentation shows start=-1 for a list
// method: the worked example of settings/performance/huge-data.md uses
// crm.lead.list (and, in its current version, crm.item.list, which the fake
// does not serve). The pages of crm.deal.list, crm.contact.list,
// crm.stagehistory.list and crm.timeline.comment.list document start ≥ 0
// only.
func fastStart(method string) bool { return method == "crm.lead.list" }

// checkStart refuses start=-1 where the method's documentation does not show
// it. What a portal does there is not documented, so a client must not
// send it; the fake makes such a request fail loudly instead of guessing.
func checkStart(method string, startParam any) *apiErr {
	if start, _ := intParam(startParam); start >= 0 || fastStart(method) {
		return nil
	}
	return codeErr(400, "INVALID_ARG_VALUE", "bitrixtest: start=-1 is not documented for "+method+"; page with start ≥ 0 and next")
}
