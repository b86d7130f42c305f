package ssmcollect_test

import (
	"fmt"
	"sort"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
)

// injected says which faults the fake injected in a run, for the figures of
// docs/reliability.md: the API calls answered by each call fault
// (throttled, HTTP 5xx, connection reset, slow) and the instances picked
// for each per-instance fault. The fault matrix logs it per case.
func injected(srv *awsfake.Server) string {
	var throttled, server, resets, slow int64
	for _, c := range srv.Calls() {
		throttled += c.Throttled
		server += c.ServerErrors
		resets += c.Resets
		slow += c.Slow
	}
	s := fmt.Sprintf(" throttled=%d 5xx=%d resets=%d slow=%d", throttled, server, resets, slow)
	var per []string
	for _, f := range []awsfake.Fault{awsfake.FaultFailing, awsfake.FaultUndeliverable, awsfake.FaultTerminating,
		awsfake.FaultBigOutput, awsfake.FaultNoOsquery, awsfake.FaultUnmanaged, awsfake.FaultVanishing,
		awsfake.FaultAgentLost, awsfake.FaultHanging, awsfake.FaultMissingS3Output} {
		if n := len(srv.Selected(f)); n > 0 {
			per = append(per, fmt.Sprintf(" %s=%d", f, n))
		}
	}
	sort.Strings(per)
	for _, p := range per {
		s += p
	}
	return s
}
