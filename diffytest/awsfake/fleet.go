package awsfake

import "github.com/diffy-dfir/diffy/diffytest/fleet"

// FleetInstances returns the hosts of a simulated fleet as the fake's
// instances: each one's Instance (ID, tags with its Auto Scaling group,
// private IP, image, launch time) and the host itself as its Host, which
// answers the standard pack with the host's rows.
func FleetInstances(f *fleet.Fleet) []Instance {
	out := make([]Instance, len(f.Hosts))
	for i := range f.Hosts {
		out[i] = Instance{Instance: f.Hosts[i].Instance, Host: &f.Hosts[i]}
	}
	return out
}
