package fleet

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// containerPlan is FamilyContainers' draw: the runtime, the share of
// hosts that run containers, and the images they run.
type containerPlan struct {
	k8s     bool // Kubernetes nodes (kubelet, containerd's CRI, pods) instead of Docker
	share   float64
	images  []int // indexes into containerImages
	weights []float64
	most    int // the most containers a host runs
}

// A containerImage is what a container runs: its main process, the ports
// it listens on in its own network namespace (osquery's listening_ports
// sees every namespace's sockets), and the host port Docker publishes.
type containerImage struct {
	name, path, cmdline string
	uid                 int
	listen              []int
	publish             int // a published host port (Docker), 0 for none
}

var containerImages = []containerImage{
	{"fluent-bit", "/fluent-bit/bin/fluent-bit", "/fluent-bit/bin/fluent-bit -c /fluent-bit/etc/fluent-bit.conf", 0, []int{2020}, 0},
	{"agent", "/opt/datadog-agent/bin/agent/agent", "agent run", 0, []int{5001, 5002, 8125}, 8125},
	{"otelcol-contrib", "/otelcol-contrib", "/otelcol-contrib --config /etc/otelcol-contrib/config.yaml", 10001, []int{4317, 4318, 8888}, 4317},
	{"envoy", "/usr/local/bin/envoy", "envoy -c /etc/envoy/envoy.yaml --service-cluster {app}-sidecar", 101, []int{15001, 15000}, 0},
	{"consul", "/bin/consul", "consul agent -data-dir=/consul/data -config-dir=/consul/config", 100, []int{8500, 8301, 8600}, 8500},
	{"vault", "/bin/vault", "vault agent -config=/vault/config/agent.hcl", 100, nil, 0},
	{"statsd_exporter", "/bin/statsd_exporter", "/bin/statsd_exporter --statsd.mapping-config=/etc/statsd/mapping.yml", 65534, []int{9102, 9125}, 9102},
	{"cadvisor", "/usr/bin/cadvisor", "/usr/bin/cadvisor -logtostderr -docker_only", 0, []int{8080}, 8088},
	{"node", "/usr/local/bin/node", "node /app/dist/index.js", 1000, []int{8080}, 8080},
	{"python", "/usr/local/bin/python3.11", "/usr/local/bin/python3.11 /app/main.py --workers 2", 1000, []int{8000}, 8000},
	{"nginx", "/usr/sbin/nginx", "nginx: master process nginx -g daemon off;", 0, []int{80}, 8081},
	{"pushgateway", "/bin/pushgateway", "/bin/pushgateway", 65534, []int{9091}, 0},
}

// containerModules are loaded by a container runtime.
var containerModules = []module{
	{"overlay", 151552, "-"}, {"nf_defrag_ipv6", 24576, "nf_conntrack"}, {"nf_defrag_ipv4", 16384, "nf_conntrack"},
	{"xt_addrtype", 16384, "-"}, {"iptable_filter", 16384, "-"}, {"iptable_nat", 16384, "-"}, {"br_netfilter", 32768, "-"},
	{"bridge", 311296, "br_netfilter"}, {"stp", 16384, "bridge"}, {"llc", 16384, "bridge,stp"}, {"veth", 36864, "-"},
	{"xt_conntrack", 16384, "-"}, {"nf_conntrack", 176128, "xt_conntrack,nf_nat,xt_MASQUERADE"}, {"nf_nat", 57344, "iptable_nat,xt_MASQUERADE"},
	{"xt_MASQUERADE", 20480, "-"},
}

// planContainers draws the runtime (Docker or Kubernetes), a share of
// [0.4, 1] of the hosts running containers, 4 to 8 images of the catalog
// weighted by a flat Dirichlet, and at most 2 to 6 containers a host.
func (p *plan) planContainers(r *rand.Rand, on bool) {
	c := &p.containers
	c.k8s = chance(r, 0.4)
	c.share = between(r, 0.4, 1)
	order := r.Perm(len(containerImages))
	c.images = order[:intBetween(r, 4, 8)]
	for range c.images {
		c.weights = append(c.weights, r.ExpFloat64())
	}
	c.most = intBetween(r, 2, 6)
	if !on {
		c.share = 0
	}
}

// containers starts the host's container runtime and containers: a few
// of the fleet's images, drawn anew at each collection (workloads are
// rescheduled, containers recreated with new 64-hex IDs).
func (g *hostGen) containers() {
	c := &g.s.p.containers
	if unit(g.s.cfg.Seed, uint64(FamilyContainers), g.id.key) >= c.share {
		return
	}
	r := g.keep(FamilyContainers)
	rn := g.now(FamilyContainers)
	// Ports taken in the host's own network namespace: a published port
	// must avoid them.
	busy := map[string]bool{}
	for _, l := range g.lps {
		busy[l.v[5]] = true
	}
	containerd := g.spawn(g.nextBootPid(r, 20), "containerd", "/usr/bin/containerd", "/usr/bin/containerd", 0, 1, g.boot+6)
	var parent proc // what owns the sockets Docker publishes
	ns := "moby"
	if c.k8s {
		ns = "k8s.io"
		g.listen(containerd, "127.0.0.1", ephemeralPort(r), tcp) // the CRI streaming server, on a port picked at start
		kubelet := fmt.Sprintf("/usr/bin/kubelet --config=/etc/kubernetes/kubelet/config.json --kubeconfig=/var/lib/kubelet/kubeconfig --container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip=%s --hostname-override=%s --v=2",
			g.id.instance.PrivateIP, g.id.hostname)
		if !g.on(FamilyTokens) {
			kubelet = "/usr/bin/kubelet --config=/etc/kubernetes/kubelet/config.json --kubeconfig=/var/lib/kubelet/kubeconfig --container-runtime-endpoint=unix:///run/containerd/containerd.sock --v=2"
		}
		k := g.spawn(g.nextBootPid(r, 10), "kubelet", "/usr/bin/kubelet", kubelet, 0, 1, g.boot+9)
		g.listen(k, "::", 10250, tcp)
		g.listen(k, "127.0.0.1", 10248, tcp)
		parent = k
	} else {
		parent = g.spawn(g.nextBootPid(r, 10), "dockerd", "/usr/bin/dockerd", "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock", 0, 1, g.boot+8)
	}
	// Pick this host's containers: daemon-set-like ones in Kubernetes
	// (kube-proxy, the VPC CNI) and a weighted draw without repeats.
	n := 1 + rn.IntN(c.most)
	w := slices.Clone(c.weights)
	var picked []containerImage
	for range min(n, len(w)) {
		i := pickWeighted(rn, w)
		w[i] = 0
		picked = append(picked, containerImages[c.images[i]])
	}
	if c.k8s {
		proxy := "kube-proxy --v=2 --config=/var/lib/kube-proxy-config/config"
		if g.on(FamilyTokens) {
			proxy += " --hostname-override=" + g.id.hostname
		}
		picked = append([]containerImage{
			{"kube-proxy", "/usr/local/bin/kube-proxy", proxy, 0, []int{10249, 10256}, 0},
			{"aws-k8s-agent", "/app/aws-k8s-agent", "/app/aws-k8s-agent", 0, []int{61678, 61679}, 0},
		}, picked...)
	}
	g.trait(fmt.Sprintf("containers=%d", len(picked)))
	bridgeIP := 2
	for _, im := range picked {
		t := max(g.boot+20, g.at-int64(rn.IntN(6*86400)))
		shim := g.spawn(g.pidAt(rn, t), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
			"/usr/bin/containerd-shim-runc-v2 -namespace "+ns+" -id "+randHex(rn, 64)+" -address /run/containerd/containerd.sock", 0, 1, t)
		if c.k8s {
			g.spawn(g.childPid(rn, shim, t), "pause", "/pause", "/pause", 65535, shim.pid, t)
		}
		cmd := strings.ReplaceAll(im.cmdline, "{app}", g.s.p.app)
		main := g.spawn(g.childPid(rn, shim, t+1), comm(im.name), im.path, cmd, im.uid, shim.pid, t+1)
		for _, port := range im.listen {
			g.listen(main, "0.0.0.0", port, tcp)
		}
		if im.publish != 0 && !c.k8s {
			hostPort := im.publish
			for busy[itoa(hostPort)] {
				hostPort++
			}
			busy[itoa(hostPort)] = true
			ip := fmt.Sprintf("172.17.0.%d", bridgeIP)
			bridgeIP++
			for _, host := range []string{"0.0.0.0", "::"} {
				dp := g.spawn(g.pidAt(rn, t), "docker-proxy", "/usr/bin/docker-proxy",
					fmt.Sprintf("/usr/bin/docker-proxy -proto tcp -host-ip %s -host-port %d -container-ip %s -container-port %d", host, hostPort, ip, im.listen[0]),
					0, parent.pid, t)
				g.listen(dp, host, hostPort, tcp)
			}
		}
	}
	g.pkgModules = append(g.pkgModules, containerModules...)
}
