package retailcrm

import (
	"cmp"
	"context"
	"net/url"
	"slices"
)

// getPage reads one page of a list endpoint into the answer R (the page
// type with the envelope). query builds the page's query; its error stops
// the call before any request is sent.
func getPage[R any, PR interface {
	*R
	responder
}](ctx context.Context, c *Client, path string, query func() (url.Values, error)) (*R, error) {
	q, err := query()
	if err != nil {
		return nil, err
	}
	r := PR(new(R))
	if err := c.get(ctx, path, q, r); err != nil {
		return nil, err
	}
	return r, nil
}

// byIDs reads the entities with the given ids through a list endpoint,
// per ids a request (fetch reads one chunk): duplicate ids are asked for
// once, ids the service does not return (deleted, merged) are skipped, and
// the result is in id order whatever order the pages came in.
func byIDs[T any](ids []int64, per int, fetch func(chunk []int64) ([]T, error), id func(*T) int64) ([]T, error) {
	uniq := uniqueIDs(ids)
	out := make([]T, 0, len(uniq))
	for chunk := range slices.Chunk(uniq, per) {
		items, err := fetch(chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(&a), id(&b)) })
	return out, nil
}

// allPages reads a list endpoint from page 1 on (fetch reads one page) until
// a page comes back empty or its pagination says it was the last, in the
// order the service lists the items. An empty page ends the walk even when
// the pagination promises more, so a service that miscounts cannot loop it.
func allPages[T any](fetch func(page int) ([]T, Pagination, error)) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		items, p, err := fetch(page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) == 0 || page >= p.TotalPageCount {
			return out, nil
		}
	}
}
