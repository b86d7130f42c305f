package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Traits of a cluster: rows most of it has and the rest mostly lacks.
const (
	traitIn  = 0.8 // the least share of the cluster with the row
	traitOut = 0.5 // the most share of the other hosts with it
)

// traits describes each cluster by the templates most of it has (traitIn)
// and the rest of the fleet mostly does not (traitOut), most telling
// first (the largest difference of the shares), as findings of kind
// KindTrait with the normalized row of the template's most common
// feature.
func (an *analysis) traits() []Cluster {
	out := make([]Cluster, an.k)
	total := len(an.tmplHosts)
	count := make([][]int32, an.k)
	for c := range count {
		count[c] = make([]int32, total)
	}
	for h, ts := range an.hostTmpl {
		cc := count[an.assign[h]]
		for _, t := range ts {
			cc[t]++
		}
	}
	for c := range an.k {
		out[c] = Cluster{ID: c, Size: an.size[c]}
		type trait struct {
			g    int32
			lift float64
		}
		var ts []trait
		rest := an.n - an.size[c]
		for g, in := range count[c] {
			if in == 0 {
				continue
			}
			pIn := float64(in) / float64(an.size[c])
			pOut := 0.0
			if rest > 0 {
				pOut = float64(an.tmplHosts[g]-in) / float64(rest)
			}
			if pIn >= traitIn && pOut <= traitOut && (an.k > 1 || pIn < 1) {
				ts = append(ts, trait{int32(g), pIn - pOut})
			}
		}
		slices.SortFunc(ts, func(x, y trait) int {
			return cmp.Or(cmp.Compare(y.lift, x.lift), strings.Compare(an.tmplKey(x.g), an.tmplKey(y.g)))
		})
		for _, t := range ts[:min(len(ts), DefaultMaxTraits)] {
			m, lt := an.localTmpl(t.g)
			f := m.tmpls[lt].feats[0]
			tr := Finding{
				CommandID: m.rows.id, Kind: KindTrait, Row: rowOfKey(m.rows.feats[f].key),
				HostsWithRow: int(an.tmplHosts[t.g]), Prevalence: float64(an.tmplHosts[t.g]) / float64(an.n),
			}
			tr.keep()
			out[c].Traits = append(out[c].Traits, tr)
		}
	}
	return out
}

// localTmpl returns the command model and local template of global
// template g.
func (an *analysis) localTmpl(g int32) (*cmdModel, int32) {
	i, _ := slices.BinarySearch(an.tOff, g+1)
	return an.cmds[i-1], g - an.tOff[i-1]
}

// tmplKey returns the key of global template g, for ordering.
func (an *analysis) tmplKey(g int32) string {
	m, t := an.localTmpl(g)
	return m.rows.id + "\x00" + m.tmpls[t].key
}

// notes says how far the report can be trusted, the most important
// first: that the decision is weak at this size (n < 1/ρ: a row on one
// host is rare by definition), that it is not to be trusted (more than
// φ·n outliers: none flagged, hosts ranked instead), the likely
// campaigns and the deployments (findCampaigns test 7), then what the
// analysis did and what it could not analyze.
func (an *analysis) notes(rep *Report, merged int) []string {
	var notes []string
	n := an.n
	if n > 1 && float64(n) < 1/an.p.rho {
		notes = append(notes, fmt.Sprintf("the decision is weak at this size: with %d hosts (fewer than %.0f), a row on one host is rare by definition, so a host with a benign difference of its own (a canary version, a job caught running, an instance of another size) is flagged like a compromised one; read the hosts in rank order (their findings say why), the most suspicious first",
			n, math.Round(1/an.p.rho)))
	}
	if an.untrusted {
		notes = append(notes, fmt.Sprintf("the decision is not to be trusted: %d of the %d hosts (more than %s) would be outliers, so the group may hold hosts of different kinds, variation this analysis did not learn, or a compromise spread wide; no host is flagged, and the hosts are ranked by score instead (rank 1 the most suspicious)",
			an.outliers, n, an.p.minorityWords()))
	}
	var deployments []string // after every campaign
	for _, cp := range an.camps {
		var rows []string
		for _, row := range cp.rows {
			m := an.cmds[row.cmd]
			rows = append(rows, fmt.Sprintf("%s on %s hosts", rowSummary(m.rows.id, m.rows.feats[row.feat].key), count(len(row.hosts))))
		}
		if cp.deployment {
			deployments = append(deployments, fmt.Sprintf("a deployment on %s of the %s hosts, not flagged: %d rows sit together on the same hosts as a campaign's would, but each is what a service installed by configuration management or a package leaves (a process or listener run from the package trees or the fleet's own directories, a kernel module, a system user without a login shell or that its processes run as, a package's cron.d line) and none persists or lets someone in (no user's crontab line or watchdog, authorized key, login account or file where anyone can write); if the service is not yours, read its hosts: %s",
				count(len(cp.hosts)), count(n), len(cp.rows), listSome(rows, 5)))
			continue
		}
		flagged := "they are flagged as outliers"
		if an.untrusted {
			flagged = "they would be flagged"
		}
		notes = append(notes, fmt.Sprintf("likely campaign on %s of the %s hosts: %d rows that no role or spread variation explains sit together on the same hosts, across commands, and those hosts otherwise look like the rest of their group (benign rows that come and go are independent of each other; roles and versions also lack rows the others have); %s: %s",
			count(len(cp.hosts)), count(n), len(cp.rows), flagged, listSome(rows, 5)))
	}
	notes = append(notes, deployments...)
	outliers := len(rep.Outliers())
	notes = append(notes, fmt.Sprintf("cluster analysis of %d hosts: %d clusters, %d outliers; a row decides when at most %d of the %d hosts (%g%%, at least one) carry its template, or its value where one value dominates, and no more than %s of the hosts show such rows there (see the findings' why)",
		n, an.k, outliers, an.r, n, 100*an.p.rho, an.p.minorityWords()))
	small := 0
	for _, s := range an.size {
		if s < 5 {
			small++
		}
	}
	if small > 0 && n >= 10 {
		notes = append(notes, fmt.Sprintf("%d clusters have fewer than 5 hosts: little sets them apart", small))
	}
	withErrors := 0
	for _, h := range rep.Hosts {
		if len(h.Errors) > 0 {
			withErrors++
		}
	}
	if withErrors > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d hosts have commands that did not succeed (see their errors); only their successful commands were analyzed", withErrors, n))
	}
	if merged > 0 {
		notes = append(notes, fmt.Sprintf("%d (host, command) pairs had several Results collected at the same time; neither being later, their rows were merged", merged))
	}
	if an.emb.dims == 0 && n > 1 {
		notes = append(notes, "the hosts share all their common rows: one cluster")
	}
	return notes
}
