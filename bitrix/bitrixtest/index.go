package bitrixtest

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The fake answers list methods from indexes where a filter allows it, so
// that a portal of 100,000 rows costs a lookup, not a scan, per request. An
// index only ever narrows the rows a list looks at: every candidate still
// goes through the filter, so answers are those of a full scan.

// indexedFields are the entity fields with an equality index (filters =F,
// F and @F). Only store.apply writes them after a row is added, and it
// re-indexes the row.
var indexedFields = []string{"ORIGIN_ID", "ORIGINATOR_ID", "CONTACT_ID", "PHONE", "EMAIL"}

func isIndexed(field string) bool { return slices.Contains(indexedFields, field) }

// eqKey is the index key of a compared value: two values compare equal
// (compare == 0) exactly when their keys are equal, except that NaN, being
// neither less nor greater, equals every number: those are wild.
func eqKey(o operand) (key string, wild bool) {
	if o.time {
		return "t" + strconv.FormatInt(o.at, 10), false
	}
	if !o.num {
		return "s" + o.s, false
	}
	if math.IsNaN(o.f) {
		return "", true
	}
	f := o.f
	if f == 0 {
		f = 0 // -0 equals 0
	}
	return "n" + strconv.FormatFloat(f, 'g', -1, 64), false
}

func fieldKey(field string, o operand) (key string, wild bool) {
	k, wild := eqKey(o)
	if wild {
		return field + "\x00*", true
	}
	return field + "\x00" + k, false
}

// commKey is the index key crm.duplicate.findbycomm looks a value up by; ""
// for a value that never matches.
func commKey(typ, value string) string {
	if n := normComm(typ, value); n != "" {
		return "~" + typ + "\x00" + n
	}
	return ""
}

// normComm is crm.duplicate.findbycomm's comparison form: e-mail lower-cased
// and trimmed, a phone number's digits.
func normComm(typ, v string) string {
	if typ == "EMAIL" {
		return strings.ToLower(strings.TrimSpace(v))
	}
	var b strings.Builder
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// rowKeys lists a row's index keys, sorted and without repeats.
func rowKeys(kind string, r *Row) []string {
	var keys []string
	for _, f := range indexedFields {
		vals := rowValues(kind, r, f)
		if len(vals) == 0 {
			vals = []string{""} // as a filter sees a missing value
		}
		for _, v := range vals {
			k, _ := fieldKey(f, newOperand(v))
			keys = append(keys, k)
		}
	}
	for _, typ := range []string{"PHONE", "EMAIL"} {
		for _, m := range r.Multi[typ] {
			if k := commKey(typ, m.Value); k != "" {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// insert stores a new row; its id must be above every stored id.
func (t *table) insert(r *Row) {
	t.rows[r.ID] = r
	t.ids = insertID(t.ids, r.ID)
	t.reindex(r)
}

// reindex moves a stored row to its current index keys.
func (t *table) reindex(r *Row) {
	now := rowKeys(t.kind, r)
	was := t.keys[r.ID]
	i, j := 0, 0
	for i < len(was) || j < len(now) {
		switch {
		case j == len(now) || i < len(was) && was[i] < now[j]:
			t.unindex(was[i], r.ID)
			i++
		case i == len(was) || now[j] < was[i]:
			t.idx[now[j]] = insertID(t.idx[now[j]], r.ID)
			j++
		default:
			i++
			j++
		}
	}
	t.keys[r.ID] = now
}

func (t *table) unindex(key string, id int64) {
	ids := t.idx[key]
	if i, found := slices.BinarySearch(ids, id); found {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(t.idx, key)
		return
	}
	t.idx[key] = ids
}

// insertID adds id to ascending ids (appending in the common case).
func insertID(ids []int64, id int64) []int64 {
	if len(ids) == 0 || ids[len(ids)-1] < id {
		return append(ids, id)
	}
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids
	}
	return slices.Insert(ids, i, id)
}

// candidates returns ascending ids among which are all rows that pass cs:
// the fewest of those an equality condition on ID or an indexed field
// allows, and those its ID range conditions allow. The slice is shared: do
// not change it.
func (t *table) candidates(cs conds) []int64 {
	lo, hi := idRange(cs, len(t.ids), func(i int) int64 { return t.ids[i] })
	best := t.ids[lo:hi]
	for i := range cs {
		c := &cs[i]
		vals, isEq := c.equals()
		switch {
		case !isEq:
		case c.field == "ID":
			if ids, served := t.byID(vals); served && len(ids) < len(best) {
				best = ids
			}
		case isIndexed(c.field):
			if ids, served := t.lookup(c.field, vals, len(best)); served {
				best = ids
			}
		}
	}
	return best
}

// byID returns the stored ids equal to one of vals.
func (t *table) byID(vals []operand) ([]int64, bool) {
	var ids []int64
	for _, v := range vals {
		switch {
		case !v.num: // an ID is a number, and a number never equals a text
		case math.IsNaN(v.f):
			return nil, false
		case v.f >= 1 && v.f <= float64(t.next) && v.f == math.Trunc(v.f):
			if id := int64(v.f); t.rows[id] != nil {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), true
}

// lookup returns the ids of rows with a value of field equal to one of
// vals, if fewer than limit.
func (t *table) lookup(field string, vals []operand, limit int) ([]int64, bool) {
	lists := make([][]int64, 0, len(vals)+1)
	n := 0
	add := func(l []int64) {
		lists = append(lists, l)
		n += len(l)
	}
	for _, v := range vals {
		k, wild := fieldKey(field, v)
		if wild {
			return nil, false // a NaN wanted equals every number
		}
		add(t.idx[k])
	}
	add(t.idx[field+"\x00*"]) // rows whose NaN equals every number
	if n >= limit {
		return nil, false
	}
	return mergeIDs(lists, n), true
}

// mergeIDs unites ascending id lists.
func mergeIDs(lists [][]int64, n int) []int64 {
	var only []int64
	nonEmpty := 0
	for _, l := range lists {
		if len(l) > 0 {
			only = l
			nonEmpty++
		}
	}
	if nonEmpty <= 1 {
		return only
	}
	out := make([]int64, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// idRange narrows [0, n) of rows ascending by id (idAt) to those the
// filter's >ID, >=ID, <ID and <=ID conditions with a number allow.
func idRange(cs conds, n int, idAt func(int) int64) (lo, hi int) {
	hi = n
	for i := range cs {
		c := &cs[i]
		if c.field != "ID" || !c.w.num || math.IsNaN(c.w.f) {
			continue
		}
		// float64(id) is what compare sees: ParseFloat of the id's text.
		above := func(i int) bool { return float64(idAt(i)) > c.w.f }
		atLeast := func(i int) bool { return float64(idAt(i)) >= c.w.f }
		switch c.op {
		case ">":
			lo = max(lo, sort.Search(n, above))
		case ">=":
			lo = max(lo, sort.Search(n, atLeast))
		case "<":
			hi = min(hi, sort.Search(n, atLeast))
		case "<=":
			hi = min(hi, sort.Search(n, above))
		}
	}
	return min(lo, hi), hi
}

// idOrder tells whether an order sorts by ID first (as sortRows would),
// and if so whether descending. No order is ID ascending.
func idOrder(order map[string]any) (byID, desc bool) {
	if len(order) == 0 {
		return true, false
	}
	keys := make([]string, 0, len(order))
	for k := range order {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.ToUpper(keys[0]) != "ID" {
		return false, false
	}
	return true, strings.EqualFold(Str(order[keys[0]]), "DESC")
}

// listPage answers a list from cands, ascending by ID: those keep accepts,
// in the order asked, cut by page. An order led by ID needs no sort, and
// without counting (start -1) the walk stops after one page.
func listPage[T any](cands []T, keep func(T) bool, order map[string]any, start any, get func(T) getter) ([]T, *result) {
	byID, desc := idOrder(order)
	var rows []T
	if !byID {
		for _, c := range cands {
			if keep(c) {
				rows = append(rows, c)
			}
		}
		sortRows(rows, order, get)
		return page(rows, start)
	}
	st, _ := intParam(start)
	for i := range cands {
		c := cands[i]
		if desc {
			c = cands[len(cands)-1-i]
		}
		if keep(c) {
			rows = append(rows, c)
			if st < 0 && len(rows) == pageSize {
				break
			}
		}
	}
	return page(rows, start)
}

// commentCandidates returns the comments, ascending by ID, among which are
// all that pass cs: those of the entities an ENTITY_ID condition names, else
// all. The slice is shared: do not change it.
func (d *store) commentCandidates(cs conds) []*CommentRow {
	best := d.comments
	for i := range cs {
		c := &cs[i]
		vals, isEq := c.equals()
		if !isEq || c.field != "ENTITY_ID" {
			continue
		}
		var lists [][]*CommentRow
		n, served := 0, true
		for _, v := range vals {
			k, wild := eqKey(v)
			if wild {
				served = false
				break
			}
			lists = append(lists, d.byEntity[k])
			n += len(d.byEntity[k])
		}
		if !served || n >= len(best) {
			continue
		}
		if len(lists) == 1 {
			best = lists[0]
			continue
		}
		out := make([]*CommentRow, 0, n)
		for _, l := range lists {
			out = append(out, l...)
		}
		slices.SortFunc(out, func(a, b *CommentRow) int { return cmp.Compare(a.ID, b.ID) })
		best = slices.CompactFunc(out, func(a, b *CommentRow) bool { return a.ID == b.ID })
	}
	return best
}
