package awsfake

import "github.com/diffy-dfir/diffy/diffytest/fleet"

// FleetInstances returns the hosts of a simulated fleet as the fake's
// instances: each one's Instance (ID, tags with its Auto Scaling group,
// private IP, image, launch time) and a Host answering the standard pack
// with the host's rows. The Host prints the same rows as the fleet host's
// own Output, formatted by OsqueryJSON, which costs a fraction of it: a
// fleet of 10,000 hosts is printed in full for every command sent to it.
func FleetInstances(f *fleet.Fleet) []Instance {
	out := make([]Instance, len(f.Hosts))
	for i := range f.Hosts {
		out[i] = Instance{Instance: f.Hosts[i].Instance, Host: fleetHost{&f.Hosts[i]}}
	}
	return out
}

// fleetHost is a fleet host as a Host.
type fleetHost struct{ h *fleet.Host }

// Output prints the host's rows of commandID, or reports false for a
// command of no row set, as fleet.Host.Output does.
func (f fleetHost) Output(commandID string) ([]byte, bool) {
	rows, ok := f.h.Rows[commandID]
	if !ok {
		return nil, false
	}
	return OsqueryJSON(rows), true
}
