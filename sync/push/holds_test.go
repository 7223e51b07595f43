package push

import "testing"

func TestHoldsLines(t *testing.T) {
	t.Parallel()
	const line = "[2026-03-02 09:01 user 7] ok"
	tests := []struct {
		name, comment, block string
		want                 bool
	}{
		{"exact line", "VIP\n" + line, line, true},
		{"first line", line + "\nVIP", line, true},
		{"only line", line, line, true},
		{"prefix of a longer line", "[2026-03-02 09:01 user 7] ok, shipped", line, false},
		{"suffix of a longer line", "x" + line, line, false},
		{"multi-line block", "VIP\n" + line + "\nsecond\nend", line + "\nsecond", true},
		{"multi-line block cut short", "VIP\n" + line + "\nsecond line", line + "\nsecond", false},
		{"carriage returns", "VIP\r\n" + line + "\r\n", line, true},
		{"empty comment", "", line, false},
	}
	for _, tt := range tests {
		if got := holdsLines(tt.comment, tt.block); got != tt.want {
			t.Errorf("%s: holdsLines(%q, %q) = %v, want %v", tt.name, tt.comment, tt.block, got, tt.want)
		}
	}
}
