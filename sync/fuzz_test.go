package sync

import (
	"testing"
)

// FuzzNormalize feeds e-mails and phones as customers type them: never a
// panic, and normalising a normalised value changes nothing (so comparison
// keys are stable across runs).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+7 (915) 123-45-67", "89151234567", " Anna@Example.COM ", "доб. 12", "+1 650 253 0000 ext. 7",
		"", "@", "a@b", "++7", "8 800 555 35 35", "Анна <anna@example.com>", "0000000000000000000000"} {
		f.Add(s)
	}
	n := normalizer{region: "RU"}
	f.Fuzz(func(t *testing.T, raw string) {
		p := n.phone(raw)
		if p != "" {
			if again := n.phone(p); again != p {
				t.Errorf("phone(%q) = %q, but phone(%q) = %q", raw, p, p, again)
			}
			if n.phoneKey(raw) != n.phoneKey(p) {
				t.Errorf("phone keys differ for %q and its normal form %q", raw, p)
			}
		}
		e, err := n.email(raw)
		if err == nil && e != "" {
			if again, err := n.email(e); err != nil || again != e {
				t.Errorf("email(%q) = %q, but email(%q) = %q, %v", raw, e, e, again, err)
			}
			if n.emailKey(raw) != e {
				t.Errorf("emailKey(%q) = %q, want %q", raw, n.emailKey(raw), e)
			}
		}
	})
}
