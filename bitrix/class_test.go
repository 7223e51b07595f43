package bitrix

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
		{&APIError{Code: "INVALID_CREDENTIALS", HTTPStatus: 401}, ClassConfig},
		{&APIError{Code: CodeMethodNotFound, HTTPStatus: 404}, ClassConfig},
		{fmt.Errorf("x: %w", ErrConfig), ClassConfig},
		{&APIError{Code: CodeOverloadLimit, HTTPStatus: 503}, ClassThrottled},
		// The current error table lists it as 401: the code decides.
		{&APIError{Code: CodeOverloadLimit, HTTPStatus: 401}, ClassThrottled},
		{&APIError{Code: "NO_AUTH_FOUND", HTTPStatus: 401}, ClassConfig},
		{&APIError{Code: "expired_token", HTTPStatus: 401}, ClassConfig},
		{&APIError{Code: CodeQueryLimitExceeded, HTTPStatus: 503}, ClassTransient},
		{&APIError{Code: CodeOperationTimeLimit, HTTPStatus: 429}, ClassTransient},
		{&APIError{Code: "ERROR_CORE", HTTPStatus: 500}, ClassTransient},
		{&TransportError{Err: ErrTimeout}, ClassTransient},
		{&OutcomeUnknownError{Err: errors.New("lost")}, ClassTransient},
		{&ResponseError{Err: ErrBadResponse}, ClassTransient},
		{&APIError{Code: "", Description: "Not found"}, ClassPermanent},
		{&APIError{Code: "ERROR_ARGUMENT", HTTPStatus: 400}, ClassPermanent},
		{fmt.Errorf("x: %w", ErrInvalidBatch), ClassPermanent},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
