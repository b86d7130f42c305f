package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/analyze"
)

// percent writes a share in [0, 1] as a percentage for people: two
// significant digits under 10% ("0.01%", "0.5%", "2.5%"), whole numbers
// from there ("98%"), never rounded to 0% or 100% unless it is.
func percent(p float64) string {
	v := 100 * p
	var s string
	switch {
	case v <= 0:
		return "0%"
	case v >= 100:
		return "100%"
	case v < 10:
		s = strconv.FormatFloat(v, 'g', 2, 64)
	case v > 99 && v < 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
		if s == "100.0" {
			s = "99.9"
		}
	default:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	if strings.Contains(s, "e") { // far under 0.01%
		s = strconv.FormatFloat(v, 'f', 4, 64)
	}
	return s + "%"
}

// count writes n for people, with commas between thousands: "10,000".
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// share says how many of the hosts analyzed have a finding's row:
// "1 of 200 hosts (0.5%)". hosts is the number of hosts analyzed.
func share(f analyze.Finding, hosts int) string {
	return fmt.Sprintf("%s of %s %s (%s)", count(f.HostsWithRow), count(hosts), plural(hosts, "host", "hosts"), percent(f.Prevalence))
}

// explain says in plain words what a finding means, without its row: its
// kind, then the rest of the sentence, "rare" and "listening_ports row:
// 1 of 200 hosts (0.5%) has it". hosts is the number of hosts analyzed.
// Both pass the command ID and kind through Escape.
func explain(f analyze.Finding, hosts int) (kind, rest string) {
	cmd, sh := Escape(f.CommandID), share(f, hosts)
	verb := "have it"
	if f.HostsWithRow == 1 {
		verb = "has it"
	}
	switch f.Kind {
	case analyze.KindAdded:
		return f.Kind, fmt.Sprintf("%s row, not in the baseline: %s %s", cmd, sh, verb)
	case analyze.KindRemoved:
		return f.Kind, fmt.Sprintf("%s row, in the baseline and missing here: %s %s", cmd, sh, verb)
	case analyze.KindTrait:
		return f.Kind, fmt.Sprintf("%s row most of the cluster has: %s %s", cmd, sh, verb)
	}
	return Escape(f.Kind), fmt.Sprintf("%s row: %s %s", cmd, sh, verb)
}

// explainLine is explain's two parts as one line.
func explainLine(f analyze.Finding, hosts int) string {
	k, rest := explain(f, hosts)
	return k + " " + rest
}
