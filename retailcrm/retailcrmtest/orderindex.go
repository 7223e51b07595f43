package retailcrmtest

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// The order list answers from an index instead of reading every order:
// keys (id, store, parsed createdAt) in id order, cut into blocks that each
// keep, per store, their createdAt values sorted. A block's count of matches
// is a few binary searches, so a page costs one pass over the blocks plus
// the one or two blocks that hold it, not a pass over every order with a
// date parsed for each.

// instant is a point in time as seconds and nanoseconds since the epoch;
// comparing two is what time.Time's Before and After do.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{sec: t.Unix(), nsec: int32(t.Nanosecond())} }

func (a instant) cmp(b instant) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

// window is a date filter with optional inclusive bounds.
type window struct {
	from, to       instant
	hasFrom, hasTo bool
}

func newWindow(from time.Time, hasFrom bool, to time.Time, hasTo bool) window {
	return window{from: instantOf(from), to: instantOf(to), hasFrom: hasFrom, hasTo: hasTo}
}

func (w window) any() bool { return w.hasFrom || w.hasTo }

func (w window) contains(at instant) bool {
	return (!w.hasFrom || at.cmp(w.from) >= 0) && (!w.hasTo || at.cmp(w.to) <= 0)
}

// span returns the index range [lo, hi) of the n ascending values at(i)
// that lie in w.
func (w window) span(n int, at func(int) instant) (lo, hi int) {
	hi = n
	if w.hasFrom {
		lo = sort.Search(n, func(i int) bool { return at(i).cmp(w.from) >= 0 })
	}
	if w.hasTo {
		hi = sort.Search(n, func(i int) bool { return at(i).cmp(w.to) > 0 })
	}
	return lo, max(lo, hi)
}

// orderKey is what the list filters read of an order.
type orderKey struct {
	id   int64
	site string
	at   instant
	// dated is false when createdAt does not parse: such an order fails
	// every date filter. An absent createdAt is the zero time and dated.
	dated bool
}

func keyOf(o *retailcrm.Order, loc *time.Location) orderKey {
	at, err := o.CreatedAt.In(loc)
	return orderKey{id: o.ID, site: o.Site, at: instantOf(at), dated: err == nil}
}

func (k *orderKey) matches(keep func(site string) bool, w window) bool {
	return keep(k.site) && (!w.any() || (k.dated && w.contains(k.at)))
}

// siteTimes is one store's share of a block.
type siteTimes struct {
	site  string
	n     int       // orders, dated or not
	times []instant // createdAt of the dated ones, ascending
}

func (st *siteTimes) count(w window) int {
	if !w.any() {
		return st.n
	}
	lo, hi := w.span(len(st.times), func(i int) instant { return st.times[i] })
	return hi - lo
}

// blockMax is the size at which a block splits in two.
const blockMax = 512

type orderBlock struct {
	keys  []orderKey // ascending id
	sites []siteTimes
}

func newBlock(keys []orderKey) *orderBlock {
	b := &orderBlock{keys: keys}
	for i := range keys {
		st := b.siteOf(keys[i].site)
		st.n++
		if keys[i].dated {
			st.times = append(st.times, keys[i].at)
		}
	}
	for i := range b.sites {
		slices.SortFunc(b.sites[i].times, instant.cmp)
	}
	return b
}

// siteOf returns the block's share of site, adding it when missing.
func (b *orderBlock) siteOf(site string) *siteTimes {
	for i := range b.sites {
		if b.sites[i].site == site {
			return &b.sites[i]
		}
	}
	b.sites = append(b.sites, siteTimes{site: site})
	return &b.sites[len(b.sites)-1]
}

func (b *orderBlock) add(k orderKey) {
	st := b.siteOf(k.site)
	st.n++
	if k.dated {
		i, _ := slices.BinarySearchFunc(st.times, k.at, instant.cmp)
		st.times = slices.Insert(st.times, i, k.at)
	}
}

func (b *orderBlock) sub(k orderKey) {
	st := b.siteOf(k.site)
	st.n--
	if k.dated {
		if i, ok := slices.BinarySearchFunc(st.times, k.at, instant.cmp); ok {
			st.times = slices.Delete(st.times, i, i+1)
		}
	}
	if st.n == 0 {
		b.sites = slices.DeleteFunc(b.sites, func(x siteTimes) bool { return x.n == 0 })
	}
}

func (b *orderBlock) count(keep func(string) bool, w window) int {
	n := 0
	for i := range b.sites {
		if keep(b.sites[i].site) {
			n += b.sites[i].count(w)
		}
	}
	return n
}

func (b *orderBlock) lastID() int64 { return b.keys[len(b.keys)-1].id }

// orderIndex holds the keys of every order in id order.
type orderIndex struct {
	blocks []*orderBlock
	split  int // block size that splits; 0 means blockMax (tests go smaller)
}

// blockFor returns the block that holds id or would: the first whose last
// id is not below it, else the last block. There must be a block.
func (x *orderIndex) blockFor(id int64) int {
	i := sort.Search(len(x.blocks), func(i int) bool { return x.blocks[i].lastID() >= id })
	return min(i, len(x.blocks)-1)
}

func (x *orderIndex) get(id int64) (orderKey, bool) {
	if len(x.blocks) == 0 {
		return orderKey{}, false
	}
	keys := x.blocks[x.blockFor(id)].keys
	if i, ok := slices.BinarySearchFunc(keys, id, keyByID); ok {
		return keys[i], true
	}
	return orderKey{}, false
}

func keyByID(k orderKey, id int64) int { return cmp.Compare(k.id, id) }

// put adds k or replaces the key with k's id.
func (x *orderIndex) put(k orderKey) {
	if len(x.blocks) == 0 {
		x.blocks = []*orderBlock{newBlock([]orderKey{k})}
		return
	}
	bi := x.blockFor(k.id)
	b := x.blocks[bi]
	i, found := slices.BinarySearchFunc(b.keys, k.id, keyByID)
	if found {
		if b.keys[i] != k {
			b.sub(b.keys[i])
			b.keys[i] = k
			b.add(k)
		}
		return
	}
	b.keys = slices.Insert(b.keys, i, k)
	b.add(k)
	if split := cmp.Or(x.split, blockMax); len(b.keys) > split {
		half := len(b.keys) / 2
		left, right := newBlock(slices.Clone(b.keys[:half])), newBlock(slices.Clone(b.keys[half:]))
		x.blocks[bi] = left
		x.blocks = slices.Insert(x.blocks, bi+1, right)
	}
}

func (x *orderIndex) remove(id int64) {
	if len(x.blocks) == 0 {
		return
	}
	bi := x.blockFor(id)
	b := x.blocks[bi]
	i, found := slices.BinarySearchFunc(b.keys, id, keyByID)
	if !found {
		return
	}
	b.sub(b.keys[i])
	b.keys = slices.Delete(b.keys, i, i+1)
	if len(b.keys) == 0 {
		x.blocks = slices.Delete(x.blocks, bi, bi+1)
	}
}

// page counts the orders whose store keep accepts and whose createdAt lies
// in w, and returns the ids of those at [skip, skip+limit) in id order.
func (x *orderIndex) page(keep func(site string) bool, w window, skip, limit int) (total int, ids []int64) {
	ids = make([]int64, 0, limit)
	for _, b := range x.blocks {
		n := b.count(keep, w)
		if len(ids) == limit || total+n <= skip {
			total += n
			continue
		}
		for i := range b.keys {
			if k := &b.keys[i]; k.matches(keep, w) {
				if total >= skip && len(ids) < limit {
					ids = append(ids, k.id)
				}
				total++
			}
		}
	}
	return total, ids
}

// idLists holds ascending ids per string key.
type idLists map[string][]int64

func (m idLists) add(key string, id int64) {
	ids := m[key]
	if i, found := slices.BinarySearch(ids, id); !found {
		m[key] = slices.Insert(ids, i, id)
	}
}

func (m idLists) remove(key string, id int64) {
	ids := m[key]
	i, found := slices.BinarySearch(ids, id)
	switch {
	case !found:
	case len(ids) == 1:
		delete(m, key)
	default:
		m[key] = slices.Delete(ids, i, i+1)
	}
}

// putOrderLocked stores o, new or edited, and keeps the indexes in step.
func (s *Server) putOrderLocked(o *retailcrm.Order) {
	old := s.orders[o.ID]
	if old == nil || old.ExternalID != o.ExternalID {
		if old != nil {
			s.byExternal.remove(old.ExternalID, o.ID)
		}
		s.byExternal.add(o.ExternalID, o.ID)
	}
	if old == nil || old.CreatedAt != o.CreatedAt || old.Site != o.Site {
		s.index.put(keyOf(o, s.loc))
	}
	s.orders[o.ID] = o
}

// dropOrderLocked removes the stored order o from the store and indexes.
func (s *Server) dropOrderLocked(o *retailcrm.Order) {
	delete(s.orders, o.ID)
	s.byExternal.remove(o.ExternalID, o.ID)
	s.index.remove(o.ID)
}
