package fakefault

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		count                 int
		probability           float64
		status                int
		delay                 time.Duration
		wantCount, wantStatus int
		wantDelay             time.Duration
	}{
		{"zero rule: the next request", 0, 0, 0, 0, 1, 502, time.Second},
		{"probability only", 0, 0.5, 0, 0, 0, 502, time.Second},
		{"given values kept", 3, 0, 504, time.Millisecond, 3, 504, time.Millisecond},
	} {
		count, status, delay := tc.count, tc.status, tc.delay
		Defaults(&count, tc.probability, &status, &delay)
		if count != tc.wantCount || status != tc.wantStatus || delay != tc.wantDelay {
			t.Errorf("%s: count %d status %d delay %s, want %d %d %s", tc.name,
				count, status, delay, tc.wantCount, tc.wantStatus, tc.wantDelay)
		}
	}
}

func TestFires(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	count := 2
	for i, want := range []struct{ fires, spent bool }{{true, false}, {true, true}, {false, false}} {
		fires, spent := Fires(&count, 0, rng)
		if fires != want.fires || spent != want.spent {
			t.Errorf("use %d: fires %v spent %v, want %v %v", i+1, fires, spent, want.fires, want.spent)
		}
	}
	// Counted rules draw nothing: the generator is where it started.
	if got, want := rng.Float64(), rand.New(rand.NewPCG(1, 2)).Float64(); got != want {
		t.Errorf("a counted rule drew from the generator")
	}
	zero := 0
	n := 0
	for range 1000 {
		if fires, _ := Fires(&zero, 0.25, rng); fires {
			n++
		}
	}
	if n < 180 || n > 320 {
		t.Errorf("probability 0.25 fired %d times in 1000", n)
	}
	if fires, _ := Fires(&zero, 1, rng); !fires {
		t.Error("probability 1 did not fire")
	}
}

func TestDrop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { Drop(w) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		t.Fatalf("got an answer (HTTP %d), want a dropped connection", resp.StatusCode)
	}

	// A writer that cannot be hijacked aborts the handler.
	defer func() {
		if r := recover(); r == nil || !errors.Is(r.(error), http.ErrAbortHandler) {
			t.Errorf("recovered %v, want http.ErrAbortHandler", r)
		}
	}()
	Drop(httptest.NewRecorder())
}
