package sync

import "testing"

// The run's normaliser remembers phones: the same answers as parsing, and a
// number seen before costs no parsing (libphonenumber's regular
// expressions were 6% of a backfill's CPU).
func TestPhoneMemo(t *testing.T) {
	plain := normalizer{region: "RU"}
	memo := normalizer{region: "RU", phones: newPhoneMemo()}
	for _, raw := range []string{"8 (915) 123-45-67", "+7 915 1234567", " +7 915 123-45-67 доп 12 ", "123", "", "+44 20 7946 0958", "89151234567"} {
		for range 2 {
			if got, want := memo.phone(raw), plain.phone(raw); got != want {
				t.Errorf("phone(%q) = %q with the memo, %q without", raw, got, want)
			}
		}
	}
	if raceEnabled {
		t.Skip("allocation counts are measured without the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { memo.phone("8 (915) 123-45-67") }); n != 0 {
		t.Errorf("a remembered phone: %.0f allocations, want none", n)
	}
}

func TestPhoneMemoStartsOverWhenFull(t *testing.T) {
	p := newPhoneMemo()
	for i := range phoneMemoMax + 1 {
		p.put(string(rune(i)), "x")
	}
	if len(p.m) != 1 {
		t.Errorf("memo holds %d after overflowing, want 1", len(p.m))
	}
}
