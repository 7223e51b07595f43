package jsonshape

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ReadFixture returns the recorded body name under dir, failing the test
// when it cannot be read.
func ReadFixture(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CheckCovered fails the test for every recorded body (*.json) under dir
// that covered does not name: a recording no case drives the fake to is a
// shape nobody checks.
func CheckCovered(t testing.TB, dir string, covered func(name string) bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded bodies under %s", dir)
	}
	for _, f := range files {
		if !covered(filepath.Base(f)) {
			t.Errorf("%s: no case drives the fake to it", filepath.Base(f))
		}
	}
}

// RunCases is the loop of a fake's fixture test: it checks that cases cover
// every recorded body under dir (CheckCovered), then runs each case as a
// parallel subtest named after its body, skipped with its reason when of
// gives one; run gets the recorded body.
func RunCases[C any](t *testing.T, dir string, cases []C, of func(C) (fixture, skip string), run func(t *testing.T, tc C, want []byte)) {
	t.Helper()
	CheckCovered(t, dir, func(name string) bool {
		return slices.ContainsFunc(cases, func(c C) bool { f, _ := of(c); return f == name })
	})
	for _, tc := range cases {
		fixture, skip := of(tc)
		t.Run(strings.TrimSuffix(fixture, ".json"), func(t *testing.T) {
			t.Parallel()
			if skip != "" {
				t.Skip(skip)
			}
			run(t, tc, ReadFixture(t, dir, fixture))
		})
	}
}
