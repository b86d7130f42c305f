package awsfake

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// Host answers the standard pack's queries for one simulated instance.
//
// Output returns what `osqueryi --json` prints on the host for the query of
// the standard-pack command commandID (payload.ListeningPorts, ...), and
// false when the host does not know the command. It is called concurrently
// and must not change a slice it has returned. *fleet.Host (package
// diffytest/fleet) satisfies it; Rows is a Host from fixed rows.
type Host interface {
	Output(commandID string) ([]byte, bool)
}

// QueryHost is a Host that also answers queries outside the standard pack
// (a payload's own osquery commands). Query returns what `osqueryi --json
// SQL` prints, or false when the host cannot answer sql, which then fails
// as an unknown query. The fake asks it only for SQL that is not one of
// the standard pack's queries.
type QueryHost interface {
	Host
	Query(sql string) ([]byte, bool)
}

// Rows is a Host from fixed rows per command ID. A command without an entry
// is unknown to the host.
type Rows map[string][]collect.Row

// Output returns the rows of commandID as `osqueryi --json` prints them:
// an array with one object per line, keys sorted.
func (r Rows) Output(commandID string) ([]byte, bool) {
	rows, ok := r[commandID]
	if !ok {
		return nil, false
	}
	return OsqueryJSON(rows), true
}

// OsqueryJSON formats rows as `osqueryi --json` prints them: "[\n", one
// object per line (keys sorted), each but the last followed by a comma,
// "]\n". An empty result is "[\n\n]\n", as osqueryi prints it. Strings are
// escaped as encoding/json escapes them, invalid UTF-8 becoming U+FFFD.
func OsqueryJSON(rows []collect.Row) []byte {
	size := 8
	for _, row := range rows {
		for k, v := range row {
			size += len(k) + len(v) + 6
		}
		size += 6
	}
	b := make([]byte, 0, size)
	b = append(b, "[\n"...)
	var keys []string
	for i, row := range rows {
		keys = keys[:0]
		for k := range row {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, "  {"...)
		for j, k := range keys {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, row[k])
		}
		b = append(b, '}')
		if i < len(rows)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	if len(rows) == 0 {
		b = append(b, '\n')
	}
	return append(b, "]\n"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Instance is one simulated EC2 instance.
type Instance struct {
	// Instance is what EC2 reports: ID (required, unique), Name (also the
	// Name tag when Tags has none), Tags, PrivateIP, ImageID and
	// LaunchTime. Empty Region and Account take the server's.
	Instance target.Instance
	// Host answers the standard pack's queries. Nil: every query of the
	// pack prints no rows.
	Host Host
	// Unmanaged: EC2 lists the instance but SSM does not manage it
	// (SendCommand naming it fails with InvalidInstanceId).
	Unmanaged bool
	// NoOsquery: osqueryi is not installed on the instance.
	NoOsquery bool
	// Without lists tools of Tools that are not installed on the
	// instance either (say "gzip", "base64" or "curl"): the scripts
	// find no such command.
	Without []string
	// InstanceType is the EC2 instance type; "m5.large" when empty.
	InstanceType string
	// AvailabilityZone is the placement; the server's region plus "a"
	// when empty.
	AvailabilityZone string
}

// Fault names a per-instance fault of Faults. Server.Selected lists the
// instances a fault applies to.
type Fault string

// The per-instance faults.
const (
	// FaultFailing: every command on the instance prints a message on
	// stderr and exits 1 (Status Failed).
	FaultFailing Fault = "failing"
	// FaultUndeliverable: commands never reach the instance (Status
	// Failed, StatusDetails Undeliverable, ResponseCode -1).
	FaultUndeliverable Fault = "undeliverable"
	// FaultTerminating: the instance is terminated half-way through the
	// first command it runs (Status Failed, StatusDetails Terminated);
	// EC2 then reports it terminated and SSM no longer manages it.
	FaultTerminating Fault = "terminating"
	// FaultBigOutput: every osqueryi output of the instance is padded with
	// JSON whitespace to Faults.BigOutputBytes, over the API's 24,000
	// characters; the rows are unchanged. The whitespace is pseudo-random,
	// so that gzip keeps about a quarter of it.
	FaultBigOutput Fault = "big-output"
	// FaultNoOsquery: osqueryi is not installed.
	FaultNoOsquery Fault = "no-osquery"
	// FaultUnmanaged: EC2 lists the instance, SSM does not manage it.
	FaultUnmanaged Fault = "unmanaged"
	// FaultVanishing: the instance is terminated right after the first
	// DescribeInstances that lists it (it disappears between targeting and
	// collection).
	FaultVanishing Fault = "vanishing"
	// FaultAgentLost: SSM stops managing the instance (its agent goes
	// away) right after the first DescribeInstances that lists it; EC2
	// still reports it running. SendCommand naming it then fails with
	// InvalidInstanceId; an invocation sent before, not yet started, ends
	// Failed/Undeliverable.
	FaultAgentLost Fault = "agent-lost"
	// FaultHanging: commands never finish; they time out after their
	// executionTimeout (Status TimedOut, StatusDetails ExecutionTimedOut).
	FaultHanging Fault = "hanging"
	// FaultMissingS3Output: the command succeeds but its S3 output
	// objects are not written.
	FaultMissingS3Output Fault = "missing-s3-output"
)

var allFaults = []Fault{FaultFailing, FaultUndeliverable, FaultTerminating, FaultBigOutput, FaultNoOsquery,
	FaultUnmanaged, FaultVanishing, FaultAgentLost, FaultHanging, FaultMissingS3Output}

// Faults selects instances for each per-instance fault. Each fraction (0 to
// 1) picks instances deterministically from Seed, the fault's name and the
// instance ID, independently of the other faults and of the order of
// instances. Server.Selected tells which instances were picked.
type Faults struct {
	// Seed drives the selection.
	Seed int64
	// Fractions of instances with each fault.
	Failing, Undeliverable, Terminating, BigOutput, NoOsquery, Unmanaged,
	Vanishing, AgentLost, Hanging, MissingS3Output float64
	// BigOutputBytes is the size FaultBigOutput pads each osqueryi
	// output to; default 64 KiB.
	BigOutputBytes int
}

func (f Faults) fraction(k Fault) float64 {
	switch k {
	case FaultFailing:
		return f.Failing
	case FaultUndeliverable:
		return f.Undeliverable
	case FaultTerminating:
		return f.Terminating
	case FaultBigOutput:
		return f.BigOutput
	case FaultNoOsquery:
		return f.NoOsquery
	case FaultUnmanaged:
		return f.Unmanaged
	case FaultVanishing:
		return f.Vanishing
	case FaultAgentLost:
		return f.AgentLost
	case FaultHanging:
		return f.Hanging
	case FaultMissingS3Output:
		return f.MissingS3Output
	}
	return 0
}

// picks reports whether the fault applies to the instance id.
func (f Faults) picks(k Fault, id string) bool {
	frac := f.fraction(k)
	if frac <= 0 {
		return false
	}
	if frac >= 1 {
		return true
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", f.Seed, k, id)
	// FNV's high bits mix poorly for keys that differ at the end; finish
	// with splitmix64's mixer.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/float64(1<<53) < frac
}

// instance is the fake's state of one instance.
type instance struct {
	Instance
	faults map[Fault]bool
	// terminatedAt is when the instance was (or will be) terminated, in
	// Unix nanoseconds; 0 while it runs.
	terminatedAt atomic.Int64
	// agentLostAt is when SSM stopped managing the instance, in Unix
	// nanoseconds; 0 while it does.
	agentLostAt atomic.Int64
	bigOutput   int
	// fs is the instance's file system, which its scripts see and
	// change.
	fs          *hostFS
	reservation string
	index       int
}

func (in *instance) has(k Fault) bool { return in.faults[k] }

// terminated reports whether the instance is terminated at t.
func (in *instance) terminated(t time.Time) bool {
	at := in.terminatedAt.Load()
	return at != 0 && t.UnixNano() >= at
}

// terminate marks the instance terminated at t unless it already is
// terminated earlier.
func (in *instance) terminate(t time.Time) {
	n := t.UnixNano()
	for {
		old := in.terminatedAt.Load()
		if old != 0 && old <= n {
			return
		}
		if in.terminatedAt.CompareAndSwap(old, n) {
			return
		}
	}
}

// agentLost reports whether SSM lost the instance's agent at t.
func (in *instance) agentLost(t time.Time) bool {
	at := in.agentLostAt.Load()
	return at != 0 && t.UnixNano() >= at
}

// loseAgent makes SSM stop managing the instance from t on, unless it
// already did.
func (in *instance) loseAgent(t time.Time) {
	in.agentLostAt.CompareAndSwap(0, t.UnixNano())
}

// managed reports whether SSM manages the instance at t.
func (in *instance) managed(t time.Time) bool {
	return !in.Unmanaged && !in.has(FaultUnmanaged) && !in.terminated(t) && !in.agentLost(t)
}

// hostRun is an instance seen by the shell of one command.
type hostRun struct{ in *instance }

func (h hostRun) files() *hostFS { return h.in.fs }

func (h hostRun) osquery(sql string) ([]byte, string, int) {
	id, ok := standardQueryID(sql)
	if !ok {
		if qh, is := h.in.Host.(QueryHost); is {
			if out, known := qh.Query(sql); known {
				return h.pad(out), "", 0
			}
		}
		return nil, fmt.Sprintf("Error: awsfake simulates only the standard pack's queries (and a QueryHost's); not: %s\n", clipText(sql, 200)), 1
	}
	var out []byte
	if h.in.Host != nil {
		o, known := h.in.Host.Output(id)
		if !known {
			return nil, fmt.Sprintf("Error: no such table for query %s on this host\n", id), 1
		}
		out = o
	} else {
		out = OsqueryJSON(nil)
	}
	return h.pad(out), "", 0
}

// pad pads output of a FaultBigOutput instance.
func (h hostRun) pad(out []byte) []byte {
	if h.in.bigOutput > 0 && len(out) < h.in.bigOutput {
		return padJSON(out, h.in.bigOutput, h.in.Instance.Instance.ID)
	}
	return out
}

// padJSON inserts JSON whitespace after the opening bracket of an array so
// that it is n bytes long; the value is unchanged. The whitespace is drawn
// from the four JSON white space characters, pseudo-randomly from seed, so
// that it does not compress away: gzip keeps about a quarter of it.
func padJSON(out []byte, n int, seed string) []byte {
	i := bytes.IndexByte(out, '[')
	if i < 0 {
		return out
	}
	h := fnv.New64a()
	h.Write([]byte(seed))
	x := h.Sum64() | 1
	padded := make([]byte, 0, n)
	padded = append(padded, out[:i+1]...)
	pad := n - len(out)
	const ws = " \t\n\r"
	for k := 0; k < pad; k++ {
		if k%32 == 0 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		padded = append(padded, ws[x>>(2*(k%32))&3])
	}
	return append(padded, out[i+1:]...)
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// standardSQL maps the normalized SQL of every standard-pack query to its
// command ID.
var standardSQL = func() map[string]string {
	m := make(map[string]string)
	for _, c := range payload.StandardPack() {
		m[normalizeSQL(c.Query)] = c.ID
	}
	return m
}()

// standardQueryID returns the command ID of the standard-pack query sql,
// compared after normalizeSQL.
func standardQueryID(sql string) (string, bool) {
	id, ok := standardSQL[normalizeSQL(sql)]
	return id, ok
}

// normalizeSQL lower-cases sql outside string literals, collapses runs of
// white space to one space, drops spaces next to punctuation and trailing
// semicolons, so that formatting differences do not matter.
func normalizeSQL(sql string) string {
	var b strings.Builder
	inQuote := byte(0)
	space := false
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		if inQuote != 0 {
			b.WriteByte(c)
			if c == inQuote {
				inQuote = 0
			}
			continue
		}
		switch {
		case c == '\'' || c == '"':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			inQuote = c
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
		case strings.IndexByte("(),;=<>*.", c) >= 0:
			space = false
			b.WriteByte(c)
		default:
			if space && b.Len() > 0 {
				last := b.String()[b.Len()-1]
				if strings.IndexByte("(),;=<>*.", last) < 0 {
					b.WriteByte(' ')
				}
			}
			space = false
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
	}
	return strings.TrimRight(b.String(), "; ")
}

// sortedIDs returns the keys of m sorted.
func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
