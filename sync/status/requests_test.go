package status

import (
	"testing"
	"time"
)

// TestSpread: a run's requests are spread evenly over its time, and the
// parts of consecutive buckets add up to the run's count exactly.
func TestSpread(t *testing.T) {
	t.Parallel()
	at := func(m, s int) time.Time { return time.Date(2026, 12, 6, 9, m, s, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		n        int64
		from, to time.Time
		want     []int64 // the buckets 09:00, 09:05, 09:10, 09:15
	}{
		{"inside one bucket", 40, at(1, 0), at(3, 0), []int64{40, 0, 0, 0}},
		{"no time: all at its end", 9, at(7, 0), at(7, 0), []int64{0, 9, 0, 0}},
		{"ends on a bucket's start", 9, at(5, 0), at(5, 0), []int64{0, 9, 0, 0}},
		{"half and half", 10, at(2, 30), at(7, 30), []int64{5, 5, 0, 0}},
		{"over three buckets", 100, at(0, 0), at(15, 0), []int64{33, 34, 33, 0}},
		{"odd counts still add up", 7, at(3, 0), at(17, 0), []int64{1, 3, 2, 1}},
		{"started before the window", 120, time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), at(20, 0), []int64{8, 7, 8, 7}}, // 1.5 a minute,
		{"ended after the window", 4, at(18, 0), at(22, 0), []int64{0, 0, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sum int64
			for i, want := range tc.want {
				lo := at(0, 0).Add(time.Duration(i) * BucketWidth)
				got := spread(tc.n, tc.from, tc.to, lo, lo.Add(BucketWidth))
				sum += got
				if got != want {
					t.Errorf("bucket %s: %d, want %d", lo.Format("15:04"), got, want)
				}
			}
			if tc.to.Before(at(20, 0)) && !tc.from.Before(at(0, 0)) && sum != tc.n {
				t.Errorf("buckets add up to %d, want %d", sum, tc.n)
			}
		})
	}
}

func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]int64{1: 2, 2: 2, 3: 4, 5: 10, 10: 10, 11: 20, 52: 100, 600: 1000, 601: 1000, 1001: 2000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestLayout: the scale follows the requests, so a quiet hour still shows;
// the limit line is drawn once the busiest bucket nears it.
func TestLayout(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		busiest   int64
		limit     int64
		wantLimit bool
		wantTop   int64
	}{
		{"quiet hour", 5, 600, false, 10},
		{"busy hour", 450, 600, true, 1000},
		{"over the limit", 900, 600, true, 1000},
		{"limit not known", 30, 0, false, 40},
		{"nothing", 0, 600, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Requests{Limit: tc.limit}
			for i := range Buckets {
				b := Bucket{Start: start.Add(time.Duration(i) * BucketWidth)}
				if i == 3 {
					b.Requests = tc.busiest
				}
				req.Buckets = append(req.Buckets, b)
			}
			c := layout(req)
			if len(c.Bars) != Buckets || (c.LimitY != 0) != tc.wantLimit || c.Ticks[len(c.Ticks)-1].Value != tc.wantTop {
				t.Fatalf("%d bars, limit line at %d, ticks %v", len(c.Bars), c.LimitY, c.Ticks)
			}
			if b := c.Bars[3]; (b.H > 0) != (tc.busiest > 0) || b.Y+b.H != c.Base || b.Y < chartTop {
				t.Errorf("the busiest bar %+v (base %d)", b, c.Base)
			}
			if tc.wantLimit && (c.LimitY < chartTop || c.LimitY >= c.Base) {
				t.Errorf("limit line at %d, outside the plot", c.LimitY)
			}
		})
	}
}
