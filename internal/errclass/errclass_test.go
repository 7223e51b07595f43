package errclass

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	errA, errB, errC := errors.New("a"), errors.New("b"), errors.New("c")
	rules := []Rule{
		{Config, []error{errA}},
		{Transient, []error{errB, errC}},
		{Permanent, []error{errA, errC}}, // shadowed: an earlier rule wins
	}
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{nil, None},
		{errors.New("other"), None},
		{errA, Config},
		{fmt.Errorf("wrapped: %w", errB), Transient},
		{errC, Transient},
		{errors.Join(errC, errA), Config}, // matches both: the first rule decides
	} {
		if got := Of(tc.err, rules...); got != tc.want {
			t.Errorf("Of(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
