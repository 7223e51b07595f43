package bitrixtest

import (
	"strings"
	"time"
)

// dateFields are a deal's date-only fields (type date, crm_deal_fields.json).
var dateFields = []string{"BEGINDATE", "CLOSEDATE"}

// dateLayout is the documented form of a date: YYYY-MM-DD.
const dateLayout = "2006-01-02"

// zone is the portal's server time zone: the fake's clock's.
func (d *store) zone() *time.Location { return d.s.clock.Now().Location() }

// renderDate is how legacy methods answer a date: midnight UTC of the day,
// written in the server's offset, e.g. "2024-08-30T02:00:00+02:00" on a
// +02:00 portal (the docs' crm.deal.get and crm.item examples,
// docs/api-notes.md "Deal content").
func (d *store) renderDate(day time.Time) string {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC).In(d.zone()).Format(dateTimeLayout)
}

// today is the server's current day.
func (d *store) today() time.Time {
	now := d.s.clock.Now()
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// readDate reads a value written to a date field: YYYY-MM-DD, or a
// datetime (the docs' examples send ISO datetimes), whose day in the
// server's zone is taken. ok is false for anything else.
func (d *store) readDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	t = t.In(d.zone())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
}

// setDate writes a date field: "" clears it; a value that is no date is
// recorded (BadTimes, New fails the test) and leaves the field as it was,
// as what a portal does with it is not documented.
func (d *store) setDate(r *Row, name string, v any) {
	s := Str(v)
	if strings.TrimSpace(s) == "" {
		r.Fields[name] = ""
		return
	}
	day, ok := d.readDate(s)
	if !ok {
		d.s.badTimes = append(d.s.badTimes, BadTime{Method: d.method, Field: name, Value: s, Want: "YYYY-MM-DD"})
		return
	}
	r.Fields[name] = d.renderDate(day)
}

// Day returns a date field's day as YYYY-MM-DD ("" when empty).
func (r Row) Day(name string) string {
	t, err := time.Parse(time.RFC3339, r.Str(name))
	if err != nil {
		return ""
	}
	return t.UTC().Format(dateLayout)
}
