package analyze

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// finding turns a pending finding of host h into the Finding the report
// shows: the host's own row (volatile columns dropped), its template, and
// why, in words an investigator reads.
func finding(m *cmdModel, h int, p pendingFinding, n int) Finding {
	c := m.rows
	f := Finding{CommandID: c.id, Kind: KindRare, Row: c.row(h, p.feat), HostsWithRow: int(m.featHosts[p.feat]),
		Deciding: p.deciding, Column: p.v.col}
	f.Prevalence = float64(f.HostsWithRow) / float64(n)
	t := &m.tmpls[c.feats[p.feat].tmpl]
	f.Template = templateRow(t.key, p.v.col)
	value := p.v.value
	usual := p.v.usualValue
	if p.v.col != "" && value == "" && usual == "" {
		value, _ = keyValue(c.feats[p.feat].key, p.v.col)
		if p.v.usual >= 0 {
			usual, _ = keyValue(c.feats[p.v.usual].key, p.v.col)
		}
	}
	if p.v.col != "" {
		f.Usual, f.UsualHosts = usual, int(p.v.usualHosts)
	}
	all := p.v.ctxHosts + 1
	switch {
	case p.why != "":
		f.HostsWithTemplate = int(t.hosts)
		f.Why = p.why
	case p.v.version != "" && p.v.col == "":
		f.HostsWithTemplate = int(t.hosts)
		f.Why = fmt.Sprintf("only %s of the %s hosts have a %s row like it, the hosts of another version (%s): it changed with that version, which does not decide",
			count(m.featHosts[p.feat]), count(all), displayID(c.id), p.v.version)
	case p.v.kind == vNew:
		f.HostsWithTemplate = int(t.hosts)
		if t.hosts <= 1 {
			f.Why = fmt.Sprintf("no other of the %s hosts has a %s row like it", count(all), displayID(c.id))
		} else {
			f.Why = fmt.Sprintf("only %s of the %s hosts have a %s row like it", count(t.hosts), count(all), displayID(c.id))
		}
		if !p.deciding && !p.v.decides {
			f.Why += fmt.Sprintf(", but %s of them have a %s row no other host has, so it does not decide", count(m.novel), displayID(c.id))
		}
	case p.v.col == "parent":
		f.HostsWithTemplate = int(all)
		f.Why = fmt.Sprintf("its parent process is %q on %s of the %s hosts with this process, where %s have %q",
			value, count(p.v.hosts), count(all), count(p.v.usualHosts), usual)
	default:
		f.HostsWithTemplate = int(all)
		what := "this row"
		if p.v.kind == vVariant && !p.v.replaced {
			what = "this row in another version"
		}
		if p.v.multi {
			f.Why = fmt.Sprintf("%s=%q on %s of the %s hosts with rows like it, whose values are each on most of them (such as %q, on %s)",
				p.v.col, value, count(p.v.hosts), count(all), usual, count(p.v.usualHosts))
		} else {
			f.Why = fmt.Sprintf("%s=%q on %s of the %s hosts with %s, where %s have %q", p.v.col, value, count(p.v.hosts), count(all), what,
				count(p.v.usualHosts), usual)
		}
		switch {
		case p.v.replaced:
			f.Why += "; the same binary, replaced on disk while it ran (a package upgrade, the daemon not restarted since), which does not decide"
		case p.v.version != "":
			f.Why += fmt.Sprintf("; it changed with another version (%s) on the same hosts, which does not decide", p.v.version)
		case p.v.kind == vVariant:
			f.Why += variantWhy(p.v.col)
		case !p.deciding && !p.v.decides:
			f.Why += ", but that many of them differ there too, so it does not decide"
		}
	}
	if p.young {
		f.Why += youngWhy(m.p, p.youngWhy)
	}
	if p.placed {
		f.Why += fmt.Sprintf("; it runs under %q, under which %s of the %s hosts run processes that vary from host to host (none of them on most: the workloads a container runtime's shim or a scheduler places), and from no place suspect wherever it runs, which does not decide",
			c.parentNames[p.placedBy], count(m.placing[p.placedBy]), count(n))
	}
	switch p.listenerOf {
	case 'p':
		f.Why += "; its process (this path and command line) is placed under a process whose children vary from host to host (see its finding), which does not decide"
	case 's':
		f.Why += "; its process (this path and command line) is part of an operator's session (see its finding), which does not decide"
	}
	if p.kthread {
		f.Why += "; it is a kernel thread (no executable, no command line: only the kernel makes one, in its own code or a module's, and kernel_modules judges the modules), which does not decide"
	}
	if p.login != "" {
		f.Why += loginWhy(c.id, p.login)
	}
	if len(p.hidden) > 0 {
		f.Why += fmt.Sprintf("; it adds to used_by %s, which this host does not list as loaded: a module hidden from /proc/modules",
			strings.Join(p.hidden, ", "))
	}
	if len(p.holders) > 0 {
		f.Why += fmt.Sprintf("; the modules it adds to used_by (%s) are loaded on this host: the trace of their rows, judged themselves, which does not decide",
			strings.Join(p.holders, ", "))
	}
	if len(p.demand.hosts) > 0 {
		name, _ := keyValue(c.feats[p.feat].key, "name")
		f.Why += fmt.Sprintf("; %s of size %s is loaded on %s of the %s hosts: a module of their kernel build loaded on demand, which does not decide",
			name, p.demand.size, count(len(p.demand.hosts)), count(n))
	}
	if p.activity != "" {
		f.Why += fmt.Sprintf("; it is on the hosts of %s, which does not decide: part of that activity", p.activity)
	}
	if p.under >= 0 {
		f.Why += fmt.Sprintf("; it runs under %s, which is on %s of the %s hosts and does not decide: part of that activity",
			describeRow(rowOfKey(c.feats[p.under].key)), count(m.featHosts[p.under]), count(n))
	}
	f.keep()
	return f
}

// youngWhy says what a process caught running (young) means for the
// decision: why it decides (why, youngRule's), or that it does not ("").
func youngWhy(p params, why string) string {
	if why != "" {
		return fmt.Sprintf("; it started less than %.0f minutes before the collection, but %s, which decides", p.transientAge()/60, why)
	}
	return fmt.Sprintf("; it started less than %.0f minutes before the collection, a process caught running (a job, a session), which does not decide", p.transientAge()/60)
}

// loginWhy says that a row of command cmd is part of login's session
// (markSessions), or its account (a users row).
func loginWhy(cmd, login string) string {
	if cmd == payload.Users {
		return fmt.Sprintf("; it is the account of a login session of %s running on this host (an operator's account, its processes running what the fleet runs), which does not decide", login)
	}
	return fmt.Sprintf("; it is part of a login session of %s, an operator's account of this host, running what the fleet runs, which does not decide", login)
}

// variantWhy says why a deviation in column col that is a variant does
// not decide: free text (another version in a path), or a number drifted
// as ids drift (see drifted).
func variantWhy(col string) string {
	if isFreeText(col) {
		return "; a difference in free text alone does not decide"
	}
	return "; a number drifted as hosts allocate ids in their own order (see the other values), which does not decide"
}

// count writes n with thousands separators: 1,000.
func count[T ~int | ~int32 | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// describeRow writes a row as col="value" pairs sorted by column.
func describeRow(row collect.Row) string {
	cols := make([]string, 0, len(row))
	for c := range row {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	parts := make([]string, len(cols))
	for i, c := range cols {
		v, _ := cutValue(row[c], MaxValueBytes, "", c)
		parts[i] = fmt.Sprintf("%s=%q", c, v)
	}
	return strings.Join(parts, " ")
}
