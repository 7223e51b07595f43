package retailcrm_test

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/retailcrm/retailcrmtest"
)

// fastRetry keeps retry tests quick while exercising the same code path.
var fastRetry = retailcrm.RetryPolicy{MaxAttempts: 5, InitialDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

// newFake starts a fake and a client for it without rate limits.
func newFake(t testing.TB, opts retailcrmtest.Options, copts ...retailcrm.Option) (*retailcrmtest.Server, *retailcrm.Client) {
	t.Helper()
	fake := retailcrmtest.New(t, opts)
	base := []retailcrm.Option{
		retailcrm.WithRate(0),
		retailcrm.WithRetry(fastRetry),
		retailcrm.WithTimeout(5 * time.Second),
		retailcrm.WithLocation(fake.Location()),
	}
	c, err := retailcrm.New(fake.URL(), fake.APIKey(), append(base, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// parallelFake marks the test parallel and starts a default fake and a
// client for it: the preamble of most tests against the fake.
func parallelFake(t *testing.T) (*retailcrmtest.Server, *retailcrm.Client) {
	t.Parallel()
	return newFake(t, retailcrmtest.Options{})
}

// parallelFixtures marks the test parallel and returns a client of the
// recorded answers in testdata.
func parallelFixtures(t *testing.T) *retailcrm.Client {
	t.Parallel()
	return fixtureClient(t, testdataDir)
}
