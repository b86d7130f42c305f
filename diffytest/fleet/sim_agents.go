package fleet

import (
	"math/rand/v2"
)

// A logShipper is a log shipping agent.
type logShipper struct {
	name, path, cmdline string
	uid                 int
	user                *simUser
	listen              []listen
}

var logShippers = []logShipper{
	{"fluent-bit", "/opt/fluent-bit/bin/fluent-bit", "/opt/fluent-bit/bin/fluent-bit -c //etc/fluent-bit/fluent-bit.conf", 0, nil,
		[]listen{{"0.0.0.0", 2020, tcp}}},
	{"filebeat", "/usr/share/filebeat/bin/filebeat", "/usr/share/filebeat/bin/filebeat --environment systemd -c /etc/filebeat/filebeat.yml --path.home /usr/share/filebeat --path.config /etc/filebeat --path.data /var/lib/filebeat --path.logs /var/log/filebeat", 0, nil, nil},
	{"vector", "/usr/bin/vector", "/usr/bin/vector --config /etc/vector/vector.yaml", 997,
		&simUser{997, 997, "vector", "", "/var/lib/vector", "/usr/sbin/nologin"}, []listen{{"127.0.0.1", 8686, tcp}}},
	{"td-agent-bit", "/opt/td-agent-bit/bin/td-agent-bit", "/opt/td-agent-bit/bin/td-agent-bit -c /etc/td-agent-bit/td-agent-bit.conf", 0, nil,
		[]listen{{"0.0.0.0", 2020, tcp}}},
	{"otelcol-contrib", "/usr/bin/otelcol-contrib", "/usr/bin/otelcol-contrib --config=/etc/otelcol-contrib/config.yaml", 996,
		&simUser{996, 996, "otelcol-contrib", "", "/home/otelcol-contrib", "/sbin/nologin"}, []listen{{"127.0.0.1", 8888, tcp}, {"127.0.0.1", 4317, tcp}}},
}

// shipperPlan is FamilyLogShippers' draw: the fleet replacing its log
// shipper with another.
type shipperPlan struct {
	from, to        int
	shareNow, share float64 // hosts on the new one, today and a week ago
	both            float64 // hosts running both while they switch
}

// planShippers draws the old and the new shipper, the new one on a share
// of [0.1, 0.9] (a week ago a share of [0.2, 0.9] of that), [0, 0.05] of
// the hosts running both; without FamilyLogShippers every host runs the
// old one.
func (p *plan) planShippers(r *rand.Rand, on bool) {
	s := &p.shippers
	order := r.Perm(len(logShippers))
	s.from, s.to = order[0], order[1]
	s.shareNow = between(r, 0.1, 0.9)
	s.share = s.shareNow * between(r, 0.2, 0.9)
	s.both = between(r, 0, 0.05)
	if !on {
		s.shareNow, s.share, s.both = 0, 0, 0
	}
}

// logShipper starts the host's log shipper, or both while it switches.
func (g *hostGen) logShipper(r *rand.Rand, start int64) {
	s := &g.s.p.shippers
	share := s.shareNow
	if g.s.cfg.WeekEarlier {
		share = s.share
	}
	u := unit(g.s.cfg.Seed, uint64(FamilyLogShippers), g.id.key)
	var run []int
	switch {
	case u < share:
		run = []int{s.to}
	case u < share+s.both:
		run = []int{s.from, s.to}
	default:
		run = []int{s.from}
	}
	for _, i := range run {
		l := logShippers[i]
		p := g.spawn(g.nextBootPid(r, 10), comm(l.name), l.path, l.cmdline, l.uid, 1, start)
		for _, a := range l.listen {
			g.listen(p, a.addr, a.port, a.proto)
		}
		if l.user != nil {
			g.pkgUsers = append(g.pkgUsers, *l.user)
			g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, l.user.name})
		}
		if g.on(FamilyLogShippers) {
			g.trait("shipper=" + l.name)
		}
	}
}

// agentPlan is FamilyAgents' draw: an agent being rolled out.
type agentPlan struct {
	kind            int // 0: an EDR sensor with kernel modules, 1: the same in eBPF mode, 2: a monitoring agent
	shareNow, share float64
}

// planAgents draws the agent and its share, in [0.1, 0.9] (a week ago a
// share of [0.1, 0.9] of that); without FamilyAgents, none.
func (p *plan) planAgents(r *rand.Rand, on bool) {
	a := &p.agents
	a.kind = r.IntN(3)
	a.shareNow = between(r, 0.1, 0.9)
	a.share = a.shareNow * between(r, 0.1, 0.9)
	if !on {
		a.shareNow, a.share = 0, 0
	}
}

// falconModules are the kernel-mode EDR sensor's modules.
var falconModules = []module{
	{"falcon_lsm_serviceable", 1236992, "-"}, {"falcon_nf_netcontain", 40960, "-"}, {"falcon_kal", 45056, "falcon_lsm_serviceable,falcon_nf_netcontain"},
}

// agent starts the agent being rolled out, where it already is.
func (g *hostGen) agent() {
	a := &g.s.p.agents
	share := a.shareNow
	if g.s.cfg.WeekEarlier {
		share = a.share
	}
	if unit(g.s.cfg.Seed, uint64(FamilyAgents), g.id.key) >= share {
		return
	}
	r := g.keep(FamilyAgents)
	// Installed by configuration management some time after boot.
	t := max(g.boot+60, g.at-int64(r.IntN(10*86400)))
	switch a.kind {
	case 0, 1:
		g.trait("agent=falcon")
		falcond := g.spawn(g.pidAt(r, t), "falcond", "/opt/CrowdStrike/falcond", "/opt/CrowdStrike/falcond", 0, 1, t)
		if a.kind == 0 {
			g.spawn(g.pidAt(r, t), "falcon-sensor", "/opt/CrowdStrike/falcon-sensor", "falcon-sensor", 0, falcond.pid, t)
			g.pkgModules = append(g.pkgModules, falconModules...)
		} else {
			g.spawn(g.pidAt(r, t), "falcon-sensor-b", "/opt/CrowdStrike/falcon-sensor-bpf", "falcon-sensor-bpf", 0, falcond.pid, t)
		}
	default:
		g.trait("agent=datadog")
		dd := "/opt/datadog-agent/bin/agent/agent"
		first := len(g.procs)
		ag := g.spawn(g.pidAt(r, t), "agent", dd, dd+" run -p /opt/datadog-agent/run/agent.pid", 998, 1, t)
		g.listen(ag, "127.0.0.1", 5001, tcp)
		g.listen(ag, "127.0.0.1", 8125, udp)
		tr := g.spawn(g.pidAt(r, t), "trace-agent", "/opt/datadog-agent/embedded/bin/trace-agent",
			"/opt/datadog-agent/embedded/bin/trace-agent --config /etc/datadog-agent/datadog.yaml --pidfile /opt/datadog-agent/run/trace-agent.pid", 998, 1, t)
		g.listen(tr, "127.0.0.1", 8126, tcp)
		g.spawn(g.pidAt(r, t), "process-agent", "/opt/datadog-agent/embedded/bin/process-agent",
			"/opt/datadog-agent/embedded/bin/process-agent --cfgpath=/etc/datadog-agent/datadog.yaml --sysprobe-config=/etc/datadog-agent/system-probe.yaml --pid=/opt/datadog-agent/run/process-agent.pid", 998, 1, t)
		g.pkgUsers = append(g.pkgUsers, simUser{998, 998, "dd-agent", "", "/opt/datadog-agent", "/usr/sbin/nologin"})
		for i := first; i < len(g.procs); i++ {
			g.fixUID = append(g.fixUID, uidFix{i, "dd-agent"})
		}
	}
}
