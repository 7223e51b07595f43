package bitrixtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// The index tests drive a portal with random adds, updates, multifield edits,
// stage moves and comments, and answer random lists both through the
// handlers (indexes, ID ranges, early stops) and by the brute force the fake
// used before it had indexes: every row scanned, filtered, sorted and paged.
// The two answers must encode to the same bytes.

// bare is a portal without HTTP: the handlers called directly.
func bare() *Server {
	s := &Server{opts: Options{UserID: 1}, clock: NewClock(time.Time{})}
	s.data = newStore(s)
	return s
}

// Values chosen to collide in every way compare knows: numbers written
// differently, -0, NaN, text, empty.
var (
	scalarPool = []string{"", "1", "01", "1.0", " 1", "2", "1e1", "10", "-0", "0", "NaN", "nan", "+Inf", "abc", "ABC", "retailcrm", "other", "3.5", "x 1"}
	phonePool  = []string{"+7 (900) 111-22-33", "79001112233", "8 900 111 22 33", "89001112233", "1", "01", "", "abc", "+1-2", "12"}
	emailPool  = []string{"a@b.c", " A@B.c", "a@b.c ", "b@b.c", "", "1", "x"}
)

func drawScalar(t *rapid.T, label string) any {
	v := rapid.SampledFrom(scalarPool).Draw(t, label)
	switch rapid.IntRange(0, 5).Draw(t, label+"-type") {
	case 0:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(n, 10))
		}
	case 1:
		if v == "" {
			return nil
		}
	}
	return v
}

// drawValue is a scalar, a JSON list or a PHP array (map with index keys).
func drawValue(t *rapid.T, label string, pool []string) any {
	pick := func(l string) any {
		if pool != nil {
			return rapid.SampledFrom(pool).Draw(t, l)
		}
		return drawScalar(t, l)
	}
	switch rapid.IntRange(0, 5).Draw(t, label+"-shape") {
	case 0:
		n := rapid.IntRange(0, 3).Draw(t, label+"-n")
		l := make([]any, n)
		for i := range l {
			l[i] = pick(label)
		}
		return l
	case 1:
		n := rapid.IntRange(0, 3).Draw(t, label+"-n")
		m := map[string]any{}
		for i := range n {
			m[strconv.Itoa(i)] = pick(label)
		}
		return m
	}
	return pick(label)
}

func drawMulti(t *rapid.T, r *Row, typ string, pool []string) any {
	var items []any
	for range rapid.IntRange(0, 3).Draw(t, "multi-items") {
		var ids []int64
		if r != nil {
			for _, m := range r.Multi[typ] {
				ids = append(ids, m.ID)
			}
		}
		val := rapid.SampledFrom(pool).Draw(t, "multi-value")
		op := rapid.IntRange(0, 4).Draw(t, "multi-op")
		if len(ids) == 0 || op == 0 {
			if rapid.Bool().Draw(t, "bare") {
				items = append(items, val)
			} else {
				items = append(items, map[string]any{"VALUE": val, "VALUE_TYPE": "WORK"})
			}
			continue
		}
		id := strconv.FormatInt(rapid.SampledFrom(ids).Draw(t, "multi-id"), 10)
		switch op {
		case 1:
			items = append(items, map[string]any{"ID": id, "VALUE": val})
		case 2:
			items = append(items, map[string]any{"ID": id, "DELETE": "Y"})
		case 3:
			items = append(items, map[string]any{"ID": id})
		default:
			items = append(items, map[string]any{"ID": id, "VALUE": ""})
		}
	}
	return items
}

var indexKinds = []string{"deal", "contact", "lead"}

func drawFields(t *rapid.T, kind string, r *Row) map[string]any {
	f := map[string]any{}
	for _, name := range []string{"ORIGIN_ID", "ORIGINATOR_ID", "CONTACT_ID", "TITLE", "COMMENTS"} {
		if rapid.IntRange(0, 2).Draw(t, "set-"+name) == 0 {
			continue
		}
		if name == "ORIGIN_ID" && rapid.IntRange(0, 6).Draw(t, "origin-list") == 0 {
			f[name] = drawValue(t, name, nil) // stored as a list field
		} else {
			f[name] = drawScalar(t, name)
		}
	}
	if kind == "deal" && rapid.IntRange(0, 4).Draw(t, "contact-ids") == 0 {
		f["CONTACT_IDS"] = []any{drawScalar(t, "contact-ids-0")}
	}
	if kind == "deal" && r != nil && rapid.IntRange(0, 3).Draw(t, "move") == 0 {
		f["STAGE_ID"] = rapid.SampledFrom([]string{"NEW", "PREPARATION", "WON", "LOSE"}).Draw(t, "stage")
	}
	if kind != "deal" || rapid.IntRange(0, 5).Draw(t, "deal-multi") == 0 {
		if rapid.Bool().Draw(t, "phone") {
			f["PHONE"] = drawMulti(t, r, "PHONE", phonePool)
		}
		if rapid.Bool().Draw(t, "email") {
			f["EMAIL"] = drawMulti(t, r, "EMAIL", emailPool)
		}
	}
	return f
}

// mutate runs one random write.
func mutate(t *rapid.T, s *Server) {
	kind := rapid.SampledFrom(indexKinds).Draw(t, "kind")
	tb := s.data.entities[kind]
	switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
	case op < 4 || len(tb.ids) == 0:
		for range rapid.IntRange(1, 1+op*10).Draw(t, "adds") {
			if _, e := s.entityAdd(kind, map[string]any{"fields": drawFields(t, kind, nil)}); e != nil {
				t.Fatalf("add: %v", e.desc)
			}
		}
	case op < 8:
		id := rapid.SampledFrom(tb.ids).Draw(t, "update-id")
		p := map[string]any{"id": strconv.FormatInt(id, 10), "fields": drawFields(t, kind, tb.rows[id])}
		if _, e := s.entityUpdate(kind, p); e != nil {
			t.Fatalf("update: %v", e.desc)
		}
	default:
		id := rapid.SampledFrom(tb.ids).Draw(t, "comment-id")
		s.clock.(*Clock).Advance(time.Second)
		s.data.addComment(kind, id, int64(rapid.IntRange(1, 3).Draw(t, "author")), "c")
	}
}

func drawFilter(t *rapid.T, fields []string) map[string]any {
	f := map[string]any{}
	for range rapid.IntRange(0, 3).Draw(t, "conds") {
		op := rapid.SampledFrom([]string{"", "=", "@", "!", "!@", ">", ">=", "<", "<=", "%", "!="}).Draw(t, "filter-op")
		field := rapid.SampledFrom(fields).Draw(t, "filter-field")
		if rapid.IntRange(0, 5).Draw(t, "lower") == 0 {
			field = strings.ToLower(field)
		}
		var v any
		switch field {
		case "PHONE", "phone":
			v = drawValue(t, "filter-value", phonePool)
		case "EMAIL", "email":
			v = drawValue(t, "filter-value", emailPool)
		case "ID", "id":
			if rapid.Bool().Draw(t, "id-number") {
				v = json.Number(strconv.Itoa(rapid.IntRange(-1, 160).Draw(t, "id-value")))
				break
			}
			fallthrough
		default:
			v = drawValue(t, "filter-value", nil)
		}
		f[op+field] = v
	}
	if rapid.IntRange(0, 9).Draw(t, "logic") == 0 {
		f["LOGIC"] = "OR"
	}
	return f
}

func drawOrder(t *rapid.T, fields []string) any {
	switch rapid.IntRange(0, 6).Draw(t, "order") {
	case 0:
		return nil
	case 1:
		return map[string]any{"ID": "ASC"}
	case 2:
		return map[string]any{"ID": "DESC"}
	case 3:
		return map[string]any{"id": "desc", "TITLE": "ASC"}
	case 4:
		return []any{"ID"} // not a map: no order
	}
	o := map[string]any{}
	for range rapid.IntRange(1, 2).Draw(t, "order-keys") {
		o[rapid.SampledFrom(fields).Draw(t, "order-field")] = rapid.SampledFrom([]string{"ASC", "DESC", "desc", "x"}).Draw(t, "order-dir")
	}
	return o
}

func drawStart(t *rapid.T) any {
	return rapid.SampledFrom([]any{nil, -1, "-1", 0, 3, 50, 100, "abc", json.Number("50")}).Draw(t, "start")
}

// answer encodes a handler's answer as the portal would send it.
func answer(t *rapid.T, res *result, e *apiErr) string {
	out := map[string]any{}
	if e != nil {
		out = e.body()
	} else {
		out["result"] = res.value
		if res.hasTot {
			out["total"] = res.total
		}
		if res.hasNext {
			out["next"] = res.next
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func same(t *rapid.T, what string, p map[string]any, got, want string) {
	if got != want {
		t.Fatalf("%s %v:\n%s", what, p, cmp.Diff(want, got))
	}
}

func TestIndexedListsMatchScan(t *testing.T) {
	t.Parallel()
	entityFields := []string{"ID", "ORIGIN_ID", "ORIGINATOR_ID", "CONTACT_ID", "PHONE", "EMAIL", "TITLE", "HAS_PHONE"}
	rapid.Check(t, func(rt *rapid.T) {
		s := bare()
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			mutate(rt, s)
			checkIndexes(rt, s)
			switch rapid.IntRange(0, 3).Draw(rt, "query") {
			case 0:
				kind := rapid.SampledFrom(indexKinds).Draw(rt, "list-kind")
				p := map[string]any{"filter": drawFilter(rt, entityFields), "order": drawOrder(rt, entityFields),
					"select": []any{"ID", "ORIGIN_ID", "PHONE", "EMAIL"}}
				if st := drawStart(rt); st != nil {
					p["start"] = st
				}
				got, gerr := s.entityList(kind, p)
				want, werr := scanEntityList(s, kind, p)
				same(rt, "crm."+kind+".list", p, answer(rt, got, gerr), answer(rt, want, werr))
			case 1:
				typ := rapid.SampledFrom([]string{"PHONE", "EMAIL"}).Draw(rt, "comm-type")
				pool := phonePool
				if typ == "EMAIL" {
					pool = emailPool
				}
				vals := rapid.SliceOfN(rapid.SampledFrom(pool), 1, 5).Draw(rt, "comm-values")
				p := map[string]any{"type": typ, "values": vals}
				if et := rapid.SampledFrom([]string{"", "CONTACT", "LEAD", "DEAL", "COMPANY"}).Draw(rt, "comm-entity"); et != "" {
					p["entity_type"] = et
				}
				got, gerr := s.findByComm(p)
				want, werr := scanFindByComm(s, p)
				same(rt, "crm.duplicate.findbycomm", p, answer(rt, got, gerr), answer(rt, want, werr))
			case 2:
				f := drawFilter(rt, []string{"ID", "AUTHOR_ID", "CREATED"})
				f["ENTITY_ID"] = drawValue(rt, "comment-entity", []string{"1", "2", "3", "01", "2.0", "NaN", "x"})
				f["ENTITY_TYPE"] = rapid.SampledFrom([]string{"deal", "DEAL", "contact", "lead"}).Draw(rt, "comment-type")
				p := map[string]any{"filter": f, "order": drawOrder(rt, []string{"ID", "CREATED", "AUTHOR_ID"})}
				if st := drawStart(rt); st != nil {
					p["start"] = st
				}
				got, gerr := s.commentList(p)
				want, werr := scanCommentList(s, p)
				same(rt, "crm.timeline.comment.list", p, answer(rt, got, gerr), answer(rt, want, werr))
			default:
				p := map[string]any{"entityTypeId": rapid.SampledFrom([]any{1, 2, "2"}).Draw(rt, "history-type"),
					"filter": drawFilter(rt, []string{"ID", "OWNER_ID", "STAGE_ID"}), "order": drawOrder(rt, []string{"ID", "OWNER_ID", "STAGE_ID"})}
				if st := drawStart(rt); st != nil {
					p["start"] = st
				}
				got, gerr := s.stageHistoryList(p)
				want, werr := scanStageHistoryList(s, p)
				same(rt, "crm.stagehistory.list", p, answer(rt, got, gerr), answer(rt, want, werr))
			}
		}
	})
}

// checkIndexes rebuilds every index from the rows and compares.
func checkIndexes(t *rapid.T, s *Server) {
	for _, kind := range indexKinds {
		tb := s.data.entities[kind]
		ids := make([]int64, 0, len(tb.rows))
		idx := map[string][]int64{}
		for id, r := range tb.rows {
			ids = append(ids, id)
			for _, k := range rowKeys(kind, r) {
				idx[k] = append(idx[k], id)
			}
		}
		slices.Sort(ids)
		for _, l := range idx {
			slices.Sort(l)
		}
		if d := cmp.Diff(ids, tb.ids, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("%s ids: %s", kind, d)
		}
		if d := cmp.Diff(idx, tb.idx); d != "" {
			t.Fatalf("%s index: %s", kind, d)
		}
	}
	by := map[string][]int64{}
	for _, c := range s.data.comments {
		k, _ := eqKey(newOperand(strconv.FormatInt(c.EntityID, 10)))
		by[k] = append(by[k], c.ID)
	}
	got := map[string][]int64{}
	for k, l := range s.data.byEntity {
		for _, c := range l {
			got[k] = append(got[k], c.ID)
		}
	}
	if d := cmp.Diff(by, got); d != "" {
		t.Fatalf("comments by entity: %s", d)
	}
}

// The brute force: the list handlers as they were before the indexes, with
// the filter of that time (scanMatches).

func scanIDs(tb *table) []int64 {
	ids := make([]int64, 0, len(tb.rows))
	for id := range tb.rows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func scanEntityList(s *Server, kind string, p map[string]any) (*result, *apiErr) {
	filter, e := filterParam(p)
	if e != nil {
		return nil, e
	}
	if st, _ := getCI(p, "start"); checkStart("crm."+kind+".list", st) != nil {
		return nil, checkStart("crm."+kind+".list", st) // as the handler: start=-1 only where documented
	}
	sel := listSelect(p)
	ov, _ := getCI(p, "order")
	t := s.data.entities[kind]
	var rows []*Row
	for _, id := range scanIDs(t) {
		r := t.rows[id]
		if scanMatches(filter, s.rowGetter(kind, r)) {
			rows = append(rows, r)
		}
	}
	sortRows(rows, asMap(ov), func(r *Row) getter { return s.rowGetter(kind, r) })
	start, _ := getCI(p, "start")
	rows, res := page(rows, start)
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = s.data.render(kind, r, sel, false)
	}
	res.value = out
	return res, nil
}

func scanFindByComm(s *Server, p map[string]any) (*result, *apiErr) {
	typ := strings.ToUpper(Str(p["type"]))
	values := List(p["values"])
	norm := func(v string) string { return normComm(typ, v) }
	// The first 20 distinct non-empty values, each with at most 20 matches.
	var want []string
	seen := map[string]bool{}
	for _, v := range values {
		str, isStr := v.(string)
		if !isStr || str == "" {
			continue
		}
		n := norm(str)
		key := "n" + n
		if n == "" {
			key = "r" + str
		}
		if !seen[key] {
			seen[key] = true
			want = append(want, n)
		}
		if len(want) == 20 {
			break
		}
	}
	out := newOmap()
	for k, t := range s.findByCommTables(p) {
		found := map[int64]bool{}
		for _, w := range want {
			if w == "" {
				continue
			}
			n := 0
			for _, id := range scanIDs(t) {
				if n == 20 {
					break
				}
				for _, m := range t.rows[id].Multi[typ] {
					if norm(m.Value) == w {
						found[id] = true
						n++
						break
					}
				}
			}
		}
		var ids []any
		for _, id := range scanIDs(t) {
			if found[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			out.set(k, ids)
		}
	}
	return ok(out)
}

func scanCommentList(s *Server, p map[string]any) (*result, *apiErr) {
	if e := checkStart("crm.timeline.comment.list", p["start"]); e != nil {
		return nil, e
	}
	lf := commentFilter(asMap(p["filter"]))
	var rows []*CommentRow
	for _, c := range s.data.comments {
		if scanMatches(lf, commentGetter(c)) {
			rows = append(rows, c)
		}
	}
	sortRows(rows, asMap(p["order"]), commentGetter)
	rows, res := page(rows, p["start"])
	res.value = commentAnswers(rows)
	return res, nil
}

func scanStageHistoryList(s *Server, p map[string]any) (*result, *apiErr) {
	et, _ := intParam(p["entityTypeId"])
	if e := checkStageHistoryQuery(et, asMap(p["filter"]), asMap(p["order"])); e != nil {
		return nil, e
	}
	if e := checkStart("crm.stagehistory.list", p["start"]); e != nil {
		return nil, e
	}
	filter := asMap(p["filter"])
	var rows []*HistoryRow
	for _, h := range s.data.history {
		if int64(h.EntityTypeID) == et && scanMatches(filter, historyGetter(h)) {
			rows = append(rows, h)
		}
	}
	sortRows(rows, asMap(p["order"]), historyGetter)
	rows, res := page(rows, p["start"])
	res.value = stageHistoryAnswer(et, rows)
	return res, nil
}

// scanMatches is the filter as it was before it was compiled.
func scanMatches(filter map[string]any, get getter) bool {
	for key, want := range filter {
		if strings.EqualFold(key, "LOGIC") {
			continue
		}
		op, field := splitOp(key)
		if !scanMatchOne(op, get(field), want) {
			return false
		}
	}
	return true
}

func scanMatchOne(op string, have []string, want any) bool {
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
			if scanCompare(h, Str(w)) == 0 {
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
		return anyHave(func(h string) bool { return scanCompare(h, w) == 0 })
	case "!", "!=":
		if isList {
			return !anyHave(inList)
		}
		return !anyHave(func(h string) bool { return scanCompare(h, w) == 0 })
	case ">":
		return anyHave(func(h string) bool { return h != "" && scanCompare(h, w) > 0 })
	case ">=":
		return anyHave(func(h string) bool { return h != "" && scanCompare(h, w) >= 0 })
	case "<":
		return anyHave(func(h string) bool { return h != "" && scanCompare(h, w) < 0 })
	case "<=":
		return anyHave(func(h string) bool { return h != "" && scanCompare(h, w) <= 0 })
	case "%", "=%", "%=":
		needle := strings.ToLower(strings.Trim(w, "%"))
		return anyHave(func(h string) bool { return strings.Contains(strings.ToLower(h), needle) })
	}
	return false
}

func scanCompare(a, b string) int {
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

// TestEqKey: two values share an index key exactly when compare calls them
// equal, NaN (equal to every number) aside.
func TestEqKey(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		gen := rapid.OneOf(rapid.SampledFrom(scalarPool), rapid.StringMatching(`[ +-]?[0-9]{0,3}(\.[0-9]{0,2})?(e[0-9])?`), rapid.String())
		a, b := gen.Draw(rt, "a"), gen.Draw(rt, "b")
		ka, wa := eqKey(newOperand(a))
		kb, wb := eqKey(newOperand(b))
		if wa || wb {
			return
		}
		if eq := scanCompare(a, b) == 0; eq != (ka == kb) {
			rt.Fatalf("%q %q: compare equal %v, keys %q %q", a, b, eq, ka, kb)
		}
	})
}

// TestIndexedNumbers: an index finds a value however a filter writes the
// number, as compare does.
func TestIndexedNumbers(t *testing.T) {
	t.Parallel()
	s := bare()
	for i := range 3 {
		_, _ = s.data.add("deal", map[string]any{"ORIGINATOR_ID": "retailcrm", "ORIGIN_ID": fmt.Sprint(100 + i)})
	}
	res, _ := s.entityList("deal", map[string]any{"filter": map[string]any{"@ORIGIN_ID": []any{"102", " 100.0", "1e2", "abc"}}, "select": []any{"ID"}})
	b, _ := json.Marshal(res.value)
	if got, want := string(b), `[{"ID":"1"},{"ID":"3"}]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
