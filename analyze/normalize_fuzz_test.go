package analyze_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// FuzzNormalizeText checks the token normalization of free text (command
// lines, paths) that the cluster analyzer applies to rows a host controls:
//   - it is idempotent, and leaves text without a digit unchanged;
//   - the same text around two different per-host tokens of one kind
//     (instance IDs, UUIDs, IPv4 addresses, EC2 host names) normalizes to
//     the same string, so such tokens never set a host apart;
//   - NormalizeRow changes only the free-text columns and the address of
//     listening_ports, keeps every column, and is idempotent.
func FuzzNormalizeText(f *testing.F) {
	f.Add("/usr/bin/agent --instance i-0123456789abcdef0 --ip 10.0.1.2:8080", " --uuid ", " tail", uint64(1), uint64(2))
	f.Add("nc -lvnp 4444", "", "", uint64(7), uint64(7))
	f.Add("ip-10-0-1-2.ec2.internal ::1 fe80::1%eth0 deadbeefcafe1 123456 40000", "=", "/", uint64(3), uint64(99))
	f.Fuzz(func(t *testing.T, s, before, after string, a, b uint64) {
		n := analyze.NormalizeText(s)
		if again := analyze.NormalizeText(n); again != n {
			t.Fatalf("NormalizeText not idempotent on %q:\n once  %q\n twice %q", s, n, again)
		}
		if !strings.ContainsAny(s, "0123456789") && n != s {
			t.Fatalf("NormalizeText(%q) = %q changed text without a digit", s, n)
		}

		// Two hosts, one command line, each with its own token.
		pre, post := before+" ", " "+after
		for _, kind := range []func(uint64) string{
			func(x uint64) string { return fmt.Sprintf("i-%017x", x&0xfffffffffffffff) },
			func(x uint64) string {
				return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", x>>32, x>>16&0xffff, x&0xffff, x>>48, x&0xffffffffffff)
			},
			func(x uint64) string { return fmt.Sprintf("10.%d.%d.%d", x>>16&0xff, x>>8&0xff, x&0xff) },
			func(x uint64) string {
				return fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", x>>16&0xff, x>>8&0xff, x&0xff)
			},
		} {
			ta, tb := kind(a), kind(b)
			na, nb := analyze.NormalizeText(pre+ta+post), analyze.NormalizeText(pre+tb+post)
			if na != nb {
				t.Fatalf("tokens %q and %q in the same text normalize apart:\n %q\n %q", ta, tb, na, nb)
			}
		}

		for _, cmd := range []string{payload.Processes, payload.ListeningPorts, payload.Crontab} {
			row := collect.Row{"cmdline": s, "address": s, "name": s, "port": s, "path": before}
			out := analyze.NormalizeRow(cmd, row)
			if !slices.Equal(slices.Sorted(maps.Keys(out)), slices.Sorted(maps.Keys(row))) {
				t.Fatalf("NormalizeRow changed the columns: %q -> %q", row, out)
			}
			if out["name"] != s || out["port"] != s {
				t.Fatalf("NormalizeRow(%s) changed a structured column: %q -> %q", cmd, row, out)
			}
			if cmd != payload.ListeningPorts && out["address"] != s {
				t.Fatalf("NormalizeRow(%s) changed address outside listening_ports: %q", cmd, out["address"])
			}
			if again := analyze.NormalizeRow(cmd, out); !maps.Equal(again, out) {
				t.Fatalf("NormalizeRow(%s) not idempotent: %q -> %q -> %q", cmd, row, out, again)
			}
		}
	})
}
