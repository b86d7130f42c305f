package render

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// Defaults of HTML's options (see Option).
const (
	// DefaultHTMLMaxHosts is the number of hosts whose findings the page
	// lists: the outliers first, highest score first, then the other hosts
	// with findings. The table lists every host whatever this is.
	DefaultHTMLMaxHosts = 1000
	// DefaultHTMLMaxFindings is the number of findings listed per host.
	DefaultHTMLMaxFindings = 50
	// DefaultHTMLOpen is the number of outliers shown unfolded at the top.
	DefaultHTMLOpen = 5
	// DefaultHTMLMinMapHosts is the smallest group that gets a map: under
	// it, the table of every host fits on one screen (about 25 rows) and
	// says all a map would.
	DefaultHTMLMinMapHosts = 25
	// DefaultHTMLTableRows is the number of rows the table of every host
	// shows at first (the most telling hosts); the others are in the page,
	// found by the filter or shown by a button. Laying out the rows is
	// most of the time a browser takes to open a large report: 10,000 rows
	// more than double it (measured in TestHTMLScreenshots).
	DefaultHTMLTableRows = 100
)

// HTML writes r as one self-contained HTML page, made for triage. From the
// top:
//
//   - the verdict in one line (how many of how many hosts are outliers,
//     the analyzer, failed commands, skipped inputs) and the report's
//     notes, which say how far it can be trusted;
//   - a bar to show only the findings (and hosts) of one command and one
//     kind;
//   - the outliers, highest score first, each with its findings in plain
//     words (the kind, the command, how many hosts share the row and
//     their share, the row itself) and its failed commands; the first few
//     unfolded, the others folded to one line;
//   - folded, the other hosts with findings;
//   - a map (inline SVG) where every host is a dot of its cluster's
//     colour, outliers larger and red: pointing at a dot shows its
//     instance ID, cluster and score, clicking it goes to the host. See
//     layoutMap for where the dots go. Groups under WithMinMapHosts hosts, and
//     reports whose analyzer makes no map (no Host.Position, one
//     cluster), get none;
//   - a table of every host (instance ID, cluster, score, outlier,
//     findings and failed commands), sortable by any column and filtered
//     by what is typed;
//   - the clusters, one line each, their traits folded; the hosts with
//     failed commands and the skipped inputs, folded.
//
// Every list that is cut says how many it leaves out, and where they are
// (the JSON report). The page loads nothing: its one style sheet and one
// script are inline, and its Content-Security-Policy allows only those two
// (by their SHA-256) and no connection, so it works from file:// and
// cannot leak what it shows.
//
// Everything that came from a host (rows, instance IDs, errors, notes)
// goes through Escape, so control characters and invalid UTF-8 are shown
// as visible escapes, and then through html/template, which escapes it
// for its place in the page: no host content can add markup or script.
// The script reads the page and writes only text and classes.
func HTML(w io.Writer, r *analyze.Report, opt ...Option) error {
	if r == nil {
		return fmt.Errorf("render: HTML of a nil report: %w", diffyerr.ErrInvalidInput)
	}
	opts, err := resolve(opt, DefaultHTMLMaxFindings)
	if err != nil {
		return err
	}
	p := newPage(r, opts)
	ew := &errWriter{w: w}
	if err := htmlTemplate.Execute(ew, p); err != nil {
		if ew.err != nil {
			return ew.err
		}
		return fmt.Errorf("render: HTML: %w", err)
	}
	return nil
}

//go:embed report.tmpl
var reportTemplate string

//go:embed report.css
var reportCSS string

//go:embed report.js
var reportJS string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"plural": plural, "count": count}).Parse(reportTemplate))

// reportCSP is the page's Content-Security-Policy: nothing but its own
// style sheet and script, by hash.
var reportCSP = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; base-uri 'none'; form-action 'none'",
	cspHash(reportCSS), cspHash(reportJS))

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// The page's model; every string in it that came from the report has
// passed through Escape.
type (
	htmlPage struct {
		Title, Key, Analyzer, Created, Baseline, Verdict, Version string
		CSP                                                       string
		Style                                                     template.CSS
		Script                                                    template.JS
		Hosts, Outliers                                           int
		Notes, Skipped                                            []string
		Commands, Kinds                                           []htmlChoice
		Cards, Others                                             []htmlCard
		CardsOmitted, OthersOmitted, OthersTotal                  int
		Map                                                       *htmlMap
		NoMap                                                     string
		Rows                                                      []htmlRow
		TableRows                                                 int
		HasName, HasIP, HasTags                                   bool
		CommonTags                                                string
		Clusters                                                  []htmlCluster
		ErrorHosts                                                []htmlErrHost
		ErrorHostsTotal, ErrorHostsOmitted                        int
	}
	htmlChoice struct {
		Index int
		Name  string
	}
	htmlCard struct {
		Index, Cluster, Total, Failed, Rank int
		ID, Score, Meta, Lead, Shown        string
		Tokens                              string
		Outlier, Open, ShowCluster          bool
		Findings                            []htmlFinding
		Errors                              []string
	}
	htmlFinding struct {
		Kind, Words, Why, Row, Template, Token, KindClass string
		HostsWithTemplate                                 int
		Deciding, Context                                 bool
	}
	htmlRow struct {
		Index, Cluster, Findings, Failed int
		ID, Name, IP, Tags, Score        string
		ScoreValue, Tokens               string
		Outlier, Card, Hidden            bool
	}
	htmlCluster struct {
		ID, Size, Outliers, Color int
		Lead, Tokens              string
		Traits                    []htmlFinding
	}
	htmlErrHost struct {
		ID, Target string
		Errors     []string
	}
	htmlMap struct {
		ViewBox       string
		Width, Height int
		Hosts         int
		Discs         []htmlDisc
		Dots          []htmlDot
		Legend        []htmlDisc
	}
	htmlDisc struct {
		Cluster, Size, Color int
		X, Y, R, LabelY      string
		Font                 string
	}
	htmlDot struct {
		Index          int
		Target, Label  string
		X, Y, R, Class string
	}
)

// vocab numbers the command IDs and kinds of the findings, for the
// filters: the page names them by number, never by their text.
type vocab struct {
	cmds, kinds map[string]int
}

func newVocab(r *analyze.Report) vocab {
	cmds, kinds := map[string]bool{}, map[string]bool{}
	add := func(fs []analyze.Finding) {
		for _, f := range fs {
			cmds[f.CommandID], kinds[f.Kind] = true, true
		}
	}
	for _, h := range r.Hosts {
		add(h.Findings)
	}
	for _, c := range r.Clusters {
		add(c.Traits)
	}
	v := vocab{cmds: map[string]int{}, kinds: map[string]int{}}
	for i, c := range slices.Sorted(maps.Keys(cmds)) {
		v.cmds[c] = i
	}
	for i, k := range slices.Sorted(maps.Keys(kinds)) {
		v.kinds[k] = i
	}
	return v
}

func (v vocab) token(f analyze.Finding) string {
	return "c" + strconv.Itoa(v.cmds[f.CommandID]) + ".k" + strconv.Itoa(v.kinds[f.Kind])
}

// tokens is the set of tokens of fs, space-separated.
func (v vocab) tokens(fs []analyze.Finding) string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		if t := v.token(f); !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func choices(m map[string]int) []htmlChoice {
	out := make([]htmlChoice, 0, len(m))
	for name, i := range m {
		out = append(out, htmlChoice{Index: i, Name: Escape(name)})
	}
	slices.SortFunc(out, func(a, b htmlChoice) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// byTelling orders host indexes by score, highest first, then by ID.
func byTelling(r *analyze.Report, idx []int) {
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(r.Hosts[b].Score, r.Hosts[a].Score), strings.Compare(r.Hosts[a].InstanceID, r.Hosts[b].InstanceID))
	})
}

func newPage(r *analyze.Report, opts options) *htmlPage {
	n := len(r.Hosts)
	v := newVocab(r)
	p := &htmlPage{
		Title:    opts.Title,
		Key:      Escape(r.Key),
		Analyzer: Escape(r.Analyzer),
		Version:  Escape(opts.Version),
		CSP:      reportCSP,
		Style:    template.CSS(reportCSS),
		Script:   template.JS(reportJS),
		Hosts:    n,
		Verdict:  Verdict(r),
		Commands: choices(v.cmds),
		Kinds:    choices(v.kinds),
	}
	if len(p.Commands) == 0 {
		p.Commands, p.Kinds = nil, nil
	}
	if p.Title == "" {
		p.Title = "Diffy report: " + p.Key
	}
	if !r.CreatedAt.IsZero() {
		p.Created = r.CreatedAt.UTC().Format(time.RFC3339)
	}
	if r.BaselineInstance != "" {
		p.Baseline = Escape(r.BaselineInstance)
	}
	for _, note := range r.Notes {
		p.Notes = append(p.Notes, Escape(note))
	}
	for _, s := range r.Skipped {
		p.Skipped = append(p.Skipped, Escape(s.Source)+": "+Escape(s.Reason))
	}

	// Who gets a card: the outliers, then the others with findings.
	var outl, others []int
	for i, h := range r.Hosts {
		switch {
		case h.Outlier:
			outl = append(outl, i)
		case len(h.Findings) > 0 || h.FindingsOmitted > 0:
			others = append(others, i)
		}
	}
	p.Outliers = len(outl)
	byTelling(r, outl)
	byTelling(r, others)
	budget := opts.MaxHosts
	if budget < 0 {
		budget = n
	}
	hasCard := make([]bool, n)
	clustered := len(r.Clusters) > 0
	for k, i := range outl {
		if k >= budget {
			p.CardsOmitted = len(outl) - k
			break
		}
		hasCard[i] = true
		p.Cards = append(p.Cards, newCard(r, i, v, opts, k < opts.Open, clustered))
	}
	budget = max(0, budget-len(p.Cards))
	p.OthersTotal = len(others)
	for k, i := range others {
		if k >= budget {
			p.OthersOmitted = len(others) - k
			break
		}
		hasCard[i] = true
		p.Others = append(p.Others, newCard(r, i, v, opts, false, clustered))
	}
	target := func(i int) string {
		if hasCard[i] {
			return "h" + strconv.Itoa(i)
		}
		return "r" + strconv.Itoa(i)
	}

	// The table of every host, most telling first; tags that every host
	// has alike are said once, above it.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	byTelling(r, order)
	common := commonTags(r.Hosts)
	p.TableRows = opts.TableRows
	if p.TableRows < 0 || p.TableRows > n {
		p.TableRows = n
	}
	for k, i := range order {
		h := &r.Hosts[i]
		m := hostMeta(h, common)
		row := htmlRow{Index: i, Cluster: h.Cluster, Findings: len(h.Findings) + h.FindingsOmitted, Failed: len(h.Errors),
			ID: Escape(h.InstanceID), Name: m.name, IP: m.ip, Tags: m.tags,
			Score: formatScore(h.Score), ScoreValue: strconv.FormatFloat(h.Score, 'g', -1, 64),
			Tokens: v.tokens(h.Findings), Outlier: h.Outlier, Card: hasCard[i], Hidden: k >= p.TableRows}
		p.HasName = p.HasName || m.name != ""
		p.HasIP = p.HasIP || m.ip != ""
		p.HasTags = p.HasTags || m.tags != ""
		p.Rows = append(p.Rows, row)
	}
	p.CommonTags = formatTags(common, nil)

	// Clusters.
	outOf := map[int]int{}
	for _, i := range outl {
		outOf[r.Hosts[i].Cluster]++
	}
	for _, c := range r.Clusters {
		hc := htmlCluster{ID: c.ID, Size: c.Size, Outliers: outOf[c.ID], Color: clusterColor(c.ID), Tokens: v.tokens(c.Traits)}
		for _, t := range c.Traits {
			hc.Traits = append(hc.Traits, newFinding(t, n, v))
		}
		if len(c.Traits) > 0 {
			hc.Lead = Escape(c.Traits[0].CommandID) + " " + FormatRow(c.Traits[0].Row)
		}
		p.Clusters = append(p.Clusters, hc)
	}

	// Hosts with failed commands, most telling first.
	for _, i := range order {
		h := &r.Hosts[i]
		if len(h.Errors) == 0 {
			continue
		}
		p.ErrorHostsTotal++
		if opts.MaxHosts >= 0 && len(p.ErrorHosts) >= opts.MaxHosts {
			p.ErrorHostsOmitted++
			continue
		}
		eh := htmlErrHost{ID: Escape(h.InstanceID), Target: target(i)}
		for _, e := range h.Errors {
			eh.Errors = append(eh.Errors, Escape(e))
		}
		p.ErrorHosts = append(p.ErrorHosts, eh)
	}

	p.Map, p.NoMap = newMap(r, opts, target)
	return p
}

// hostInfo is what the target knew of a host, escaped.
type hostInfo struct{ name, ip, tags string }

// hostMeta is what the target knew of h, without the tags in common (and
// without its Name tag when it is its name).
func hostMeta(h *analyze.Host, common map[string]string) hostInfo {
	m := hostInfo{name: Escape(h.Name), ip: Escape(h.PrivateIP)}
	skip := func(k, v string) bool {
		c, ok := common[k]
		return ok && c == v || k == "Name" && v == h.Name
	}
	m.tags = formatTags(h.Tags, skip)
	return m
}

// formatTags writes tags as "k=v, k=v" sorted by key, escaped, leaving
// out those skip reports true for.
func formatTags(tags map[string]string, skip func(k, v string) bool) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if skip == nil || !skip(k, tags[k]) {
			parts = append(parts, Escape(k)+"="+Escape(tags[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// commonTags returns the tags every host has, with the same value, when
// there are at least two hosts.
func commonTags(hosts []analyze.Host) map[string]string {
	if len(hosts) < 2 {
		return nil
	}
	common := maps.Clone(hosts[0].Tags)
	for _, h := range hosts[1:] {
		for k, v := range common {
			if w, ok := h.Tags[k]; !ok || w != v {
				delete(common, k)
			}
		}
	}
	return common
}

func newCard(r *analyze.Report, i int, v vocab, opts options, open, clustered bool) htmlCard {
	h := &r.Hosts[i]
	n := len(r.Hosts)
	c := htmlCard{Index: i, Cluster: h.Cluster, Total: len(h.Findings) + h.FindingsOmitted, Failed: len(h.Errors),
		ID: Escape(h.InstanceID), Score: formatScore(h.Score), Tokens: v.tokens(h.Findings),
		Outlier: h.Outlier, Open: open, ShowCluster: clustered, Rank: h.Rank}
	m := hostMeta(h, nil)
	c.Meta = strings.Join(slices.DeleteFunc([]string{m.name, m.ip}, func(s string) bool { return s == "" }), " · ")
	fs := h.Findings
	if opts.MaxFindings >= 0 && len(fs) > opts.MaxFindings {
		fs = fs[:opts.MaxFindings]
	}
	for _, f := range fs {
		c.Findings = append(c.Findings, newFinding(f, n, v))
	}
	markContext(c.Findings)
	if len(h.Findings) > 0 {
		c.Lead = explainLine(h.Findings[0], n) + ": " + FormatRow(h.Findings[0].Row)
	}
	c.Shown = cutNote(len(fs), len(h.Findings), h.FindingsOmitted)
	for _, e := range h.Errors {
		c.Errors = append(c.Errors, Escape(e))
	}
	return c
}

// cutNote says what a list of findings leaves out: shown of kept are
// listed, and the analyzer did not keep omitted more; "" when nothing is
// left out.
func cutNote(shown, kept, omitted int) string {
	var parts []string
	if shown < kept {
		parts = append(parts, fmt.Sprintf("%d more %s not listed here (%d of %d shown): all are in the JSON report.",
			kept-shown, plural(kept-shown, "finding", "findings"), shown, kept))
	}
	if omitted > 0 {
		parts = append(parts, fmt.Sprintf("The analyzer kept %d of this host's %d findings: %d more were not kept (its MaxFindings), and are in no report.",
			kept, kept+omitted, omitted))
	}
	return strings.Join(parts, " ")
}

func newFinding(f analyze.Finding, hosts int, v vocab) htmlFinding {
	kind, words := explain(f, hosts)
	hf := htmlFinding{Kind: kind, Words: words, Why: Escape(f.Why), Row: FormatRow(f.Row), Token: v.token(f), KindClass: kindClass(f.Kind),
		Deciding: f.Deciding}
	if len(f.Template) > 0 && !maps.Equal(f.Template, f.Row) {
		hf.Template, hf.HostsWithTemplate = FormatRow(f.Template), f.HostsWithTemplate
	}
	return hf
}

// markContext marks, in a list of findings some of which decide, those
// that do not: they are listed for context.
func markContext(fs []htmlFinding) {
	if !slices.ContainsFunc(fs, func(f htmlFinding) bool { return f.Deciding }) {
		return
	}
	for i := range fs {
		fs[i].Context = !fs[i].Deciding
	}
}

// kindClass is a CSS class name for a kind: its ASCII letters, or "other".
func kindClass(kind string) string {
	switch kind {
	case analyze.KindAdded, analyze.KindRemoved, analyze.KindRare, analyze.KindTrait:
		return kind
	}
	return "other"
}

func formatScore(s float64) string { return strconv.FormatFloat(s, 'f', 2, 64) }

// clusterColor numbers the eight colours of the clusters (the page's CSS
// classes k0 to k7).
func clusterColor(id int) int {
	if id < 0 {
		id = -id
	}
	return id % 8
}

// The map's size on the page, in CSS pixels.
const (
	// mapMaxWidth is the widest the map is drawn; mapMaxHeight the
	// tallest, before it scrolls.
	mapMaxWidth, mapMaxHeight = 1120, 720
	// mapMaxScale and mapMinScale bound the pixels per slot unit: dots of
	// small groups stay dots (at most 2·0.48·18 = 17 px), and dots of
	// large groups stay big enough to point at (at least 2·0.34·6 = 4 px),
	// the map scrolling when they need more room than mapMaxWidth.
	mapMaxScale, mapMinScale = 18.0, 6.0
	// mapLabelPx is the clusters' labels' size in pixels.
	mapLabelPx = 13
)

// newMap draws the map, or says why there is none.
func newMap(r *analyze.Report, opts options, target func(int) string) (*htmlMap, string) {
	n := len(r.Hosts)
	positioned := 0
	clusters := map[int]bool{}
	for _, h := range r.Hosts {
		if len(h.Position) >= 2 {
			positioned++
		}
		clusters[h.Cluster] = true
	}
	switch {
	case n < opts.MinMapHosts:
		return nil, fmt.Sprintf("No map for %d %s: the table below shows them all.", n, plural(n, "host", "hosts"))
	case positioned == 0 && len(clusters) < 2:
		return nil, fmt.Sprintf("No map: the %s analyzer places the hosts on none. The table below shows them all.", Escape(r.Analyzer))
	}
	lay := layoutMap(r.Hosts)
	scale := math.Min(mapMaxScale, math.Min(mapMaxWidth/lay.W, mapMaxHeight/lay.H))
	scale = math.Max(scale, mapMinScale)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
	m := &htmlMap{
		ViewBox: f(lay.MinX) + " " + f(lay.MinY) + " " + f(lay.W) + " " + f(lay.H),
		Width:   int(math.Ceil(lay.W * scale)), Height: int(math.Ceil(lay.H * scale)),
		Hosts: n,
	}
	font := f(mapLabelPx / scale)
	for _, d := range lay.Discs {
		hd := htmlDisc{Cluster: d.Cluster, Size: d.Size, Color: clusterColor(d.Cluster), X: f(d.X), Y: f(d.Y), R: f(d.R),
			LabelY: f(d.Y - d.R - 0.6*mapLabelPx/scale), Font: font}
		m.Discs = append(m.Discs, hd)
		m.Legend = append(m.Legend, hd)
	}
	// Outliers last, so that they are drawn on top.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(boolInt(r.Hosts[a].Outlier), boolInt(r.Hosts[b].Outlier))
	})
	for _, i := range idx {
		h := &r.Hosts[i]
		d := htmlDot{Index: i, Target: target(i), X: f(lay.Dots[i].X), Y: f(lay.Dots[i].Y), R: f(dotRadius),
			Class: "k" + strconv.Itoa(clusterColor(h.Cluster))}
		label := fmt.Sprintf("%s · cluster %d · score %s", Escape(h.InstanceID), h.Cluster, formatScore(h.Score))
		if h.Outlier {
			d.R, d.Class = f(outlierRadius), "out"
			label += " · outlier"
		}
		d.Label = label
		m.Dots = append(m.Dots, d)
	}
	return m, ""
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Verdict sums r up in one line: how many of how many hosts are
// outliers, by which analyzer, with how many clusters, and what weakens
// it (hosts with failed commands, skipped inputs). Host content in it has
// passed through Escape.
func Verdict(r *analyze.Report) string {
	n, o := len(r.Hosts), len(r.Outliers())
	var s string
	switch {
	case n == 0:
		s = "No host was analyzed"
	case o == 0:
		s = fmt.Sprintf("No outlier among %s %s", count(n), plural(n, "host", "hosts"))
	default:
		s = fmt.Sprintf("%s of %s %s %s", count(o), count(n), plural(n, "host", "hosts"), plural(o, "is an outlier", "are outliers"))
	}
	var why []string
	if r.Analyzer != "" {
		w := Escape(r.Analyzer) + " analysis"
		if k := len(r.Clusters); k > 0 {
			w += fmt.Sprintf(", %s %s", count(k), plural(k, "cluster", "clusters"))
		}
		if r.BaselineInstance != "" {
			w += " against " + Escape(r.BaselineInstance)
		}
		why = append(why, w)
	}
	failed := 0
	for _, h := range r.Hosts {
		if len(h.Errors) > 0 {
			failed++
		}
	}
	if failed > 0 {
		why = append(why, fmt.Sprintf("%s %s had commands fail", count(failed), plural(failed, "host", "hosts")))
	}
	if k := len(r.Skipped); k > 0 {
		why = append(why, fmt.Sprintf("%s %s skipped", count(k), plural(k, "input", "inputs")))
	}
	if len(why) > 0 {
		s += " (" + strings.Join(why, "; ") + ")"
	}
	return s + "."
}
