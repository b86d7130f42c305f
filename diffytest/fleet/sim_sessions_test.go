package fleet

import (
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/payload"
)

// TestSimSessionTools checks that operators' sessions debug as well as
// look: strace/gdb attached to a process the host runs, tools under sudo
// in the operator's shell (or in root's shell of sudo -i), and python3's http.server listening on the
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
				// Under sudo, or in root's shell of sudo -i.
				par := byPid[p["parent"]]
				if par != nil && par["uid"] == "0" && par["cmdline"] == "-bash" {
					par = byPid[par["parent"]]
				}
				if par == nil || par["name"] != "sudo" {
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

// TestSimSessionShapes checks the shapes of operators' sessions beyond
// a login shell: tmux's server daemonized under init as the operator, a
// process left behind under init as the operator with no session around
// it, a file transfer's sftp-server or scp under sshd's session without a
// terminal, and sudo -i's root shell.
func TestSimSessionShapes(t *testing.T) {
	s := NewSim(SimConfig{Seed: 5, Hosts: 1500, Families: FamilySessions | FamilyUsers})
	seen := map[string]int{}
	for _, h := range s.All() {
		procs := h.Rows[payload.Processes]
		byPid := map[string]map[string]string{}
		for _, p := range procs {
			byPid[p["pid"]] = p
		}
		logins := map[string]bool{}
		for _, u := range h.Rows[payload.Users] {
			if u["uid"] >= "1000" && len(u["uid"]) == 4 && !strings.HasSuffix(u["shell"], "nologin") {
				logins[u["uid"]] = true
			}
		}
		for _, tr := range h.Traits {
			shape, ok := strings.CutPrefix(tr, "session=")
			if !ok {
				continue
			}
			seen[shape]++
			ok = false
			for _, p := range procs {
				par := byPid[p["parent"]]
				switch shape {
				case "tmux":
					ok = ok || p["name"] == "tmux: server" && p["parent"] == "1" && logins[p["uid"]]
				case "left":
					ok = ok || (p["name"] == "sleep" || p["name"] == "tail") && p["parent"] == "1" && logins[p["uid"]]
				case "transfer":
					ok = ok || (p["name"] == "sftp-server" || p["name"] == "scp") && par != nil && strings.HasSuffix(par["cmdline"], "@notty") && logins[p["uid"]]
				case "sudo-i":
					ok = ok || p["cmdline"] == "-bash" && p["uid"] == "0" && par != nil && par["cmdline"] == "sudo -i"
				default:
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: a %s session without its processes", h.Hostname, shape)
			}
		}
	}
	for _, n := range []string{"tmux", "screen", "left", "transfer", "sudo-i", "ssh"} {
		if seen[n] == 0 {
			t.Errorf("no session of 1,500 hosts is %s (seen %v)", n, seen)
		}
	}
}
