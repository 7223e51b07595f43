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
