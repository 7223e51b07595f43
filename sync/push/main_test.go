package push_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain keeps the property test quick by default (40 cases, each with
// its own pair of fake servers and database); pass -rapid.checks=N for a
// deeper search.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		if err := flag.Set("rapid.checks", "40"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
