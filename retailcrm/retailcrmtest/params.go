package retailcrmtest

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/retailcrm"
)

// paramError is a 400 answer about one parameter.
type paramError struct {
	param, msg string
}

func (e *paramError) Error() string { return e.param + ": " + e.msg }

func badParam(param, format string, args ...any) *paramError {
	return &paramError{param: param, msg: fmt.Sprintf(format, args...)}
}

// limitParam reads limit: only 20, 50 and 100 pass; absent means 20.
func limitParam(q url.Values) (int, *paramError) {
	v := q.Get("limit")
	if v == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || (n != 20 && n != 50 && n != 100) {
		return 0, badParam("limit", "The value you selected is not a valid choice (20, 50, 100).")
	}
	return n, nil
}

// pageParam reads page; absent means 1.
func pageParam(q url.Values) (int, *paramError) {
	v := q.Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, badParam("page", "This value should be greater than or equal to 1.")
	}
	return n, nil
}

func intParam(q url.Values, name string) (int64, bool, *paramError) {
	v := q.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, badParam(name, "This value is not valid.")
	}
	return n, true, nil
}

func intListParam(q url.Values, name string) ([]int64, *paramError) {
	var out []int64
	for _, v := range q[name] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badParam(name, "This value is not valid.")
		}
		out = append(out, n)
	}
	return out, nil
}

// timeParam reads a Y-m-d H:i:s or Y-m-d bound in the account zone; a
// date-only upper bound covers the whole day.
func timeParam(q url.Values, name string, upper bool, loc *time.Location) (time.Time, bool, *paramError) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.ParseInLocation(retailcrm.LayoutDateTime, v, loc); err == nil {
		return t, true, nil
	}
	t, err := time.ParseInLocation(retailcrm.LayoutDate, v, loc)
	if err != nil {
		return time.Time{}, false, badParam(name, "This value is not a valid datetime.")
	}
	if upper {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, true, nil
}

// pageBounds returns the index range [from, to) of page pageNo among total
// items and the pagination block.
func pageBounds(total, limit, pageNo int) (from, to int, block map[string]any) {
	from = min((pageNo-1)*limit, total)
	to = min(from+limit, total)
	return from, to, map[string]any{
		"limit":          limit,
		"totalCount":     total,
		"currentPage":    pageNo,
		"totalPageCount": (total + limit - 1) / limit,
	}
}

// orderDateParam reads a createdAt bound of the order list as the fake's
// DateReading says.
func orderDateParam(q url.Values, name string, upper bool, loc *time.Location, how DateReading) (time.Time, bool, *paramError) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.ParseInLocation(retailcrm.LayoutDateTime, v, loc); err == nil {
		if how == DatesOnly {
			return time.Time{}, false, badParam(name, "This value is not a valid date.")
		}
		return t, true, nil
	}
	t, err := time.ParseInLocation(retailcrm.LayoutDate, v, loc)
	if err != nil {
		return time.Time{}, false, badParam(name, "This value is not a valid date.")
	}
	if upper && how != DatesMidnight {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, true, nil
}
