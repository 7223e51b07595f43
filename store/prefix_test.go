package store

import (
	"context"
	"testing"
)

func TestCursorsWithPrefixRange(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	names := []string{"profile:1:5", "profile:1:70", "profile:12:5", "profile:1", "profile:1;", "profile:1:\u00e9", "profile:2:1", "\xff\xff"}
	mustTx(t, s, func(tx *Tx) error {
		for _, n := range names {
			if err := tx.SetCursor(ctx, n, "x"); err != nil {
				return err
			}
		}
		return nil
	})
	for prefix, want := range map[string]int{"profile:1:": 3, "profile:12:": 1, "profile:": 7, "": 8, "\xff": 1, "zzz": 0} {
		got, err := s.CursorsWithPrefix(ctx, prefix)
		if err != nil || len(got) != want {
			t.Errorf("CursorsWithPrefix(%q) = %d rows %v, want %d", prefix, len(got), err, want)
		}
	}
	if u, ok := prefixUpperBound("a\xff"); !ok || u != "b" {
		t.Errorf("upper bound %q %v", u, ok)
	}
}
