package retailcrm

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Layouts of RetailCRM dates: "Y-m-d H:i:s" and "Y-m-d", without offset.
const (
	LayoutDateTime = "2006-01-02 15:04:05"
	LayoutDate     = "2006-01-02"
)

// ErrNoLocation is returned when a wall-clock time would have to be
// interpreted without the account's time zone. The host's zone is never a
// fallback: it differs from the account's on most servers.
var ErrNoLocation = errors.New("retailcrm: account time zone not set")

// DateTime is a RetailCRM date or date-time as written by the API. It has
// no offset, so it only becomes an instant once the account's zone is known.
type DateTime struct {
	raw string
}

// NewDateTime formats t in t's own location. Pass a time already in the
// account's zone (t.In(loc)).
func NewDateTime(t time.Time) DateTime {
	return DateTime{raw: t.Format(LayoutDateTime)}
}

// ParseDateTime wraps a raw API value after checking its layout.
func ParseDateTime(s string) (DateTime, error) {
	d := DateTime{raw: s}
	if _, err := d.In(time.UTC); err != nil {
		return DateTime{}, err
	}
	return d, nil
}

// String returns the value as the API wrote it ("" when absent).
func (d DateTime) String() string { return d.raw }

// IsZero reports whether the value was absent, null or empty.
func (d DateTime) IsZero() bool { return d.raw == "" }

// In interprets the wall-clock value in loc, the account's time zone (from
// Settings.Location). A zero DateTime gives the zero time.Time.
func (d DateTime) In(loc *time.Location) (time.Time, error) {
	if d.raw == "" {
		return time.Time{}, nil
	}
	if loc == nil {
		return time.Time{}, ErrNoLocation
	}
	layout := LayoutDateTime
	if len(d.raw) == len(LayoutDate) {
		layout = LayoutDate
	}
	t, err := time.ParseInLocation(layout, d.raw, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("retailcrm: bad date %q: %w", d.raw, err)
	}
	return t, nil
}

// UnmarshalJSON accepts a string or null. The layout is checked lazily by
// In, so one odd date does not make a whole page undecodable.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		d.raw = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("retailcrm: date is not a string: %w", err)
	}
	d.raw = s
	return nil
}

// MarshalJSON writes the raw value, or null when absent.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.raw == "" {
		return []byte("null"), nil
	}
	return json.Marshal(d.raw)
}

// filterDay renders an order-list createdAt bound as a date ("Y-m-d") in
// the account zone, widened so the list covers the bound whichever way the
// service reads a date: the lower bound is t's day (its start or the whole
// day both begin at t's midnight), the upper one, an inclusive last
// instant, is the day after t's (its start or the whole day both reach past
// t). See docs/api-notes.md, "History and order filters".
func filterDay(t time.Time, loc *time.Location, upper bool) (string, error) {
	if loc == nil {
		return "", ErrNoLocation
	}
	t = t.In(loc)
	if upper {
		t = t.AddDate(0, 0, 1)
	}
	return t.Format(LayoutDate), nil
}

// formatFilterTime renders t for a filter parameter in the account zone.
func formatFilterTime(t time.Time, loc *time.Location) (string, error) {
	if loc == nil {
		return "", ErrNoLocation
	}
	return t.In(loc).Format(LayoutDateTime), nil
}
