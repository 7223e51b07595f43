package bitrix

import "strings"

// MarkupBreak is the character EscapeMarkup puts after every '[' and '<':
// U+200B ZERO WIDTH SPACE. It is invisible, so the text reads as it was
// typed, and it is neither a letter nor white space to the portal's parsers
// (their tags start with '[' or '<' followed directly by the tag name, and
// their \s does not match it), so no tag can start there.
const MarkupBreak = "\u200b"

// EscapeMarkup makes text from outside crmsync (what a shop's customer
// typed: comments, names, addresses, e-mails; item and status names) inert
// in a Bitrix24 text: deal and contact COMMENTS and timeline comments render
// BBCode, task descriptions are BBCode, notifications render BBCode, and
// older portals keep COMMENTS as HTML. After it, no "[url=…]", "[img]",
// "[user=1]" or "<a href=…>" works as markup, while the text looks exactly
// the same to a manager. See docs/api-notes.md, "Text and markup".
//
// It is idempotent (a '[' already followed by the break gets no second
// one), and only inserts: removing every MarkupBreak from the result gives
// the input with its own breaks removed. Apply it to each value, never to a
// whole text, so that crmsync's own markup keeps working.
func EscapeMarkup(s string) string {
	if !strings.ContainsAny(s, "[<") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 3*strings.Count(s, "[") + 3*strings.Count(s, "<"))
	// '[' and '<' are ASCII, so they are never part of a multi-byte UTF-8
	// sequence: walking bytes leaves every other byte as it was, valid or not.
	for i := 0; i < len(s); i++ {
		c := s[i]
		b.WriteByte(c)
		if (c == '[' || c == '<') && !strings.HasPrefix(s[i+1:], MarkupBreak) {
			b.WriteString(MarkupBreak)
		}
	}
	return b.String()
}

// MarkupInert reports whether every '[' and '<' of s is followed by
// MarkupBreak: no BBCode or HTML tag can start in s.
func MarkupInert(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] == '[' || s[i] == '<') && !strings.HasPrefix(s[i+1:], MarkupBreak) {
			return false
		}
	}
	return true
}
