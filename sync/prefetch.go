package sync

import (
	"context"

	"github.com/crmsync/crmsync/retailcrm"
)

// pageFetch is one page of the RetailCRM order list read ahead.
type pageFetch struct {
	page int
	done chan struct{}
	res  *retailcrm.OrdersPage
	err  error
}

// orderPages reads the backfill's order pages, some ahead of time: while a
// group of pages is planned and written, the next group's pages are read
// (and decoded) on another goroutine, so that RetailCRM's answers and their
// decoding overlap the Bitrix24 writes instead of following them. Only pages
// the walk is known to reach are read ahead (up to the last page of the
// total the previous page gave), so the requests are those the walk sends
// anyway; a walk that steps back drops what it read ahead.
type orderPages struct {
	read    func(ctx context.Context, page int) (*retailcrm.OrdersPage, error)
	ahead   []*pageFetch
	cancel  context.CancelFunc
	stopped chan struct{}
}

// get returns page n: the page read ahead when it is the next one, else
// (nothing read ahead, or the walk moved elsewhere) read now.
func (p *orderPages) get(ctx context.Context, n int) (*retailcrm.OrdersPage, error) {
	if len(p.ahead) > 0 && p.ahead[0].page == n {
		f := p.ahead[0]
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.ahead = p.ahead[1:]
		if len(p.ahead) == 0 {
			p.stop()
		}
		return f.res, f.err
	}
	p.stop()
	return p.read(ctx, n)
}

// prefetch starts reading pages from..to in order, unless pages are being
// read ahead already.
func (p *orderPages) prefetch(ctx context.Context, from, to int) {
	if len(p.ahead) > 0 || from > to {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	p.cancel, p.stopped = cancel, make(chan struct{})
	for n := from; n <= to; n++ {
		p.ahead = append(p.ahead, &pageFetch{page: n, done: make(chan struct{})})
	}
	fetches, stopped := p.ahead, p.stopped
	go func() {
		defer close(stopped)
		failed := false
		for _, f := range fetches {
			if failed || ctx.Err() != nil {
				f.err = context.Canceled
				close(f.done)
				continue
			}
			f.res, f.err = p.read(ctx, f.page)
			// A failed read ends the run when it is reached: read no
			// further.
			failed = f.err != nil
			close(f.done)
		}
	}()
}

// stop drops the pages read ahead and waits for their reader to finish.
func (p *orderPages) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.stopped
	p.cancel, p.stopped, p.ahead = nil, nil, nil
}
