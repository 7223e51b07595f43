package sync

import (
	"strings"
	"unicode/utf8"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/sync/texts"
)

// maxTextBytes caps every text crmsync writes into Bitrix24 from order data
// (a timeline comment, a rule's rendered text): an order with thousands of
// lines must not become a comment of hundreds of kilobytes that no manager
// reads and that makes the batch request huge.
const maxTextBytes = 4000

// maxItemsBytes caps the returned lines a rule text can name
// (.ReturnedItems): it goes into task titles and notifications.
const maxItemsBytes = 1000

// esc neutralises a value taken from RetailCRM data before it goes into a
// Bitrix24 text (see bitrix.EscapeMarkup).
func esc(s string) string { return bitrix.EscapeMarkup(s) }

// capList joins items with ", " within budget bytes; what does not fit is
// counted: `"Kettle", "Mug", … and 19,950 more lines` (in the locale).
func capList(items []string, budget int, txt *texts.Catalog) string {
	var b strings.Builder
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		rest := len(items) - i
		// Room for this item and, unless it is the last, the tail that may follow it.
		need := len(sep) + len(it)
		if rest > 1 {
			need += len(moreLines(rest-1, txt))
		}
		if b.Len()+need > budget {
			if i == 0 {
				return strings.TrimPrefix(moreLines(rest, txt), ", ")
			}
			b.WriteString(moreLines(rest, txt))
			return b.String()
		}
		b.WriteString(sep)
		b.WriteString(it)
	}
	return b.String()
}

// moreLines is the tail naming how many lines a list left out.
func moreLines(n int, txt *texts.Catalog) string { return txt.Plural(texts.MoreLines, n) }

// capText cuts a text longer than max bytes at a character boundary and
// says how much was left out (in the locale). A cut never leaves a '[' or
// '<' without the break that follows it in an escaped value.
func capText(s string, max int, txt *texts.Catalog) string {
	if len(s) <= max {
		return s
	}
	const tailRoom = 48 // room for the longest tail, "… (ещё 9 999 999 символов)" (39 bytes)
	cut := max - tailRoom
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	head := strings.TrimRight(s[:cut], "[<")
	return head + txt.Plural(texts.MoreChars, utf8.RuneCountInString(s[len(head):]))
}
