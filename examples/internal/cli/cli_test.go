package cli

import "testing"

func TestOneLine(t *testing.T) {
	if got := OneLine("a\nb\x1b[2J  c"); got != `a; b\x1b[2J c` {
		t.Errorf("oneLine = %q", got)
	}
}
