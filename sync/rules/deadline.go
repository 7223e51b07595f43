package rules

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Deadline is a task's due time: after a duration, at the next occurrence
// of a time of day, or at a fixed time.
type Deadline struct {
	after   time.Duration
	clock   time.Duration // time of day since midnight; used when hasTime
	hasTime bool
	at      time.Time
}

// Set reports whether the task has a deadline.
func (d Deadline) Set() bool { return d.after > 0 || d.hasTime || !d.at.IsZero() }

// Due returns the deadline for a task created at now.
func (d Deadline) Due(now time.Time) time.Time {
	switch {
	case !d.at.IsZero():
		return d.at
	case d.hasTime:
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
		t := day.Add(d.clock)
		if !t.After(now) {
			t = day.AddDate(0, 0, 1).Add(d.clock)
		}
		return t
	}
	return now.Add(d.after)
}

const deadlineHelp = "use a duration (2h, 30m, 3d), a time of day (18:00) or a date and time (2026-12-31 18:00)"

// parseDeadline reads "2h", "30m", "3d", "18:00" or "2026-12-31 18:00".
// Its errors do not quote the value.
func parseDeadline(s string) (Deadline, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 3650 {
			return Deadline{}, errors.New(deadlineHelp)
		}
		return Deadline{after: time.Duration(n) * 24 * time.Hour}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return Deadline{}, errors.New("must be in the future; " + deadlineHelp)
		}
		return Deadline{after: d}, nil
	}
	if t, err := time.Parse("15:04", s); err == nil {
		return Deadline{clock: time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, hasTime: true}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return Deadline{at: t}, nil
		}
	}
	return Deadline{}, errors.New(deadlineHelp)
}
