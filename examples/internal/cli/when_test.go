package cli

import (
	"errors"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-26T12:00:00Z":      time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		"2026-11-26T13:00:00+01:00": time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		"2026-11-26T12:00:00.5Z":    time.Date(2026, 11, 26, 12, 0, 0, 5e8, time.UTC),
		"2026-11-26":                time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		"36h":                       now.Add(-36 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"0d":                        now,
	} {
		got, err := ParseTime("since", in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "-3h", "3.5d", "-1d", "2026-13-01", "2026-11-28", "2027-01-01T00:00:00Z", "1e9d", "d"} {
		_, err := ParseTime("since", in, now)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("ParseTime(%q) = %v, want a usage error", in, err)
		}
	}
}
