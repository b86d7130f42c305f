package awsfake

import "sync/atomic"

// Phased is a Host that answers as one of several Hosts, the one at index
// Phase of Phases: a host seen at different times (before and after a
// compromise, a week apart). Setting Phase, shared by every instance of a
// fleet, moves the whole fleet at once; a Phase out of range answers as
// the last Host.
type Phased struct {
	// Phase selects the Host that answers.
	Phase *atomic.Int32
	// Phases are the host at each phase; it must not be empty.
	Phases []Host
}

// Output answers as Phases[Phase] does.
func (p Phased) Output(commandID string) ([]byte, bool) {
	i := int(p.Phase.Load())
	if i < 0 || i >= len(p.Phases) {
		i = len(p.Phases) - 1
	}
	return p.Phases[i].Output(commandID)
}
