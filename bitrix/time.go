package bitrix

import (
	"fmt"
	"strings"
	"time"
)

// DateTimeLayout is the datetime form the portal documents for every value
// it reads and writes: YYYY-MM-DDThh:mm:ss±hh:mm (b24restdocs:api-reference/data-types.md),
// always with a numeric offset, never "Z". See docs/api-notes.md, "Times".
const DateTimeLayout = "2006-01-02T15:04:05-07:00"

// DateLayout is the documented form of a date-only field (type date, such
// as a deal's BEGINDATE and CLOSEDATE): YYYY-MM-DD.
const DateLayout = "2006-01-02"

// FormatTime renders t in DateTimeLayout, keeping t's own offset (UTC is
// "+00:00"). Every time crmsync sends to the portal (filters, deadlines)
// goes through it.
func FormatTime(t time.Time) string { return t.Format(DateTimeLayout) }

// FormatDate renders the calendar day of t, in t's own location, as a
// date-only value (DateLayout). Convert t to the zone whose day is meant
// (e.g. the shop's) first: no conversion happens here.
func FormatDate(t time.Time) string { return t.Format(DateLayout) }

// ParseDate reads a date-only field as the portal answers it. Legacy
// methods answer such a day as a datetime, midnight UTC written in the
// server's offset ("2024-08-30T02:00:00+02:00" on a +02:00 portal, see
// docs/api-notes.md, "Deal content"), so a value that is midnight UTC gives
// its UTC day, whatever the offset; any other datetime gives the day as
// written. "YYYY-MM-DD" is read as is; "" and null are the zero time. The
// result is midnight UTC of that day.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) == len(DateLayout) {
		d, err := time.Parse(DateLayout, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("bitrix: date %q: %w", truncate(s, 40), err)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bitrix: date %q: %w", truncate(s, 40), err)
	}
	if u := t.UTC(); u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 {
		return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
}
