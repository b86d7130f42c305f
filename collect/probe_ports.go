package collect

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
)

// socketTable is one of the kernel's socket tables in /proc/net.
type socketTable struct {
	file     string // host path
	protocol string // IANA protocol number, as osquery prints it
	v6       bool
}

// socketTables are read in this order; so are the rows.
var socketTables = []socketTable{
	{"/proc/net/tcp", "6", false},
	{"/proc/net/tcp6", "6", true},
	{"/proc/net/udp", "17", false},
	{"/proc/net/udp6", "17", true},
}

// tcpListen is the TCP_LISTEN state as /proc/net/tcp prints it.
const tcpListen = "0A"

// listener is one listening socket of a /proc/net table.
type listener struct {
	address, port, protocol string
	inode                   uint64
}

// probeListeningPorts answers the listening_ports query: address, port,
// protocol, name, path, cmdline, pid of every listening socket, TCP (state
// LISTEN) and UDP (no remote port), IPv4 and IPv6, from /proc/net. Each
// socket's process is found by its inode among the /proc/PID/fd links; a
// socket held by several processes is reported once, with the lowest pid; a
// socket no readable process holds has pid "-1" and empty name, path and
// cmdline, as osquery's LEFT JOIN gives. Addresses are printed as
// inet_ntop does ("127.0.0.1", "::", "::ffff:10.0.0.1"). Unix domain
// sockets are not reported.
func probeListeningPorts(ctx context.Context, env *probeEnv) ([]Row, error) {
	var ls []listener
	for _, t := range socketTables {
		f, err := os.Open(env.path(t.file))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // no tcp6 without IPv6
				env.note("%s: %v; skipped", t.file, unwrapPath(err))
			}
			continue
		}
		got, err := parseSocketTable(f, t)
		f.Close()
		if err != nil {
			return nil, err
		}
		ls = append(ls, got...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	want := make(map[uint64]int, len(ls))
	for _, l := range ls {
		want[l.inode] = -1
	}
	if err := env.socketOwners(ctx, want); err != nil {
		return nil, err
	}
	btime := int64(-1) // start times are not asked for here
	procs := make(map[int]procInfo)
	rows := make([]Row, 0, len(ls))
	for _, l := range ls {
		row := Row{"address": l.address, "port": l.port, "protocol": l.protocol, "pid": "-1", "name": "", "path": "", "cmdline": ""}
		if pid := want[l.inode]; pid > 0 {
			row["pid"] = strconv.Itoa(pid)
			p, ok := procs[pid]
			if !ok {
				p, _ = env.proc(pid, btime) // gone: empty columns, as the LEFT JOIN gives
				procs[pid] = p
			}
			row["name"], row["path"], row["cmdline"] = p.name, p.path, p.cmdline
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// parseSocketTable reads the listening sockets of one /proc/net table.
// Lines are "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...",
// addresses "HEX:PORT" with the address in 32-bit words of host byte order.
func parseSocketTable(r io.Reader, t socketTable) ([]listener, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var out []listener
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if n == 1 || len(f) == 0 {
			continue // header
		}
		if len(f) < 10 {
			return nil, fmt.Errorf("%s line %d: %d fields, want at least 10", t.file, n, len(f))
		}
		addr, port, err := parseHexAddr(f[1], t.v6)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: local address %q: %w", t.file, n, f[1], err)
		}
		_, rport, err := parseHexAddr(f[2], t.v6)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: remote address %q: %w", t.file, n, f[2], err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: inode %q: %w", t.file, n, f[9], err)
		}
		if t.protocol == "6" && f[3] != tcpListen || t.protocol == "17" && rport != 0 {
			continue
		}
		out = append(out, listener{address: addr, port: strconv.Itoa(int(port)), protocol: t.protocol, inode: inode})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", t.file, err)
	}
	return out, nil
}

// parseHexAddr parses "0100007F:1F90" (IPv4) or a 32-hex-digit IPv6
// address and a port, as /proc/net prints them on this machine.
func parseHexAddr(s string, v6 bool) (string, uint16, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, errors.New("no ':' before the port")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port: %w", err)
	}
	want := 8
	if v6 {
		want = 32
	}
	if len(h) != want {
		return "", 0, fmt.Errorf("address has %d hex digits, want %d", len(h), want)
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return "", 0, fmt.Errorf("address: %w", err)
	}
	// Each 32-bit word was printed as a number in host byte order; its
	// bytes in memory are the address's bytes in network order.
	var b [16]byte
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	if !v6 {
		return netip.AddrFrom4([4]byte(b[:4])).String(), uint16(port), nil
	}
	return formatIPv6(b), uint16(port), nil
}

// formatIPv6 prints a as glibc's inet_ntop does: RFC 5952's compressed
// form, with the last 32 bits dotted for IPv4-mapped (::ffff:a.b.c.d) and
// IPv4-compatible (::a.b.c.d, but not :: or ::1-style ::x) addresses.
func formatIPv6(a [16]byte) string {
	ip := netip.AddrFrom16(a)
	zero := [10]byte{}
	if [10]byte(a[:10]) == zero && a[10] == 0 && a[11] == 0 && (a[12] != 0 || a[13] != 0) {
		return "::" + netip.AddrFrom4([4]byte(a[12:])).String()
	}
	return ip.String() // netip keeps ::ffff:a.b.c.d dotted, like inet_ntop
}

// socketOwners sets want[inode] to the lowest pid holding that socket, for
// the inodes of want, by reading every /proc/PID/fd link "socket:[INODE]".
// Processes whose fds cannot be read are skipped, as osquery does.
func (e *probeEnv) socketOwners(ctx context.Context, want map[uint64]int) error {
	if len(want) == 0 {
		return nil
	}
	pids, err := e.pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := e.path(path.Join("/proc", strconv.Itoa(pid), "fd"))
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, ent := range ents {
			link, err := os.Readlink(dir + string(os.PathSeparator) + ent.Name())
			if err != nil {
				continue
			}
			s, ok := strings.CutPrefix(link, "socket:[")
			if !ok || !strings.HasSuffix(s, "]") {
				continue
			}
			inode, err := strconv.ParseUint(s[:len(s)-1], 10, 64)
			if err != nil {
				continue
			}
			if cur, ok := want[inode]; ok && cur == -1 {
				want[inode] = pid // pids ascend: the first is the lowest
			}
		}
	}
	return nil
}
