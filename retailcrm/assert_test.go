package retailcrm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/retailcrm"
)

// assertAPIError checks err is an *APIError with the status and message,
// matching every sentinel of is and none of isNot.
func assertAPIError(t *testing.T, err error, status int, msg string, is, isNot []error) *retailcrm.APIError {
	t.Helper()
	var apiErr *retailcrm.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want *APIError", err, err)
	}
	if apiErr.HTTPStatus != status || apiErr.Msg != msg {
		t.Errorf("APIError = %d %q, want %d %q", apiErr.HTTPStatus, apiErr.Msg, status, msg)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error text %q lacks %q", err, msg)
	}
	for _, s := range is {
		if !errors.Is(err, s) {
			t.Errorf("%v: errors.Is(%v) = false", err, s)
		}
	}
	for _, s := range isNot {
		if errors.Is(err, s) {
			t.Errorf("%v: errors.Is(%v) = true", err, s)
		}
	}
	return apiErr
}
