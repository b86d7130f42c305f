package render_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/render"
)

var (
	docsDir     = flag.String("docs", "", "TestHTMLScreenshots: write the screenshots into this directory (the repository's docs/)")
	bigReport   = flag.String("big", "", "TestHTMLScreenshots: a JSON report of many hosts (bench/cluster -keep's cluster.json) to load, time and photograph too")
	shotsReport = flag.String("shots-demo", "", "TestHTMLScreenshots: the demo's JSON report (diffy demo --format json -o FILE) to photograph; default: the same fleet analyzed here")
)

// fleetReport analyzes a simulated fleet as the demo does (scenario
// medium, seed 2, group demo-web-asg) with the cluster analyzer, and gives
// the hosts what the target knew of them, as diffy.Diffy does.
func fleetReport(t testing.TB, hosts int) *analyze.Report {
	t.Helper()
	cfg := fleet.Scenario("medium")
	cfg.Seed, cfg.Hosts, cfg.GroupName = 2, hosts, "demo-web-asg"
	f := fleet.Generate(cfg)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	rep, err := analyze.Clustering{Now: func() time.Time { return at }}.
		Analyze(context.Background(), analyze.Input{Key: cfg.GroupName, Results: f.Results(at)})
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]int{}
	for i, h := range f.Hosts {
		meta[h.Instance.ID] = i
	}
	for i := range rep.Hosts {
		in := f.Hosts[meta[rep.Hosts[i].InstanceID]].Instance
		rep.Hosts[i].Name, rep.Hosts[i].PrivateIP, rep.Hosts[i].Tags = in.Name, in.PrivateIP, in.Tags
	}
	return rep
}

func readReport(t testing.TB, path string) *analyze.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r analyze.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// loadTiming is how long a page took to open, as Chromium measured it:
// from the start of the navigation to the end of the load event (the page
// parsed, its script run), and to the first frame drawn after it (laid out
// and painted, ready to use).
type loadTiming struct {
	Load  float64 `json:"load"`
	Ready float64 `json:"ready"`
}

func openPage(t testing.TB, ctx context.Context, url string) loadTiming {
	t.Helper()
	do(t, ctx, "opening "+url, chromedp.Navigate(url))
	return run(t, ctx, "timing", chromedp.Evaluate[loadTiming](`new Promise(function (resolve) {
		requestAnimationFrame(function () { requestAnimationFrame(function () {
			var nav = performance.getEntriesByType("navigation")[0];
			resolve({load: nav.loadEventEnd, ready: performance.now()});
		}); });
	})`, chromedp.EvalAwaitPromise))
}

// TestHTMLScreenshots photographs reports for docs/: the demo's 200
// hosts, and with -big a report of many hosts, and measures and logs how
// long each takes to open (not asserted: a loaded machine is slower),
// beside a plain page of the same size. Run, from the repository root:
//
//	go run ./examples/diffy-demo --analyzer cluster --format json -o /tmp/demo.json
//	go run ./bench/cluster -hosts 10000 -keep    # logs the kept directory, DIR
//	go test ./render -run TestHTMLScreenshots -v -docs ../docs -shots-demo /tmp/demo.json -big DIR/cluster.json
func TestHTMLScreenshots(t *testing.T) {
	if *docsDir == "" {
		t.Skip("give -docs DIR to write the screenshots")
	}
	type shot struct {
		name string
		rep  *analyze.Report
	}
	demo := shot{"demo-200", nil}
	if *shotsReport != "" {
		demo.rep = readReport(t, *shotsReport)
	} else {
		demo.rep = fleetReport(t, 200)
	}
	shots := []shot{demo}
	if *bigReport != "" {
		shots = append(shots, shot{"hosts-10000", readReport(t, *bigReport)})
	}
	for _, s := range shots {
		t.Run(s.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := render.HTML(&buf, s.rep); err != nil {
				t.Fatal(err)
			}
			url := writePage(t, "report.html", buf.String())
			ctx := newBrowser(t, 1280, 1200)
			// The opening time, as a person waits for it: the best of
			// three loads (the first pays for starting the renderer),
			// beside a plain page of the same size in the same browser
			// (the floor: parsing that many bytes).
			floor := writePage(t, "floor.html", "<!DOCTYPE html><html><body><pre>"+
				strings.Repeat("abcdefghij klmnopqrstuvwxyz 0123456789 abcdefghij klmnopqrstuvwxyz\n", buf.Len()/70)+"</pre></body></html>")
			var best, bestFloor loadTiming
			for i := range 3 {
				tm, tf := openPage(t, ctx, url), openPage(t, ctx, floor)
				if i == 0 || tm.Ready < best.Ready {
					best = tm
				}
				if i == 0 || tf.Ready < bestFloor.Ready {
					bestFloor = tf
				}
			}
			t.Logf("%d hosts, page of %.1f MiB: opens in %.0f ms (load event %.0f ms, first frame after it %.0f ms); a plain page of the same size %.0f ms",
				len(s.rep.Hosts), float64(buf.Len())/(1<<20), best.Ready, best.Load, best.Ready, bestFloor.Ready)
			openPage(t, ctx, url)
			top := run(t, ctx, "screenshot", chromedp.CaptureScreenshot())
			writeShot(t, "report-"+s.name+".png", top)
			// The whole map: a window tall enough for its box.
			h := run(t, ctx, "map height", chromedp.Evaluate[float64](`document.getElementById("map").getBoundingClientRect().height`))
			do(t, ctx, "resizing", chromedp.EmulateViewport(1280, int64(h/0.85)+40))
			// The page draws what is below its first screen when it is
			// scrolled to (content-visibility); a screenshot of an element
			// does not scroll, so the map is drawn first.
			run(t, ctx, "drawing the map", chromedp.Evaluate[bool](`(function () { document.getElementById("map-section").style.contentVisibility = "visible"; return true; })()`))
			m := run(t, ctx, "map screenshot", chromedp.Screenshot(chromedp.CSS(".mapbox")))
			writeShot(t, "report-"+s.name+"-map.png", m)
		})
	}
}

// writeShot writes a screenshot into -docs as a PNG of at most 256
// colours (the page's colours, which are few, and the most common shades
// of their anti-aliased edges): a quarter of the size of Chromium's PNG,
// for the repository.
func writeShot(t testing.TB, name string, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", name, err)
	}
	freq := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			freq[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colours := slices.SortedFunc(maps.Keys(freq), func(a, b color.RGBA) int {
		return cmp.Or(cmp.Compare(freq[b], freq[a]), cmp.Compare(a.R, b.R), cmp.Compare(a.G, b.G), cmp.Compare(a.B, b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range colours[:min(256, len(colours))] {
		pal = append(pal, c)
	}
	small := image.NewPaletted(b, pal)
	draw.Draw(small, b, img, b.Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, small); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(*docsDir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KiB; %d KiB as Chromium wrote it)", path, buf.Len()/1024, len(shot)/1024)
}

// violations records the page's Content-Security-Policy violations in
// window.__violations from before its first byte, so that a test can see
// whether the browser refused the page's own style sheet or script.
const violations = `window.__violations = [];
window.alert = function () { window.__alerted = true; };
document.addEventListener("securitypolicyviolation", function (e) { window.__violations.push(e.violatedDirective + " " + e.blockedURI); });`

func watchViolations(t testing.TB, ctx context.Context) {
	t.Helper()
	do(t, ctx, "watching CSP violations", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: violations})
		return err
	}))
}

func noViolations(t testing.TB, ctx context.Context) {
	t.Helper()
	if v := run(t, ctx, "violations", chromedp.Evaluate[[]string](`window.__violations`)); len(v) > 0 {
		t.Errorf("the browser refused parts of the page (Content-Security-Policy): %q", v)
	}
}

// waitFor waits until the JavaScript expression is true; the test's
// browser deadline bounds the wait.
func waitFor(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(0))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// visibleRows returns the instance IDs of the table rows shown.
func visibleRows(t testing.TB, ctx context.Context) []string {
	t.Helper()
	return run(t, ctx, "visible rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#host-table tbody tr"))
		.filter(function (r) { return r.offsetParent !== null; })
		.map(function (r) { return r.cells[0].textContent; })`))
}

// TestHTMLInChromium uses the page of a 200-host report as an
// investigator would, in headless Chromium: the verdict first, then the
// outliers most telling first; a host found by typing its ID; an outlier
// opened from its summary, and from its row, showing its finding; a dot
// of the map pointed at (its tooltip names the host) and clicked (it goes
// to the host); the command filter; sorting by score.
func TestHTMLInChromium(t *testing.T) {
	rep := fleetReport(t, 200)
	var buf bytes.Buffer
	if err := render.HTML(&buf, rep, render.WithOpen(1)); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t, 1280, 900)
	watchViolations(t, ctx)
	tm := openPage(t, ctx, writePage(t, "report.html", buf.String()))
	t.Logf("200 hosts: load event %.0f ms, first frame %.0f ms after the navigation started", tm.Load, tm.Ready)
	noViolations(t, ctx)

	// The verdict, in bold: the style sheet applies.
	if got, want := run(t, ctx, "verdict", chromedp.Text(chromedp.ID("verdict"))), render.Verdict(rep); got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	if w := run(t, ctx, "verdict weight", chromedp.Evaluate[string](`getComputedStyle(document.getElementById("verdict")).fontWeight`)); w != "600" {
		t.Errorf("the verdict's font weight is %q: the style sheet was not applied", w)
	}

	// The outliers come first, most telling first, and the first one is
	// unfolded.
	outliers := rep.Outliers()
	slices.SortStableFunc(outliers, func(a, b analyze.Host) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.InstanceID, b.InstanceID))
	})
	if len(outliers) < 3 {
		t.Fatalf("the fleet has %d outliers; the test needs 3", len(outliers))
	}
	cards := run(t, ctx, "cards", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#outliers details.host .id"), function (e) { return e.textContent; })`))
	var want []string
	for _, h := range outliers {
		want = append(want, h.InstanceID)
	}
	if !slices.Equal(cards, want) {
		t.Errorf("outlier cards %v, want by score %v", cards, want)
	}
	firstY := run(t, ctx, "first card", chromedp.Evaluate[float64](`document.querySelector("#outliers details.host").getBoundingClientRect().top`))
	mapY := run(t, ctx, "map", chromedp.Evaluate[float64](`document.getElementById("map").getBoundingClientRect().top`))
	if firstY > 900 || mapY < firstY {
		t.Errorf("the first outlier is %.0f px down, the map %.0f px: the outliers do not come first", firstY, mapY)
	}

	index := map[string]int{}
	for i, h := range rep.Hosts {
		index[h.InstanceID] = i
	}
	findingShown := func(h analyze.Host) {
		t.Helper()
		sel := fmt.Sprintf(`document.querySelector("#h%d li.finding pre.row")`, index[h.InstanceID])
		waitFor(t, ctx, "the finding of "+h.InstanceID, sel+` && `+sel+`.offsetParent !== null`)
		if got := run(t, ctx, "finding", chromedp.Evaluate[string](sel+`.textContent`)); got != render.FormatRow(h.Findings[0].Row) {
			t.Errorf("%s shows the finding %q, want %q", h.InstanceID, got, render.FormatRow(h.Findings[0].Row))
		}
	}

	// Open the second outlier by its summary.
	second := outliers[1]
	if open := run(t, ctx, "folded", chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById("h%d").open`, index[second.InstanceID]))); open {
		t.Fatalf("the second outlier is unfolded with Open 1")
	}
	do(t, ctx, "clicking the second outlier", chromedp.Click(chromedp.CSS(fmt.Sprintf("#h%d > summary", index[second.InstanceID]))))
	findingShown(second)

	// Find a host by its ID: the least telling host, past the rows shown
	// at first.
	last := rep.Hosts[0]
	for _, h := range rep.Hosts {
		if h.Score < last.Score || h.Score == last.Score && h.InstanceID > last.InstanceID {
			last = h
		}
	}
	if slices.Contains(visibleRows(t, ctx), last.InstanceID) {
		t.Fatalf("host %s is shown before any search: pick another", last.InstanceID)
	}
	search := func(text string) {
		t.Helper()
		do(t, ctx, "clearing the search", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(function () { var f = document.getElementById("ftext"); f.value = ""; f.dispatchEvent(new Event("input")); return true; })()`)(ctx, tg)
			return err
		}))
		waitFor(t, ctx, "every row", `document.getElementById("shown").textContent === "200 hosts, the first 100 shown"`)
		if text != "" {
			do(t, ctx, "typing "+text, chromedp.SendKeys(chromedp.ID("ftext"), text))
			waitFor(t, ctx, "one row", `document.getElementById("shown").textContent === "1 of 200 hosts match, all shown"`)
		}
	}
	search(last.InstanceID)
	if got := visibleRows(t, ctx); !slices.Equal(got, []string{last.InstanceID}) {
		t.Errorf("typing %s shows the rows %v", last.InstanceID, got)
	}
	// The map dims every other host.
	if n := run(t, ctx, "dim dots", chromedp.Evaluate[int](`document.querySelectorAll("#map a.dim").length`)); n != 199 {
		t.Errorf("%d dots dimmed, want 199", n)
	}

	// Open the third outlier from its row in the table.
	third := outliers[2]
	search(third.InstanceID)
	do(t, ctx, "clicking the outlier's row", chromedp.Click(chromedp.CSS(fmt.Sprintf("#r%d a", index[third.InstanceID]))))
	findingShown(third)
	if h := run(t, ctx, "hash", chromedp.Evaluate[string](`location.hash`)); h != fmt.Sprintf("#h%d", index[third.InstanceID]) {
		t.Errorf("the row's link went to %q", h)
	}

	// Point at the first outlier's dot: the tooltip names it; click it:
	// the page goes to its card.
	first := outliers[0]
	search("")
	dot := fmt.Sprintf(`#map a[data-i="%d"] circle`, index[first.InstanceID])
	do(t, ctx, "scrolling to the map", chromedp.ScrollIntoView(chromedp.CSS(dot)))
	type point struct{ X, Y float64 }
	c := run(t, ctx, "dot position", chromedp.Evaluate[point](fmt.Sprintf(`(function () { var b = document.querySelector(%q).getBoundingClientRect(); return {X: b.left + b.width / 2, Y: b.top + b.height / 2}; })()`, dot)))
	do(t, ctx, "pointing at the dot", chromedp.MouseEvent(chromedp.MouseMoved, c.X, c.Y))
	waitFor(t, ctx, "the tooltip", `!document.getElementById("tip").hidden`)
	tip := run(t, ctx, "tooltip", chromedp.Evaluate[string](`document.getElementById("tip").textContent`))
	if wantTip := fmt.Sprintf("%s · cluster %d · score %.2f · outlier", first.InstanceID, first.Cluster, first.Score); tip != wantTip {
		t.Errorf("tooltip %q, want %q", tip, wantTip)
	}
	do(t, ctx, "folding every outlier", chromedp.Click(chromedp.ID("fold-all")))
	do(t, ctx, "scrolling to the map", chromedp.ScrollIntoView(chromedp.CSS(dot)))
	c = run(t, ctx, "dot position", chromedp.Evaluate[point](fmt.Sprintf(`(function () { var b = document.querySelector(%q).getBoundingClientRect(); return {X: b.left + b.width / 2, Y: b.top + b.height / 2}; })()`, dot)))
	do(t, ctx, "clicking the dot", chromedp.MouseClickXY(c.X, c.Y))
	waitFor(t, ctx, "the outlier's card", fmt.Sprintf(`location.hash === "#h%d"`, index[first.InstanceID]))
	findingShown(first)

	// Every host has its dot, and no two dots overlap on the screen.
	type disc struct{ X, Y, R float64 }
	dots := run(t, ctx, "dots", chromedp.Evaluate[[]disc](`Array.from(document.querySelectorAll("#map a circle"), function (c) { var b = c.getBoundingClientRect(); return {X: b.left + b.width / 2, Y: b.top + b.height / 2, R: b.width / 2}; })`))
	if len(dots) != len(rep.Hosts) {
		t.Errorf("%d dots on the map, want one per host (%d)", len(dots), len(rep.Hosts))
	}
	for i := range dots {
		for j := i + 1; j < len(dots); j++ {
			if d := math.Hypot(dots[i].X-dots[j].X, dots[i].Y-dots[j].Y); d < dots[i].R+dots[j].R-0.01 {
				t.Fatalf("dots %d and %d overlap: %.2f px apart, radii %.2f and %.2f", i, j, d, dots[i].R, dots[j].R)
			}
		}
	}

	// Show only kernel_modules findings: every outlier card left shows
	// only kernel_modules findings, and the table only hosts with one.
	do(t, ctx, "choosing a command", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(function () {
			var s = document.getElementById("fcmd");
			var o = Array.from(s.options).find(function (o) { return o.textContent === "kernel_modules"; });
			s.value = o.value; s.dispatchEvent(new Event("change")); return true; })()`)(ctx, tg)
		return err
	}))
	shownCmds := run(t, ctx, "finding commands", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("li.finding"))
		.filter(function (li) { return !li.closest("[hidden]"); })
		.map(function (li) { return li.querySelector(".what").textContent; })`))
	if len(shownCmds) == 0 {
		t.Error("the command filter hides every finding")
	}
	for _, w := range shownCmds {
		if !strings.Contains(w, "kernel_modules row") {
			t.Errorf("the kernel_modules filter shows the finding %q", w)
		}
	}
	withModule := 0
	for _, h := range rep.Hosts {
		if slices.ContainsFunc(h.Findings, func(f analyze.Finding) bool { return f.CommandID == "kernel_modules" }) {
			withModule++
		}
	}
	if got := run(t, ctx, "status", chromedp.Text(chromedp.ID("shown"))); got != fmt.Sprintf("%d of 200 hosts match, all shown", withModule) {
		t.Errorf("with the kernel_modules filter the table says %q; %d hosts have such findings", got, withModule)
	}
	do(t, ctx, "choosing any command", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(function () { var s = document.getElementById("fcmd"); s.value = ""; s.dispatchEvent(new Event("change")); return true; })()`)(ctx, tg)
		return err
	}))

	// Sort by score, lowest first: the least telling host comes first.
	do(t, ctx, "sorting by score", chromedp.Click(chromedp.CSS(`#host-table th:nth-child(5) button`)))
	if rows := visibleRows(t, ctx); len(rows) != 100 || rows[0] == first.InstanceID {
		t.Errorf("after sorting by score: %d rows shown, the first %v", len(rows), rows[:min(1, len(rows))])
	}
	if order := run(t, ctx, "sort", chromedp.Evaluate[string](`document.querySelector("#host-table th:nth-child(5)").getAttribute("aria-sort")`)); order != "ascending" {
		t.Errorf("the score column is sorted %q", order)
	}
	noViolations(t, ctx)
}

// TestHTMLHostileInChromium loads a report whose every field is made to
// inject markup: Chromium's DOM has exactly the elements of a benign
// report of the same shape, the page's own script and style run, and the
// hostile text is shown as text.
func TestHTMLHostileInChromium(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	watchViolations(t, ctx)
	elements := func(r *analyze.Report) map[string]int {
		var buf bytes.Buffer
		if err := render.HTML(&buf, r, render.WithMinMapHosts(1)); err != nil {
			t.Fatal(err)
		}
		openPage(t, ctx, writePage(t, "page.html", buf.String()))
		return run(t, ctx, "elements", chromedp.Evaluate[map[string]int](`(function () { var n = {};
			document.querySelectorAll("*").forEach(function (e) { n[e.tagName] = (n[e.tagName] || 0) + 1; }); return n; })()`))
	}
	want := elements(benignReport())
	got := elements(hostileReport())
	noViolations(t, ctx)
	for tag, n := range got {
		if n != want[tag] {
			t.Errorf("the hostile page has %d <%s>, the benign one %d: host content became markup", n, tag, want[tag])
		}
	}
	body := run(t, ctx, "text", chromedp.Text(chromedp.CSS("body")))
	if !strings.Contains(body, `<script>alert(document.cookie)</script>`) {
		t.Error("the hostile row is not shown as text")
	}
	if run(t, ctx, "alert", chromedp.Evaluate[bool](`typeof window.__alerted !== "undefined"`)) {
		t.Error("host content ran script")
	}
	// The script works on the hostile page: typing filters the table.
	do(t, ctx, "typing", chromedp.SendKeys(chromedp.ID("ftext"), "quiet"))
	waitFor(t, ctx, "filtered rows", `/ of 18 hosts match/.test(document.getElementById("shown").textContent)`)
}
