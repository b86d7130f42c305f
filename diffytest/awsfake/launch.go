package awsfake

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// fleetView is the fleet at one time: its instances sorted by ID, each
// with its index in that order, and by ID.
type fleetView struct {
	instances []*instance
	byID      map[string]*instance
}

// fleet returns the fleet now; Launch never changes a view it returned.
func (s *Server) fleet() *fleetView { return s.view.Load() }

// Launch adds instances to the running fake, as an Auto Scaling group
// launching them (a new group when their aws:autoscaling:groupName tag is
// new): from its return on, EC2 lists them and SSM manages them, with the
// options' faults picked for them as for the first ones. A listing in
// progress (a DescribeInstances paginated before and after) may or may
// not see them. It returns an error, and adds none, when an instance has
// no ID or its ID is taken.
func (s *Server) Launch(insts ...Instance) error {
	s.launch.Lock()
	defer s.launch.Unlock()
	v, err := s.grow(s.fleet(), insts)
	if err != nil {
		return err
	}
	s.view.Store(v)
	return nil
}

// grow returns a new view: v and the instances added.
func (s *Server) grow(v *fleetView, insts []Instance) (*fleetView, error) {
	o := s.opts
	nv := &fleetView{instances: slices.Clone(v.instances), byID: make(map[string]*instance, len(v.byID)+len(insts))}
	for id, in := range v.byID {
		nv.byID[id] = in
	}
	for i, in := range insts {
		id := in.Instance.ID
		if id == "" {
			return nil, fmt.Errorf("awsfake: instance %d has no ID", i)
		}
		if _, dup := nv.byID[id]; dup {
			return nil, fmt.Errorf("awsfake: instance ID %q appears twice", id)
		}
		st := &instance{Instance: in, faults: map[Fault]bool{}}
		if st.Instance.Instance.Region == "" {
			st.Instance.Instance.Region = o.region
		}
		if st.Instance.Instance.Account == "" {
			st.Instance.Instance.Account = o.account
		}
		if st.InstanceType == "" {
			st.InstanceType = "m5.large"
		}
		if st.AvailabilityZone == "" {
			st.AvailabilityZone = st.Instance.Instance.Region + "a"
		}
		for _, f := range allFaults {
			if o.faults.picks(f, id) {
				st.faults[f] = true
			}
		}
		if st.has(FaultBigOutput) {
			st.bigOutput = o.faults.BigOutputBytes
		}
		without := slices.Clone(in.Without)
		if in.NoOsquery || st.has(FaultNoOsquery) {
			without = append(without, "osqueryi")
		}
		st.fs = newHostFS(without, s.now)
		st.reservation = "r-" + strings.TrimPrefix(id, "i-")
		nv.byID[id] = st
		nv.instances = append(nv.instances, st)
	}
	sort.Slice(nv.instances, func(i, j int) bool {
		return nv.instances[i].Instance.Instance.ID < nv.instances[j].Instance.Instance.ID
	})
	if len(v.instances) == 0 {
		for i, in := range nv.instances {
			in.index = i
		}
		return nv, nil
	}
	// An index, once given, stays: instances of earlier views may be
	// read at any time. New ones are numbered after every earlier one
	// (ec2 lists IDs given in that order).
	next := len(v.instances)
	for _, in := range nv.instances {
		if _, old := v.byID[in.Instance.Instance.ID]; !old {
			in.index = next
			next++
		}
	}
	return nv, nil
}
