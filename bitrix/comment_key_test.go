package bitrix_test

import (
	"testing"

	"github.com/crmsync/crmsync/bitrix"
)

func TestCommentKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Call first\r\nthen ship  ", "Call first\nthen ship", true},
		{"  a   b\t c ", "a b c", true},
		{"a\u00a0b", "a b", true},
		{"ab", "a b", false},
		{"Paid", "paid", false},
		{"", "  \r\n", true},
	} {
		if got := bitrix.CommentKey(tc.a) == bitrix.CommentKey(tc.b); got != tc.same {
			t.Errorf("CommentKey(%q) == CommentKey(%q): %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
