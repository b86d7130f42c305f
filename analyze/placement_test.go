package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
)

// TestClusterPlacedWorkloads: a container runtime's shims run, on each
// of 200 hosts, two of six images, each image on its own share; an image
// on 1 host of 200 (vault's agent, its process and listener) makes no
// outlier: what a shim runs varies from host to host (buildPlacements).
// What an attacker starts still decides: a miner from /tmp under a shim
// (an executable suspect wherever it runs), the same vault agent started
// by init (whose children are the host's services, on most hosts each),
// and a shim's child under a hidden name.
func TestClusterPlacedWorkloads(t *testing.T) {
	const n = 200
	images := []struct{ name, path, cmdline, uid, port string }{
		{"fluent-bit", "/fluent-bit/bin/fluent-bit", "/fluent-bit/bin/fluent-bit -c /fluent-bit/etc/fluent-bit.conf", "0", "2020"},
		{"envoy", "/usr/local/bin/envoy", "envoy -c /etc/envoy/envoy.yaml", "101", "15001"},
		{"otelcol-contrib", "/otelcol-contrib", "/otelcol-contrib --config /etc/otelcol-contrib/config.yaml", "10001", "4317"},
		{"nginx", "/usr/sbin/nginx", "nginx: master process nginx -g daemon off;", "0", "80"},
		{"consul", "/bin/consul", "consul agent -data-dir=/consul/data", "100", "8500"},
		{"pushgateway", "/bin/pushgateway", "/bin/pushgateway", "65534", "9091"},
	}
	hosts := roleHosts(n)
	container := func(h varHost, k int, name, path, cmdline, uid, port string) {
		shim, main := fmt.Sprint(3000+10*k), fmt.Sprint(3001+10*k)
		h.add("processes",
			collect.Row{"pid": shim, "name": "containerd-shim", "path": "/usr/bin/containerd-shim-runc-v2",
				"cmdline": "/usr/bin/containerd-shim-runc-v2 -namespace moby -address /run/containerd/containerd.sock", "uid": "0", "parent": "1", "start_time": "5"},
			collect.Row{"pid": main, "name": name, "path": path, "cmdline": cmdline, "uid": uid, "parent": shim, "start_time": "6"})
		if port != "" {
			h.add("listening_ports", collect.Row{"pid": main, "name": name, "path": path, "cmdline": cmdline, "address": "0.0.0.0", "port": port, "protocol": "6"})
		}
	}
	for i, h := range hosts {
		for k, im := range []int{i % 6, (i/6 + 1 + i%6) % 6} {
			if k == 1 && im == i%6 {
				continue
			}
			x := images[im]
			container(h, k, x.name, x.path, x.cmdline, x.uid, x.port)
		}
	}
	vault := []string{"vault", "/bin/vault", "vault agent -config=/vault/config/agent.hcl", "100", "8200"}
	container(hosts[7], 5, vault[0], vault[1], vault[2], vault[3], vault[4])
	container(hosts[8], 5, "kdevtmpfsi", "/tmp/kdevtmpfsi", "/tmp/kdevtmpfsi", "0", "")
	hosts[9].add("processes", collect.Row{"pid": "7001", "name": "vault", "path": "/bin/vault", "cmdline": vault[2], "uid": "100", "parent": "1", "start_time": "6"})
	container(hosts[10], 5, "sshd", "/usr/sbin/.sshd", "/usr/sbin/.sshd -D", "0", "")
	rep := analyzeResults(t, varResults(hosts))
	if got, want := outlierIDs(rep), []string{hostID(8), hostID(9), hostID(10)}; !slices.Equal(got, want) {
		t.Fatalf("outliers %v, want %v (the workload placed on %s is none)", got, want, hostID(7))
	}
	for _, h := range rep.Hosts {
		if h.InstanceID != hostID(7) {
			continue
		}
		var cmds []string
		for _, f := range h.Findings {
			cmds = append(cmds, f.CommandID)
			if f.Deciding || !(strings.Contains(f.Why, `it runs under "containerd-shim"`) || strings.Contains(f.Why, "its process (this path and command line) is placed")) {
				t.Errorf("%s: %s %v deciding %v, why %q: want listed as placed, not deciding", h.InstanceID, f.CommandID, f.Row, f.Deciding, f.Why)
			}
		}
		if !slices.Contains(cmds, "processes") || !slices.Contains(cmds, "listening_ports") {
			t.Errorf("%s: findings of %v, want the workload's process and listener listed", h.InstanceID, cmds)
		}
	}
}
