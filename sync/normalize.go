package sync

import (
	"fmt"
	"net/mail"
	"strings"
	stdsync "sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// normalizer turns e-mails and phones into the forms crmsync compares and
// searches by: e-mails trimmed and lower-cased, phones in E.164 when the
// number parses for the configured region, else their digits.
type normalizer struct {
	region string
	// phones remembers phone's answers (nil: none kept): parsing is
	// regular-expression work, and a run normalises the same buyer's
	// number many times over (order, customer, contact, lookups).
	phones *phoneMemo
}

// phoneMemo is a bounded map of raw phone → phone's answer for one region.
type phoneMemo struct {
	mu stdsync.Mutex
	m  map[string]string
}

// phoneMemoMax bounds the memo; when full it starts over, which costs only
// parsing again.
const phoneMemoMax = 1 << 15

func newPhoneMemo() *phoneMemo { return &phoneMemo{m: map[string]string{}} }

func (p *phoneMemo) get(raw string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[raw]
	return v, ok
}

func (p *phoneMemo) put(raw, v string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) >= phoneMemoMax {
		clear(p.m)
	}
	p.m[raw] = v
}

// email normalises an address and reports whether it is a plain valid one.
func (n normalizer) email(raw string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fmt.Errorf("invalid email %q", raw)
	}
	return s, nil
}

// phone normalises a phone number: E.164 when it parses as a valid number
// (numbers without a country code are read in the configured region), else
// "+"-less digits; "" when too short to be a phone.
func (n normalizer) phone(raw string) string {
	if n.phones == nil {
		return n.parsePhone(raw)
	}
	if v, ok := n.phones.get(raw); ok {
		return v
	}
	v := n.parsePhone(raw)
	n.phones.put(raw, v)
	return v
}

func (n normalizer) parsePhone(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	if num, err := phonenumbers.Parse(s, n.region); err == nil && phonenumbers.IsValidNumber(num) {
		return phonenumbers.Format(num, phonenumbers.E164)
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			break // extension ("ext. 12", "доб. 3")
		}
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() < 5 {
		return ""
	}
	// What is left may now parse ("+7 915 123-45-67 доп" → 79151234567):
	// then give the E.164 form, so that normalising twice changes nothing.
	for _, cand := range []string{b.String(), "+" + b.String()} {
		if num, err := phonenumbers.Parse(cand, n.region); err == nil && phonenumbers.IsValidNumber(num) {
			return phonenumbers.Format(num, phonenumbers.E164)
		}
	}
	return b.String()
}

// emailKey is the comparison form of a stored e-mail (never an error).
func (n normalizer) emailKey(raw string) string { return strings.ToLower(strings.TrimSpace(raw)) }

// phoneKey is the comparison form of a stored phone: its E.164 form, so
// "8 (915) 123-45-67" and "+7 915 1234567" are the same number.
func (n normalizer) phoneKey(raw string) string {
	p := n.phone(raw)
	return strings.TrimPrefix(p, "+")
}
