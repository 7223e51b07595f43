package retailcrmtest

import (
	"slices"
	"sort"
)

// histLog is one history (orders' or customers'): records in the order
// written, with ascending ids, and indexes so that a page costs about its
// own size: sinceId and, while the clock has not gone back, the date
// window are binary searches; filter[orderId] reads that entity's records
// only; a key limited to some stores reads their records only.
type histLog struct {
	recs []histRec
	next int64 // id of the next record
	// monotone holds while no record is dated before the one written
	// before it (a test clock may go back); only then is the date window
	// a binary search.
	monotone bool
	byEntity map[int64][]int // positions of each entity's records
	bySite   []sitePositions // positions of each store's records
}

type sitePositions struct {
	site string
	pos  []int
}

func newHistLog() histLog {
	return histLog{next: 1, monotone: true, byEntity: map[int64][]int{}}
}

// add writes h with the next id.
func (l *histLog) add(h histRec) {
	h.id = l.next
	l.next++
	p := len(l.recs)
	if p > 0 && instantOf(h.at).cmp(instantOf(l.recs[p-1].at)) < 0 {
		l.monotone = false
	}
	l.recs = append(l.recs, h)
	l.byEntity[h.entityID] = append(l.byEntity[h.entityID], p)
	for i := range l.bySite {
		if l.bySite[i].site == h.site {
			l.bySite[i].pos = append(l.bySite[i].pos, p)
			return
		}
	}
	l.bySite = append(l.bySite, sitePositions{site: h.site, pos: []int{p}})
}

// lastID is the newest record's id, 0 when none.
func (l *histLog) lastID() int64 { return l.next - 1 }

// histQuery is what /history filters on.
type histQuery struct {
	sinceID   int64
	entityID  int64
	hasEntity bool
	win       window
	// visible says whether a record of a store may be read; nil: all. A
	// record without a store always may.
	visible func(site string) bool
}

func (q *histQuery) keep(h *histRec, dated bool) bool {
	return (!q.hasEntity || h.entityID == q.entityID) &&
		(dated || q.win.contains(instantOf(h.at))) &&
		(q.visible == nil || h.site == "" || q.visible(h.site))
}

// inRange returns the part of the ascending positions pos within [lo, hi).
func inRange(pos []int, lo, hi int) []int {
	i, _ := slices.BinarySearch(pos, lo)
	j, _ := slices.BinarySearch(pos, hi)
	return pos[i:j]
}

// page counts the records q selects and returns those at [skip,
// skip+limit), in id order.
func (l *histLog) page(q histQuery, skip, limit int) (total int, out []*histRec) {
	out = make([]*histRec, 0, limit)
	// Records after sinceId, and, when the dates are in order, in the
	// window: one range of positions.
	lo := sort.Search(len(l.recs), func(i int) bool { return l.recs[i].id > q.sinceID })
	hi := len(l.recs)
	dated := true // every record in [lo, hi) lies in the window
	if q.win.any() {
		if l.monotone {
			a, b := q.win.span(len(l.recs), func(i int) instant { return instantOf(l.recs[i].at) })
			lo, hi = max(lo, a), max(lo, b)
		} else {
			dated = false
		}
	}
	collect := func(p int) {
		if h := &l.recs[p]; q.keep(h, dated) {
			if total >= skip && len(out) < limit {
				out = append(out, h)
			}
			total++
		}
	}
	switch {
	case q.hasEntity:
		for _, p := range inRange(l.byEntity[q.entityID], lo, hi) {
			collect(p)
		}
	case !dated:
		for p := lo; p < hi; p++ {
			collect(p)
		}
	case q.visible == nil:
		total = hi - lo
		for p := lo + min(skip, total); p < hi && len(out) < limit; p++ {
			out = append(out, &l.recs[p])
		}
	default:
		total, out = l.pageOfSites(q.visible, lo, hi, skip, limit, out)
	}
	return total, out
}

// pageOfSites is page over the records in [lo, hi) of the stores visible
// accepts (and those without a store): counted by binary searches, the
// page found by one more and read by merging the stores' positions.
func (l *histLog) pageOfSites(visible func(string) bool, lo, hi, skip, limit int, out []*histRec) (int, []*histRec) {
	var lists [][]int
	total := 0
	for i := range l.bySite {
		if sp := &l.bySite[i]; sp.site == "" || visible(sp.site) {
			if part := inRange(sp.pos, lo, hi); len(part) > 0 {
				lists = append(lists, part)
				total += len(part)
			}
		}
	}
	if skip >= total {
		return total, out
	}
	// The first record of the page is the one before the first position
	// p at which skip+1 visible records lie in [lo, p).
	before := func(p int) int {
		n := 0
		for _, pos := range lists {
			i, _ := slices.BinarySearch(pos, p)
			n += i
		}
		return n
	}
	first := lo + sort.Search(hi-lo, func(i int) bool { return before(lo+i+1) > skip })
	heads := make([]int, len(lists))
	for j, pos := range lists {
		heads[j], _ = slices.BinarySearch(pos, first)
	}
	for len(out) < limit {
		best := -1
		for j, pos := range lists {
			if heads[j] < len(pos) && (best < 0 || pos[heads[j]] < lists[best][heads[best]]) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		out = append(out, &l.recs[lists[best][heads[best]]])
		heads[best]++
	}
	return total, out
}
