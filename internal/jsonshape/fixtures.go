package jsonshape

import (
	"os"
	"path/filepath"
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
