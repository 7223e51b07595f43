package redaction

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSecretsString(t *testing.T) {
	t.Parallel()
	var s Secrets
	s.Add("  a/b c  ") // trimmed; masked as sent and as escaped
	s.Add("a/b c+long")
	s.Add("abc") // too short: ignored
	for in, want := range map[string]string{
		"k=a/b c&":      "k=***&",
		"k=a%2Fb+c&":    "k=***&",
		"p/a%2Fb%20c/":  "p/***/",
		"a/b c+long!":   "***!", // the longer secret is masked whole
		"abc stays":     "abc stays",
		"nothing to do": "nothing to do",
	} {
		if got := s.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	var zero Secrets
	if got := zero.String("a/b c"); got != "a/b c" {
		t.Errorf("zero Secrets masked: %q", got)
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	t.Parallel()
	base := errors.New("base")
	err := Error(fmt.Errorf("key s3cret: %w", base), func(s string) string { return strings.ReplaceAll(s, "s3cret", Mask) })
	if err.Error() != "key ***: base" || !errors.Is(err, base) {
		t.Errorf("Error = %q, Is(base) = %v", err, errors.Is(err, base))
	}
	if Error(nil, strings.ToUpper) != nil {
		t.Error("a nil error did not stay nil")
	}
}
