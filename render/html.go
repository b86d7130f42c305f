package render

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// Defaults of HTML's options (see Option).
const (
	// DefaultHTMLMaxOutliers is the number of outliers whose findings the
	// page lists, highest score first.
	DefaultHTMLMaxOutliers = 500
	// DefaultHTMLMaxPoints is the number of hosts drawn on the map: every
	// outlier, and the others evenly sampled.
	DefaultHTMLMaxPoints = 20000
	// DefaultHTMLMapWidth and DefaultHTMLMapHeight are the map's size in
	// points (1/72 inch).
	DefaultHTMLMapWidth  = 720
	DefaultHTMLMapHeight = 480
)

// HTML writes r as one self-contained HTML page: no script, no style sheet,
// font or image from the network. It holds the report's notes, a 2-D map
// of the hosts (an SVG image inlined as a data URI, drawn with
// gonum.org/v1/plot) with each cluster in its own colour and the outliers
// on red squares, the clusters with their traits, and each outlier with its
// findings, highest score first.
//
// The map places hosts at their Host.Position (the cluster analyzer's
// first two principal coordinates). When the report has none (a baseline
// report), HTML computes them itself: a principal component analysis
// (gonum stat.PC) of the hosts × findings matrix, on the 64 rows most
// often found; without findings, hosts are placed by score.
//
// Everything that came from a host (rows, instance IDs, errors, notes)
// goes through Escape, so control characters and invalid UTF-8 are shown
// as visible escapes, and then through html/template, which escapes it
// for HTML: no host content can add markup or script to the page.
func HTML(w io.Writer, r *analyze.Report, opt ...Option) error {
	if r == nil {
		return fmt.Errorf("render: HTML of a nil report: %w", diffyerr.ErrInvalidInput)
	}
	opts, err := resolve(opt)
	if err != nil {
		return err
	}
	svg, err := hostMap(r, opts)
	if err != nil {
		return fmt.Errorf("render: the map: %w", err)
	}
	page := htmlPage{
		Title:     opts.Title,
		Key:       Escape(r.Key),
		Analyzer:  Escape(r.Analyzer),
		CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339),
		Hosts:     len(r.Hosts),
		Map:       template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg)),
	}
	if page.Title == "" {
		page.Title = "Diffy report: " + page.Key
	}
	if r.BaselineInstance != "" {
		page.Baseline = Escape(r.BaselineInstance)
	}
	for _, n := range r.Notes {
		page.Notes = append(page.Notes, Escape(n))
	}
	for _, s := range r.Skipped {
		page.Skipped = append(page.Skipped, Escape(s.Source)+": "+Escape(s.Reason))
	}
	for _, c := range r.Clusters {
		hc := htmlCluster{ID: c.ID, Size: c.Size, Color: cssColor(clusterColor(c.ID))}
		for _, t := range c.Traits {
			hc.Traits = append(hc.Traits, htmlFinding(t))
		}
		page.Clusters = append(page.Clusters, hc)
	}
	outliers := r.Outliers()
	page.Outliers = len(outliers)
	slices.SortStableFunc(outliers, func(a, b analyze.Host) int { return cmp.Compare(b.Score, a.Score) })
	if opts.MaxOutliers >= 0 && len(outliers) > opts.MaxOutliers {
		page.Omitted = len(outliers) - opts.MaxOutliers
		outliers = outliers[:opts.MaxOutliers]
	}
	for _, h := range outliers {
		oh := htmlHost{ID: Escape(h.InstanceID), Cluster: h.Cluster, Score: fmt.Sprintf("%.2f", h.Score)}
		fs := h.Findings
		if opts.MaxFindings >= 0 && len(fs) > opts.MaxFindings {
			oh.More = len(fs) - opts.MaxFindings
			fs = fs[:opts.MaxFindings]
		}
		for _, f := range fs {
			oh.Findings = append(oh.Findings, htmlFinding(f))
		}
		for _, e := range h.Errors {
			oh.Errors = append(oh.Errors, Escape(e))
		}
		page.OutlierHosts = append(page.OutlierHosts, oh)
	}
	for _, h := range r.Hosts {
		if len(h.Errors) > 0 && !h.Outlier {
			page.ErrorHosts = append(page.ErrorHosts, Escape(h.InstanceID)+": "+Escape(strings.Join(h.Errors, "; ")))
		}
	}
	return htmlTemplate.Execute(w, page)
}

type htmlPage struct {
	Title, Key, Analyzer, CreatedAt, Baseline string
	Hosts, Outliers, Omitted                  int
	Map                                       template.URL
	Notes, Skipped, ErrorHosts                []string
	Clusters                                  []htmlCluster
	OutlierHosts                              []htmlHost
}

type htmlCluster struct {
	ID, Size int
	Color    template.CSS
	Traits   []htmlRow
}

type htmlHost struct {
	ID, Score string
	Cluster   int
	More      int
	Findings  []htmlRow
	Errors    []string
}

type htmlRow struct {
	Command, Kind, Row string
	Hosts              int
	Prevalence         string
}

func htmlFinding(f analyze.Finding) htmlRow {
	return htmlRow{Command: Escape(f.CommandID), Kind: Escape(f.Kind), Row: FormatRow(f.Row),
		Hosts: f.HostsWithRow, Prevalence: fmt.Sprintf("%.2f%%", 100*f.Prevalence)}
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.row { font-family: monospace; white-space: pre-wrap; word-break: break-all; max-width: 70em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 50%; vertical-align: middle; }
.outlier h3 { margin-bottom: 0.2em; }
.notes li { margin-bottom: 0.3em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Analyzer <b>{{.Analyzer}}</b>, {{.CreatedAt}}{{if .Baseline}}, baseline instance <code>{{.Baseline}}</code>{{end}}:
<b id="host-count">{{.Hosts}}</b> hosts, <b id="outlier-count">{{.Outliers}}</b> outliers.</p>
{{if .Notes}}<h2>Notes</h2><ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Map of the hosts</h2>
<figure id="map"><img id="map-image" src="{{.Map}}" alt="2-D map of the hosts: clusters in colour, outliers marked by red squares">
<figcaption>Each dot is a host, coloured by cluster; outliers sit on a red square.</figcaption></figure>
{{if .Clusters}}<h2>Clusters</h2>
<table id="clusters"><tr><th>Cluster</th><th>Hosts</th><th>What sets it apart</th></tr>
{{range .Clusters}}<tr><td><span class="swatch" style="background: {{.Color}}"></span> {{.ID}}</td><td>{{.Size}}</td><td>
{{range .Traits}}<div><code>{{.Command}}</code> <span class="row">{{.Row}}</span> ({{.Hosts}} hosts, {{.Prevalence}})</div>{{else}}-{{end}}</td></tr>
{{end}}</table>{{end}}
<h2>Outliers</h2>
{{if not .OutlierHosts}}<p>No host is an outlier.</p>{{end}}
{{range .OutlierHosts}}<section class="outlier">
<h3>{{.ID}}</h3>
<p>Cluster {{.Cluster}}, score {{.Score}}.</p>
{{if .Findings}}<table class="findings"><tr><th>Command</th><th>Kind</th><th>Row</th><th>Hosts with row</th><th>Prevalence</th></tr>
{{range .Findings}}<tr><td><code>{{.Command}}</code></td><td>{{.Kind}}</td><td class="row">{{.Row}}</td><td>{{.Hosts}}</td><td>{{.Prevalence}}</td></tr>
{{end}}</table>{{end}}
{{if .More}}<p>{{.More}} more findings not shown.</p>{{end}}
{{if .Errors}}<p>Errors:</p><ul>{{range .Errors}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
{{end}}
{{if .Omitted}}<p>{{.Omitted}} more outliers not shown (lower scores).</p>{{end}}
{{if .ErrorHosts}}<h2>Hosts with errors</h2><ul>{{range .ErrorHosts}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Skipped}}<h2>Skipped inputs</h2><ul>{{range .Skipped}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body>
</html>
`))

// outlierColor marks the outliers on the map.
var outlierColor = color.RGBA{214, 39, 40, 255}

// palette colours the clusters.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {44, 160, 44, 255}, {255, 127, 14, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {23, 190, 207, 255}, {188, 189, 34, 255}, {127, 127, 127, 255},
}

func clusterColor(id int) color.RGBA {
	if id < 0 {
		id = -id
	}
	return palette[id%len(palette)]
}

func cssColor(c color.RGBA) template.CSS {
	return template.CSS(fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B))
}

// hostMap draws the map of the hosts and returns it as SVG.
func hostMap(r *analyze.Report, opts options) ([]byte, error) {
	xy := positions(r)
	// Which hosts to draw: every outlier, the others evenly sampled.
	keep := make([]bool, len(r.Hosts))
	others := 0
	for i, h := range r.Hosts {
		if h.Outlier {
			keep[i] = true
		} else {
			others++
		}
	}
	budget := max(0, opts.MaxPoints-(len(r.Hosts)-others))
	seen := 0
	for i, h := range r.Hosts {
		if h.Outlier {
			continue
		}
		if others <= budget || int64(seen)*int64(budget)/int64(others) != int64(seen+1)*int64(budget)/int64(others) {
			keep[i] = true
		}
		seen++
	}

	p := plot.New()
	p.Title.Text = "Hosts (principal coordinates)"
	p.X.Label.Text = "PC 1"
	p.Y.Label.Text = "PC 2"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	// Hosts alike sit on one point: jitter each by up to 1.5% of the
	// axis range (a fixed function of its index) so that their number
	// shows, and leave a margin around the points.
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, c := range xy {
		minX, maxX = math.Min(minX, c[0]), math.Max(maxX, c[0])
		minY, maxY = math.Min(minY, c[1]), math.Max(maxY, c[1])
	}
	spanX, spanY := math.Max(maxX-minX, 1e-3), math.Max(maxY-minY, 1e-3)
	for i := range xy {
		jx, jy := jitter(i)
		xy[i][0] += 0.015 * spanX * jx
		xy[i][1] += 0.015 * spanY * jy
	}
	if len(xy) > 0 {
		p.X.Min, p.X.Max = minX-0.1*spanX, maxX+0.1*spanX
		p.Y.Min, p.Y.Max = minY-0.1*spanY, maxY+0.25*spanY // room for the legend
	}
	byCluster := map[int]plotter.XYs{}
	var outl plotter.XYs
	var outlCluster []int
	for i, h := range r.Hosts {
		if !keep[i] {
			continue
		}
		pt := plotter.XY{X: xy[i][0], Y: xy[i][1]}
		byCluster[h.Cluster] = append(byCluster[h.Cluster], pt)
		if h.Outlier {
			outl = append(outl, pt)
			outlCluster = append(outlCluster, h.Cluster)
		}
	}
	ids := make([]int, 0, len(byCluster))
	for id := range byCluster {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s, err := plotter.NewScatter(byCluster[id])
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = clusterColor(id)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		s.GlyphStyle.Radius = vg.Points(2.5)
		p.Add(s)
		if len(ids) <= 12 {
			p.Legend.Add(fmt.Sprintf("cluster %d", id), s)
		}
	}
	// Outliers last, on top: a red square with the host's cluster dot.
	if len(outl) > 0 {
		s, err := plotter.NewScatter(outl)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = outlierColor
		s.GlyphStyle.Shape = draw.BoxGlyph{}
		s.GlyphStyle.Radius = vg.Points(5)
		p.Add(s)
		p.Legend.Add("outlier", s)
		for i, pt := range outl {
			dot, err := plotter.NewScatter(plotter.XYs{pt})
			if err != nil {
				return nil, err
			}
			dot.GlyphStyle.Color = clusterColor(outlCluster[i])
			dot.GlyphStyle.Shape = draw.CircleGlyph{}
			dot.GlyphStyle.Radius = vg.Points(2)
			p.Add(dot)
		}
	}
	c := vgsvg.New(vg.Length(opts.MapWidth), vg.Length(opts.MapHeight))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jitter returns a fixed pseudo-random offset in [-1, 1]² for host i.
func jitter(i int) (float64, float64) {
	h := uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return float64(h&0xffff)/32767.5 - 1, float64((h>>16)&0xffff)/32767.5 - 1
}

// positions returns each host's place on the map: its Position, or PCA
// coordinates of its findings when the report has no positions.
func positions(r *analyze.Report) [][2]float64 {
	xy := make([][2]float64, len(r.Hosts))
	have := 0
	for i, h := range r.Hosts {
		if len(h.Position) >= 2 {
			xy[i] = [2]float64{h.Position[0], h.Position[1]}
			have++
		}
	}
	if have == len(r.Hosts) {
		return xy
	}
	if pcaOfFindings(r, xy) {
		return xy
	}
	for i, h := range r.Hosts {
		xy[i] = [2]float64{float64(i), h.Score}
	}
	return xy
}

// pcaOfFindings places the hosts by a PCA (gonum stat.PC) of the hosts ×
// findings matrix over the 64 finding rows most hosts share; false when
// there are too few hosts or rows for two components.
func pcaOfFindings(r *analyze.Report, xy [][2]float64) bool {
	const maxCols = 64
	count := map[string]int{}
	for _, h := range r.Hosts {
		for _, f := range h.Findings {
			count[findingKey(f)]++
		}
	}
	if len(count) < 2 || len(r.Hosts) < 3 {
		return false
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), strings.Compare(a, b)) })
	if len(keys) > maxCols {
		keys = keys[:maxCols]
	}
	col := make(map[string]int, len(keys))
	for j, k := range keys {
		col[k] = j
	}
	m := mat.NewDense(len(r.Hosts), len(keys), nil)
	for i, h := range r.Hosts {
		for _, f := range h.Findings {
			if j, ok := col[findingKey(f)]; ok {
				m.Set(i, j, 1)
			}
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(m, nil) {
		return false
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	_, k := vecs.Dims()
	if k < 2 {
		return false
	}
	var proj mat.Dense
	proj.Mul(m, vecs.Slice(0, len(keys), 0, 2))
	for i := range r.Hosts {
		xy[i] = [2]float64{proj.At(i, 0), proj.At(i, 1)}
		if math.IsNaN(xy[i][0]) || math.IsNaN(xy[i][1]) {
			return false
		}
	}
	return true
}

func findingKey(f analyze.Finding) string {
	return f.CommandID + "\x00" + f.Kind + "\x00" + analyze.RowKey(f.Row)
}
