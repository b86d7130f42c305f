package analyze

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// analysis is one cluster analysis of n hosts, step by step: learn (the
// fleet model of every command), cluster (the map and the clusters),
// decide (every host's findings, then the campaigns), and the Report's
// parts (hosts, traits, notes).
type analysis struct {
	n     int
	p     params
	r     int32
	order []*cmdRows
	cmds  []*cmdModel
	// Templates numbered across commands: the templates of command i are
	// tOff[i] to tOff[i+1]-1; tmplHosts counts the hosts of each;
	// hostTmpl lists each host's, sorted (equal lists share their array: read-only).
	tOff      []int32
	tmplHosts []int32
	hostTmpl  [][]int32
	emb       *embedding
	assign    []int
	k         int
	size      []int
	dec       []hostDecision
	cands     candidates
	camps     []campaign
	// Set by hosts: the hosts that would be outliers, and whether they
	// are too many for the decision to be trusted.
	outliers  int
	untrusted bool
}

func newAnalysis(order []*cmdRows, n int, p params) *analysis {
	return &analysis{n: n, p: p, r: p.rareCount(n), order: order, cands: candidates{index: map[[3]int64]int{}}}
}

// learn builds the model of every command (in parallel) and numbers the
// templates across commands.
func (an *analysis) learn(ctx context.Context) error {
	an.cmds = make([]*cmdModel, len(an.order))
	if err := parallel(len(an.order), func(i int) error {
		an.cmds[i] = newCmdModel(an.order[i], an.n)
		return ctx.Err()
	}); err != nil {
		return err
	}
	kinds := newHostKinds(an.cmds)
	if err := parallel(len(an.order), func(i int) error {
		an.cmds[i].judge(kinds)
		return ctx.Err()
	}); err != nil {
		return err
	}
	an.tOff = make([]int32, len(an.cmds)+1)
	for i, m := range an.cmds {
		an.tOff[i+1] = an.tOff[i] + int32(len(m.tmpls))
		for _, t := range m.tmpls {
			an.tmplHosts = append(an.tmplHosts, t.hosts)
		}
	}
	an.hostTmpl = make([][]int32, an.n)
	var tmp []int32
	var share sharer[int32] // hosts of one kind have the same templates
	for h := range an.n {
		tmp = tmp[:0]
		for i, m := range an.cmds {
			c := m.rows
			for _, f := range c.perHost[h] {
				tmp = append(tmp, an.tOff[i]+c.feats[f].tmpl)
			}
		}
		slices.Sort(tmp)
		an.hostTmpl[h] = share.share(slices.Compact(tmp))
	}
	return ctx.Err()
}

// cluster maps the hosts by the principal components of their templates
// and clusters them (see embed and clusterHosts).
func (an *analysis) cluster() {
	an.emb = embed(an.hostTmpl, an.tmplHosts, an.n)
	an.assign, an.k = clusterHosts(an.emb, an.n)
	an.size = make([]int, an.k)
	for _, c := range an.assign {
		an.size[c]++
	}
}

// decide judges every host (decideHost), then finds the campaigns among
// the candidates and adds their rows to their hosts as deciding findings.
func (an *analysis) decide(ctx context.Context) error {
	an.dec = make([]hostDecision, an.n)
	sess := newSessionModel(an.cmds)
	young := newYoungRule(sess)
	for h := range an.n {
		if h%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		an.dec[h] = decideHost(an.cmds, h, &an.cands, young)
		if sess.markSessions(h, &an.dec[h], &an.cands) {
			// What runs under a session's rows is part of it.
			for ci, m := range an.cmds {
				inheritFromParents(m, int32(ci), h, an.dec[h].finds)
			}
			sess.keepDeciding(h, an.dec[h].finds)
		}
		sess.keepListeners(h, an.dec[h].finds)
	}
	an.linkActivities()
	for _, c := range an.cands.list {
		if c.kind == 't' {
			m := an.cmds[c.cmd]
			c.topHosts = m.featHosts[m.tmpls[c.id].feats[0]]
		}
	}
	keys := func(c *candidate) string { return an.cmds[c.cmd].rows.feats[c.feat].key }
	runs := func(cmd int32) bool { return an.cmds[cmd].rows.running }
	var boot []int64
	if sess.procs >= 0 {
		boot = an.cmds[sess.procs].rows.boot
	}
	an.camps = findCampaigns(an.p, an.cands.list, keys, runs, newDeployModel(an.cmds).deployment, an.n, an.hostTmpl, an.assign, an.k, an.emb, boot)
	for ci, cp := range an.camps {
		if cp.deployment {
			continue // noted, not flagged
		}
		p := float64(len(cp.hosts)) / float64(an.n)
		for _, h := range cp.hosts {
			for ri, row := range cp.rows {
				if _, ok := slices.BinarySearch(row.hosts, h); !ok {
					continue
				}
				m := an.cmds[row.cmd]
				f := hostFeature(m, int(h), row)
				if f < 0 {
					continue
				}
				why := fmt.Sprintf("one of %d rows that sit together on the same %s hosts of %s, across commands, on hosts otherwise like the rest of their group: a likely campaign (see the notes)",
					len(cp.rows), count(len(cp.hosts)), count(an.n))
				an.dec[h].finds = append(an.dec[h].finds, pendingFinding{cmd: row.cmd, feat: f, v: row.v, deciding: true, campaign: true, under: -1,
					bits: surprise(p), cause: fmt.Sprintf("campaign %d/%d", ci, ri), why: why})
			}
		}
	}
	return ctx.Err()
}

// linkActivities makes the deciding findings of rows that are part of a
// benign minority activity (activityLinks: a canary's port of its own,
// the account a session creates) non-deciding. The activity rows of a
// host are its rows on at most minority hosts (their template, or
// themselves) that do not decide there.
func (an *analysis) linkActivities() {
	type rowKey struct{ cmd, feat int32 }
	hostsOf := map[rowKey][]int32{}
	var keys []rowKey
	hostActivity := make([][]int64, an.n)
	activityHosts := map[int64]int32{}
	deciding := map[rowKey]bool{}
	for h := range an.n {
		clear(deciding)
		for _, p := range an.dec[h].finds {
			if !p.deciding {
				continue
			}
			k := rowKey{p.cmd, p.feat}
			deciding[k] = true
			if _, ok := hostsOf[k]; !ok {
				keys = append(keys, k)
			}
			hostsOf[k] = append(hostsOf[k], int32(h))
		}
		for ci, m := range an.cmds {
			c := m.rows
			for _, f := range c.perHost[h] {
				t := c.feats[f].tmpl
				if m.tmpls[t].hosts > m.minority && m.featHosts[f] > m.minority || deciding[rowKey{int32(ci), f}] {
					continue
				}
				// The row, and its template (negative ids): a session
				// worker's row names its operator, its template does not.
				a := int64(ci)<<32 | int64(f)
				hostActivity[h] = append(hostActivity[h], a)
				activityHosts[a]++
				if m.tmpls[t].hosts <= m.minority && len(m.tmpls[t].feats) > 1 {
					ta := -(int64(ci)<<32 | int64(t)) - 1
					if n := len(hostActivity[h]); n < 2 || hostActivity[h][n-2] != ta {
						hostActivity[h] = append(hostActivity[h], ta)
						activityHosts[ta]++
					}
				}
				// The spread context that explains it (every operator's
				// "sshd: X@pts/N" row): ids past the templates'.
				if v := m.tv[t]; m.tmpls[t].hosts <= m.minority && v.kind == vExplained && v.ctx >= 0 {
					ca := int64(ci)<<32 | int64(v.ctx) | 1<<62
					if !slices.Contains(hostActivity[h], ca) {
						hostActivity[h] = append(hostActivity[h], ca)
						activityHosts[ca]++
					}
				}
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	rows := make([][]int32, len(keys))
	for i, k := range keys {
		rows[i] = hostsOf[k]
	}
	links := activityLinks(an.p, rows, hostActivity, activityHosts, an.n)
	linked := map[rowKey]string{}
	for i, v := range links {
		switch {
		case v >= 1<<62:
			m := an.cmds[(v&^(1<<62))>>32]
			cx := &m.ctxs[int32(v&0xffffffff)]
			linked[keys[i]] = displayID(m.rows.id) + " rows like " + describeRow(templateRow(m.tmpls[cx.members[0]].key, ""))
		case v >= 0:
			m := an.cmds[v>>32]
			linked[keys[i]] = rowSummary(m.rows.id, m.rows.feats[int32(v&0xffffffff)].key)
		case v != noLink:
			t := -v - 1
			m := an.cmds[t>>32]
			linked[keys[i]] = displayID(m.rows.id) + " rows like " + describeRow(templateRow(m.tmpls[int32(t&0xffffffff)].key, ""))
		}
	}
	for h := range an.n {
		for i := range an.dec[h].finds {
			p := &an.dec[h].finds[i]
			if act, ok := linked[rowKey{p.cmd, p.feat}]; ok && p.deciding {
				p.deciding, p.activity = false, act
			}
		}
	}
}

// hostFeature returns host h's local feature of a candidate row, -1 when
// it has none.
func hostFeature(m *cmdModel, h int, row *candidate) int32 {
	c := m.rows
	switch row.kind {
	case 'f':
		if _, ok := slices.BinarySearch(c.perHost[h], int32(row.id)); ok {
			return int32(row.id)
		}
		return -1
	case 't':
		for _, f := range c.perHost[h] {
			if int64(c.feats[f].tmpl) == row.id {
				return f
			}
		}
	case 'p':
		t, p := int32(row.id>>32), int32(row.id&0xffffffff)
		for _, fp := range c.parent[h] {
			if f := c.perHost[h][fp.i]; c.feats[f].tmpl == t && fp.p == p {
				return f
			}
		}
	}
	return -1
}

// hosts builds the Report's hosts, in instance ID order: each host's
// findings (at most maxF, or all when maxF ≤ 0), score (hostScore),
// cluster and position, and the decision: a host is an outlier when it
// has a deciding finding, unless more than max(r, ⌊φ·n⌋) hosts would be
// (then no host is, see notes). Hosts with a score get their Rank.
func (an *analysis) hosts(ids []string, maxF int) []Host {
	out := make([]Host, an.n)
	for h := range an.n {
		host := &out[h]
		host.InstanceID = ids[h]
		host.Cluster = an.assign[h]
		if len(an.emb.coords[h]) > 0 {
			host.Position = an.emb.position(h)
		}
		ps := an.dec[h].finds
		ps = dedupeFindings(ps)
		sortFindings(ps, an.cmds)
		host.Score = hostScore(ps)
		for _, p := range ps {
			if p.deciding {
				host.Outlier = true
				break
			}
		}
		if host.Outlier {
			an.outliers++
		}
		if maxF > 0 && len(ps) > maxF {
			host.FindingsOmitted = len(ps) - maxF
			ps = ps[:maxF]
		}
		host.Findings = make([]Finding, len(ps))
		for i, p := range ps {
			host.Findings[i] = finding(an.cmds[p.cmd], h, p, an.n)
		}
		for _, m := range an.cmds {
			host.Errors = append(host.Errors, m.rows.errs[h]...)
		}
	}
	if int32(an.outliers) > an.p.minority(an.n) {
		an.untrusted = true
		for h := range out {
			out[h].Outlier = false
			for i := range out[h].Findings {
				out[h].Findings[i].Deciding = false
			}
		}
	}
	rank(out)
	return out
}

// dedupeFindings keeps one finding per (command, feature): the deciding
// one, else the most surprising.
func dedupeFindings(ps []pendingFinding) []pendingFinding {
	slices.SortStableFunc(ps, func(a, b pendingFinding) int {
		return cmp.Or(cmp.Compare(a.cmd, b.cmd), cmp.Compare(a.feat, b.feat))
	})
	out := ps[:0]
	for _, p := range ps {
		if k := len(out) - 1; k >= 0 && out[k].cmd == p.cmd && out[k].feat == p.feat {
			if p.deciding && !out[k].deciding || p.deciding == out[k].deciding && p.bits > out[k].bits {
				out[k] = p
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// rank sets Host.Rank (rankOf of the hosts' IDs, Scores and numbers of
// Findings).
func rank(hosts []Host) {
	ids := make([]string, len(hosts))
	scores := make([]float64, len(hosts))
	kept := make([]int, len(hosts))
	for i := range hosts {
		ids[i], scores[i], kept[i] = hosts[i].InstanceID, hosts[i].Score, len(hosts[i].Findings)
	}
	for i, r := range rankOf(ids, scores, kept) {
		hosts[i].Rank = r
	}
}

// rankOf returns the Rank of each host i of ids (its Score scores[i],
// findings[i] Findings): the hosts with a score above zero are ranked by
// score (highest first), then by their number of findings, then by
// instance ID, from 1; the others have rank 0.
func rankOf(ids []string, scores []float64, findings []int) []int {
	idx := make([]int, 0, len(ids))
	for i := range ids {
		if scores[i] > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(scores[b], scores[a]), cmp.Compare(findings[b], findings[a]), strings.Compare(ids[a], ids[b]))
	})
	ranks := make([]int, len(ids))
	for r, i := range idx {
		ranks[i] = r + 1
	}
	return ranks
}
