package analyze_test

import (
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

func TestNormalizeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/usr/sbin/sshd -D", "/usr/sbin/sshd -D"},
		{"nc -lvnp 4444", "nc -lvnp 4444"},
		{"--node i-0c011d015e5734f89 --old i-1234abcd", "--node <id> --old <id>"},
		{"--host ip-10-20-133-124.ec2.internal --x", "--host <host> --x"},
		{"--host=ip-10-0-0-1 end", "--host=<host> end"},
		{"-Dnode=29868d5d-7acf-4834-a7fd-e0f076b9448e", "-Dnode=<uuid>"},
		{"/var/log/envoy/8b755616-5e75-42ff-a8c3-935d51cc05e7.log", "/var/log/envoy/<uuid>.log"},
		{"--bind=10.20.133.124 --advertise 10.0.0.1:3000", "--bind=<ip> --advertise <ip>:3000"},
		{"--admin-bind fd00:ec2::944c", "--admin-bind <ip>"},
		{"listen [::1]:80 and :: and 127.0.0.1:9 and fe80::1", "listen [::1]:80 and :: and 127.0.0.1:9 and <ip>"},
		{"v1.2.3.4.5 and 2.3.4.5.6", "v1.2.3.4.5 and 2.3.4.5.6"},
		{"--trace.id=3ed7df9239184f8cd0a41ef1", "--trace.id=<hex>"},
		{"--worker-id 2562703713508588", "--worker-id <hex>"},
		{"--since 1795000000", "--since <num>"},
		{"--port 50234 --port 4444 --port 61000", "--port <port> --port 4444 --port 61000"},
		{"TCP-LISTEN:49524,fork", "TCP-LISTEN:<port>,fork"},
		{"/opt/shop/api-1.4.2/shop-api-1.4.2.jar", "/opt/shop/api-1.4.2/shop-api-1.4.2.jar"},
		{"kworker/0:2-events", "kworker/0:2-events"},
		{"version 1.2.3.4.5", "version 1.2.3.4.5"},
		{"deadbeefcafe", "deadbeefcafe"},
		{"12:30:45", "12:30:45"},
		{"", ""},
	} {
		if got := analyze.NormalizeText(c.in); got != c.want {
			t.Errorf("NormalizeText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0": "0.0.0.0", "::": "::", "127.0.0.1": "127.0.0.1", "127.0.0.53": "127.0.0.53", "::1": "::1",
		"10.1.2.3": "<ip>", "fd00::1": "<ip>", "203.0.113.9": "<ip>", "*": "*", "": "",
	} {
		if got := analyze.NormalizeAddress(in); got != want {
			t.Errorf("NormalizeAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeRowKeepsStructuredColumns(t *testing.T) {
	row := collect.Row{"address": "10.0.0.5", "port": "44444", "name": "i-0123abcd", "cmdline": "x --id i-0123abcd", "pid": "123456"}
	got := analyze.NormalizeRow("listening_ports", row)
	want := collect.Row{"address": "<ip>", "port": "44444", "name": "i-0123abcd", "cmdline": "x --id <id>", "pid": "123456"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("column %s = %q, want %q", k, got[k], v)
		}
	}
	if row["cmdline"] != "x --id i-0123abcd" {
		t.Error("NormalizeRow changed its input")
	}
}
