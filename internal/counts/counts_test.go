package counts

import "testing"

func TestLine(t *testing.T) {
	t.Parallel()
	if got := Line(map[string]int64{"parked": 2, "orders": 12, "backlog": 340}); got != "backlog=340 orders=12 parked=2" {
		t.Errorf("Line(int64 counts) = %q", got)
	}
	if got := Line(map[string]int{"WON": 1, "NEW": 3}); got != "NEW=3 WON=1" {
		t.Errorf("Line(int counts) = %q", got)
	}
	if got := Line(map[string]int(nil)); got != "" {
		t.Errorf("Line(nil) = %q, want empty", got)
	}
}
