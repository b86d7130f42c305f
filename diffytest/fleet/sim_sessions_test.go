package fleet

import (
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/payload"
)

// TestSimSessionTools checks that operators' sessions debug as well as
// look: strace/gdb attached to a process the host runs, tools under sudo
// in the operator's shell, and python3's http.server listening on the
// port its command line names.
func TestSimSessionTools(t *testing.T) {
	s := NewSim(SimConfig{Seed: 3, Hosts: 1500, Families: FamilySessions})
	seen := map[string]int{}
	for _, h := range s.All() {
		procs := h.Rows[payload.Processes]
		byPid := map[string]map[string]string{}
		for _, p := range procs {
			byPid[p["pid"]] = p
		}
		for _, p := range procs {
			f := strings.Fields(p["cmdline"])
			if len(f) == 0 {
				continue
			}
			switch p["name"] {
			case "strace", "gdb":
				seen[p["name"]]++
				if byPid[f[len(f)-1]] == nil {
					t.Errorf("%s: %q attaches to no process of the host", h.Hostname, p["cmdline"])
				}
				if par := byPid[p["parent"]]; par == nil || par["name"] != "sudo" {
					t.Errorf("%s: %q does not run under sudo: parent %v", h.Hostname, p["cmdline"], par)
				}
			case "tcpdump", "perf", "curl":
				seen[p["name"]]++
			case "python3":
				if len(f) < 4 || f[2] != "http.server" {
					continue
				}
				seen[p["name"]]++
				ok := false
				for _, l := range h.Rows[payload.ListeningPorts] {
					ok = ok || l["pid"] == p["pid"] && l["port"] == f[3]
				}
				if !ok {
					t.Errorf("%s: %q has no listening_ports row on its port", h.Hostname, p["cmdline"])
				}
			}
		}
	}
	for _, n := range []string{"strace", "gdb", "tcpdump", "perf", "curl", "python3"} {
		if seen[n] == 0 {
			t.Errorf("no session of 1,500 hosts runs %s (seen %v)", n, seen)
		}
	}
}
