package runs

import "testing"

func TestFailuresPhrase(t *testing.T) {
	for _, tc := range []struct {
		parked, waiting int
		want            string
	}{
		{0, 0, "parked 0"},
		{2, 2, "parked 2 (2 waiting for a retry, 0 out of attempts)"},
		{3, 2, "parked 3 (2 waiting for a retry, 1 out of attempts)"},
		{1, 0, "parked 1 (0 waiting for a retry, 1 out of attempts)"},
	} {
		if got := FailuresPhrase(tc.parked, tc.waiting); got != tc.want {
			t.Errorf("FailuresPhrase(%d, %d) = %q, want %q", tc.parked, tc.waiting, got, tc.want)
		}
	}
}
