package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/render"
)

// progressLine shows how far a run has got on one line of stderr,
// rewritten in place with '\r', when stderr is a terminal. It is nil-safe:
// a nil *progressLine shows nothing.
type progressLine struct {
	w    io.Writer
	key  string
	last int // width of the line shown
}

// newProgressLine returns a progress line on stderr for key, or nil when
// stderr is not a terminal.
func newProgressLine(stderr io.Writer, key string) *progressLine {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressLine{w: stderr, key: render.Escape(key)}
}

// update shows p.
func (l *progressLine) update(p diffy.Progress) {
	if l == nil {
		return
	}
	var msg string
	switch p.Stage {
	case "target":
		msg = fmt.Sprintf("%s: %d instances", l.key, p.Total)
	case "collect":
		msg = fmt.Sprintf("%s: collected %d of %d instances", l.key, p.Done, p.Total)
	case "analyze":
		msg = fmt.Sprintf("%s: analyzing", l.key)
	default:
		msg = fmt.Sprintf("%s: %s %d of %d", l.key, p.Stage, p.Done, p.Total)
	}
	msg = "diffy: " + msg
	pad := ""
	if n := l.last - len(msg); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(l.w, "\r%s%s", msg, pad)
	l.last = len(msg) + len(pad) // the width shown, which clear must cover
}

// clear removes the line.
func (l *progressLine) clear() {
	if l == nil || l.last == 0 {
		return
	}
	fmt.Fprintf(l.w, "\r%s\r", strings.Repeat(" ", l.last))
	l.last = 0
}
