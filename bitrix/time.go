package bitrix

import "time"

// DateTimeLayout is the datetime form the portal documents for every value
// it reads and writes: YYYY-MM-DDThh:mm:ss±hh:mm (D:api-reference/data-types),
// always with a numeric offset, never "Z". See docs/api-notes.md, "Times".
const DateTimeLayout = "2006-01-02T15:04:05-07:00"

// FormatTime renders t in DateTimeLayout, keeping t's own offset (UTC is
// "+00:00"). Every time crmsync sends to the portal (filters, deadlines)
// goes through it.
func FormatTime(t time.Time) string { return t.Format(DateTimeLayout) }
