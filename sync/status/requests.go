package status

import (
	"context"
	"math"
	"time"

	"github.com/crmsync/crmsync/store"
)

// The chart of Bitrix24 requests: the last hour in buckets of five
// minutes, the last bucket holding now.
const (
	BucketWidth = 5 * time.Minute
	Buckets     = 12
)

// requestsCounter is the run counter with the Bitrix24 requests a run made
// (one per request the engine sends; a batch is one).
const requestsCounter = "bitrix_requests"

// Requests are the Bitrix24 requests of the runs over the last hour.
type Requests struct {
	Buckets []Bucket
	Total   int64
	// Limit is what the portal's request rate allows in one bucket
	// (bitrix.rate × the bucket's width); 0 when not known.
	Limit int64
	// Running counts the runs still going: their requests are counted
	// when they end, as runs record their counters only then.
	Running int
}

// Bucket is one stretch of BucketWidth from Start.
type Bucket struct {
	Start    time.Time
	Requests int64
}

// Share is the busiest bucket's requests in percent of Limit, rounded up
// (so that any use shows); 0 when the limit is not known.
func (r Requests) Share() int64 {
	if r.Limit <= 0 {
		return 0
	}
	return (r.Max()*100 + r.Limit - 1) / r.Limit
}

// Max is the most requests in one bucket.
func (r Requests) Max() int64 {
	var m int64
	for _, b := range r.Buckets {
		m = max(m, b.Requests)
	}
	return m
}

// CollectRequests reads the Bitrix24 requests of the runs that overlap the
// hour up to now. A run's requests are spread evenly over its time, as
// only their sum is recorded: a backfill of an hour shows in every bucket
// rather than as one spike at its end. rate is bitrix.rate (requests per
// second), for Limit.
func CollectRequests(ctx context.Context, st *store.Store, now time.Time, rate float64) (Requests, error) {
	end := now.Truncate(BucketWidth).Add(BucketWidth)
	start := end.Add(-Buckets * BucketWidth)
	runs, err := st.RunsEndedSince(ctx, start)
	if err != nil {
		return Requests{}, err
	}
	last, err := st.LastRuns(ctx)
	if err != nil {
		return Requests{}, err
	}
	req := Requests{Buckets: make([]Bucket, Buckets), Limit: int64(rate * BucketWidth.Seconds())}
	for i := range req.Buckets {
		req.Buckets[i].Start = start.Add(time.Duration(i) * BucketWidth)
	}
	for _, r := range last {
		if r.Result == store.RunRunning {
			req.Running++
		}
	}
	for _, r := range runs {
		n := r.Counters[requestsCounter]
		if n <= 0 {
			continue
		}
		for i, b := range req.Buckets {
			share := spread(n, r.StartedAt, r.EndedAt, b.Start, b.Start.Add(BucketWidth))
			req.Buckets[i].Requests += share
			req.Total += share
		}
	}
	return req, nil
}

// spread is the part of n requests, made evenly from from to to, that
// falls in [lo, hi). The parts of consecutive stretches add up to n
// exactly: each is the difference of two rounded running totals.
func spread(n int64, from, to, lo, hi time.Time) int64 {
	if !to.After(from) { // no time: all at the end
		if !to.Before(lo) && to.Before(hi) {
			return n
		}
		return 0
	}
	upTo := func(t time.Time) int64 { // requests made before t
		switch {
		case !t.After(from):
			return 0
		case !t.Before(to):
			return n
		}
		return int64(math.Round(float64(n) * float64(t.Sub(from)) / float64(to.Sub(from))))
	}
	return upTo(hi) - upTo(lo)
}
