package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
)

// TestClusterKernelThreads: kernel threads (no executable, no command
// line) with names on 1 host of 200, the RPC threads an NFS mount starts,
// make no outlier: only the kernel makes one, and what made it is judged
// in kernel_modules. What poses as one still decides: a process named as
// a kernel thread running from /tmp, and a rootkit's module on the host
// whose kernel thread it started.
func TestClusterKernelThreads(t *testing.T) {
	const n = 200
	kthread := func(pid, name string) collect.Row {
		return collect.Row{"pid": pid, "name": name, "path": "", "cmdline": "", "uid": "0", "parent": "2", "start_time": "1"}
	}
	hosts := roleHosts(n)
	for _, h := range hosts {
		h.add("processes", collect.Row{"pid": "2", "name": "kthreadd", "path": "", "cmdline": "", "uid": "0", "parent": "0", "start_time": "1"})
		for k := range 8 {
			h.add("processes", kthread(fmt.Sprint(3+k), fmt.Sprintf("ksoftirqd/%d", k)))
		}
		h.add("processes", kthread("20", "kcompactd0"), kthread("21", "kswapd0"))
	}
	hosts[7].add("processes", kthread("30", "nfsiod"), kthread("31", "rpciod"), kthread("32", "xprtiod"))
	hosts[8].add("processes", collect.Row{"pid": "9001", "name": "nfsiod", "path": "/tmp/.x/nfsiod", "cmdline": "[nfsiod]",
		"uid": "0", "parent": "1", "start_time": "5"})
	hosts[9].add("processes", kthread("30", "rk_worker"))
	hosts[9].add("kernel_modules", collect.Row{"name": "diamorphine", "size": "16384", "used_by": "-", "status": "Live", "address": "0x9"})
	rep := analyzeResults(t, varResults(hosts))
	if got, want := outlierIDs(rep), []string{hostID(8), hostID(9)}; !slices.Equal(got, want) {
		t.Fatalf("outliers %v, want %v (the kernel threads of %s are none)", got, want, hostID(7))
	}
	for _, h := range rep.Hosts {
		switch h.InstanceID {
		case hostID(7):
			if len(h.Findings) != 3 {
				t.Fatalf("%s: %d findings, want its 3 kernel threads listed: %v", h.InstanceID, len(h.Findings), h.Findings)
			}
			for _, f := range h.Findings {
				if f.Deciding || !strings.Contains(f.Why, "it is a kernel thread") {
					t.Errorf("%s: %v deciding %v, why %q: want listed as a kernel thread, not deciding", h.InstanceID, f.Row, f.Deciding, f.Why)
				}
			}
		case hostID(8):
			if f := h.Findings[0]; f.CommandID != "processes" || f.Row["path"] != "/tmp/.x/nfsiod" || !f.Deciding {
				t.Errorf("%s: first finding %s %v (deciding %v), want the process from /tmp deciding", h.InstanceID, f.CommandID, f.Row, f.Deciding)
			}
		case hostID(9):
			if f := h.Findings[0]; f.CommandID != "kernel_modules" || f.Row["name"] != "diamorphine" || !f.Deciding {
				t.Errorf("%s: first finding %s %v (deciding %v), want the rootkit's module deciding", h.InstanceID, f.CommandID, f.Row, f.Deciding)
			}
		}
	}
}
