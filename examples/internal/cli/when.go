package cli

import (
	"strconv"
	"strings"
	"time"
)

// ParseTime parses the TIME of --before and --since: an RFC 3339 time
// ("2026-11-26T12:00:00Z", "2026-11-26T13:00:00+01:00"), a UTC date
// ("2026-11-26", its midnight), or an age back from now: a Go duration
// ("36h", "90m") or a number of days ("7d"). Anything else, a negative
// age, or a time after now, is a usage error naming the flag and the
// value.
func ParseTime(flag, s string, now time.Time) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, Usagef("--%s %q: %s (use an RFC 3339 time such as 2026-11-26T12:00:00Z, a date such as 2026-11-26, or an age such as 36h or 7d)", flag, s, why)
	}
	if s == "" {
		return bad("is empty")
	}
	var t time.Time
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return bad("is not a whole number of days")
		}
		t = now.Add(-time.Duration(n) * 24 * time.Hour)
	} else if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return bad("is a negative age")
		}
		t = now.Add(-d)
	} else if t, err = time.Parse(time.RFC3339Nano, s); err == nil {
	} else if t, err = time.Parse(time.DateOnly, s); err == nil {
	} else {
		return bad("is not a time")
	}
	if t.After(now) {
		return bad("is in the future")
	}
	return t.UTC(), nil
}
