package history

import (
	"testing"
	"time"
)

func TestParseKey(t *testing.T) {
	for _, c := range []struct {
		key, sk, id string
		ok          bool
	}{
		{"web@20261126T120000.123Z-1a2b3c", "web", "20261126T120000.123Z-1a2b3c", true},
		// A store key may hold '@': the run ID follows the last one.
		{"a@b@20261126T120000.123Z-x", "a@b", "20261126T120000.123Z-x", true},
		{"web@latest", "", "", false},
		{"@20261126T120000.123Z-x", "", "", false},
		{"web", "", "", false},
		{"web@20261126T120000Z-x", "", "", false},
		{"web@20261126T120000.123Z-", "", "", false},
		{"web@20261126T120000.123Z-ABC", "", "", false},
		{"web@20261126T120000.123Z-12345678901234567", "", "", false},
		{"web@20261399T120000.123Z-x", "", "", false},
	} {
		sk, id, ok := ParseKey(c.key)
		if sk != c.sk || id != c.id || ok != c.ok {
			t.Errorf("ParseKey(%q) = %q, %q, %v; want %q, %q, %v", c.key, sk, id, ok, c.sk, c.id, c.ok)
		}
	}
}

func TestNewIDOrder(t *testing.T) {
	at := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	a := NewID(at)
	b := NewID(at)                          // same millisecond: the next one
	c := NewID(at.Add(-time.Millisecond))   // a clock a little behind: after b
	d := NewID(at.Add(-24 * time.Hour * 3)) // a clock set back days: believed
	if !(a < b && b < c) {
		t.Errorf("IDs %s, %s, %s do not increase", a, b, c)
	}
	if got := IDTime(c); !got.Equal(at.Add(2 * time.Millisecond)) {
		t.Errorf("third ID's time %v, want %v", got, at.Add(2*time.Millisecond))
	}
	if got := IDTime(d); !got.Equal(at.Add(-72 * time.Hour)) {
		t.Errorf("an ID after the clock was set back days has time %v, want %v", got, at.Add(-72*time.Hour))
	}
	for _, id := range []string{a, b, c, d} {
		if err := ValidID(id); err != nil {
			t.Error(err)
		}
	}
}
