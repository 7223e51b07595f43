package bitrixtest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// dateTimeLayout is the form the portal writes datetimes in.
const dateTimeLayout = "2006-01-02T15:04:05-07:00"

// docDateTime is the documented datetime form YYYY-MM-DDThh:mm:ss±hh:mm
// (b24restdocs:api-reference/data-types.md): a numeric offset, never "Z".
var docDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)

// parseDateTime reads a datetime with an offset or "Z" (the forms a PHP
// strtotime on the portal reads as one instant).
func parseDateTime(s string) (int64, bool) {
	if len(s) < 20 || len(s) > 25 || s[4] != '-' || s[10] != 'T' {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}

// dateTimeFields are the fields of type datetime crmsync may send: in
// filters of crm.*.list, crm.stagehistory.list and crm.timeline.comment.list,
// and tasks.task.add's DEADLINE.
var dateTimeFields = []string{"DATE_CREATE", "DATE_MODIFY", "LAST_ACTIVITY_TIME", "MOVED_TIME", "DATE_CLOSED",
	"CREATED_TIME", "CREATED", "DEADLINE"}

// BadTime is a datetime value sent in a form the documentation does not
// give: with "Z", without an offset, or not a datetime at all.
type BadTime struct {
	Method, Field, Value string
	// Want is the documented form; "" means a datetime,
	// YYYY-MM-DDThh:mm:ss±hh:mm.
	Want string
}

func (b BadTime) String() string {
	want := b.Want
	if want == "" {
		want = "YYYY-MM-DDThh:mm:ss±hh:mm"
	}
	return fmt.Sprintf("%s: %s = %q is not %s", b.Method, b.Field, b.Value, want)
}

// checkTimes records every datetime value of a filter or of fields that is
// not in the documented form. A real portal parses such values with PHP's
// strtotime, which reads "Z" as UTC but a value without an offset in the
// server's zone, so the fake answers them normally and a test fails on the
// record instead (New, BadTimes).
func (s *Server) checkTimes(method string, p map[string]any) {
	for _, top := range []string{"filter", "fields"} {
		v, ok := getCI(p, top)
		if !ok {
			continue
		}
		for key, val := range asMap(v) {
			_, field := splitOp(key)
			if !slices.Contains(dateTimeFields, field) {
				continue
			}
			for _, e := range List(val) {
				str := Str(e)
				if !docDateTime.MatchString(strings.TrimSpace(str)) {
					s.badTimes = append(s.badTimes, BadTime{Method: method, Field: key, Value: str})
				}
			}
		}
	}
}

// BadTimes returns the datetime values sent in a form the documentation
// does not give, in the order they came.
func (s *Server) BadTimes() []BadTime {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.badTimes)
}
