package retailcrm

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{nil, ClassNone},
		{errors.New("other"), ClassNone},
		{&APIError{HTTPStatus: 403, Msg: msgKeyWrong}, ClassConfig},
		{&APIError{HTTPStatus: 403, Msg: msgAccessDenied}, ClassConfig},
		{&APIError{HTTPStatus: 404, Msg: msgNoAccount}, ClassConfig}, // also "not found": the account comes first
		{&RedirectError{}, ClassConfig},
		{&APIError{HTTPStatus: 503}, ClassThrottled},
		{&APIError{HTTPStatus: 429}, ClassThrottled},
		{&APIError{HTTPStatus: 400, Msg: msgValidation}, ClassPermanent},
		{&APIError{HTTPStatus: 460}, ClassPermanent},
		{&APIError{HTTPStatus: 404, Msg: msgNotFound}, ClassPermanent},
		{&APIError{HTTPStatus: 500}, ClassTransient},
		{&DecodeError{Err: errors.New("truncated")}, ClassTransient},
		{&transportError{Err: fmt.Errorf("%w: no answer", ErrTimeout)}, ClassTransient},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
