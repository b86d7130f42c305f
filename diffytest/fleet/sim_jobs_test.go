package fleet

import (
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/payload"
)

// TestSimJobsCatalog checks that every job of the catalog is caught on
// some host of some seed, and that what cron starts runs a line of the
// host's crontab: cron's shell is "/bin/sh -c <command>", the command of
// one of its crontab rows (blanks collapsed, the user field dropped), on
// a host whose init or cron is the job's ancestor.
func TestSimJobsCatalog(t *testing.T) {
	seen := map[string]int{}
	for seed := int64(1); seed <= 30; seed++ {
		s := NewSim(SimConfig{Seed: seed, Hosts: 200, Families: FamilyJobs | FamilyRoles | FamilyContainers})
		for _, h := range s.All() {
			for _, tr := range h.Traits {
				if name, ok := strings.CutPrefix(tr, "job="); ok {
					seen[name]++
				}
			}
			var cmds []string
			for _, c := range h.Rows[payload.Crontab] {
				cmd := strings.Join(strings.Fields(c["command"]), " ")
				if _, rest, ok := strings.Cut(cmd, " "); ok {
					cmds = append(cmds, rest)
				}
			}
			for _, p := range h.Rows[payload.Processes] {
				c, ok := strings.CutPrefix(p["cmdline"], "/bin/sh -c ")
				if !ok || p["name"] != "sh" {
					continue
				}
				c = strings.Join(strings.Fields(c), " ")
				runs := false
				for _, x := range cmds {
					runs = runs || x == c
				}
				if !runs && !strings.Contains(c, "AnsiballZ_") && !strings.Contains(c, "rsyslog-rotate") && !strings.Contains(c, "/app/bin/") {
					t.Errorf("seed %d %s: cron's shell %q runs no crontab line of the host (%q)", seed, h.Hostname, p["cmdline"], cmds)
				}
			}
		}
	}
	for _, j := range jobCatalog {
		if seen[j.name] == 0 && j.name != "config-run" {
			t.Errorf("job %s caught on no host of 30 seeds (seen %v)", j.name, seen)
		}
	}
}
