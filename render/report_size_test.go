package render_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/render"
)

// TestHostileValueReportSize: a compromised host of a simulated fleet
// of 12 makes the longest value of its planted row 8 MiB long (as a
// hostile host may: a command prints up to collect's 64 MiB). The
// analysis still finds the host by that row, and every writer's report
// stays small: each value a finding keeps is at most
// analyze.MaxValueBytes and a mark, the Finding's Cut giving the whole
// value's length and SHA-256. (Before the cap, this fleet's report was
// 16.8 MB as JSON and 25 MB as HTML.)
func TestHostileValueReportSize(t *testing.T) {
	f := fleet.Generate(fleet.Config{Seed: 21, Hosts: 12, Roles: 2, CanaryFraction: 0.1, CompromisedFraction: 0.05, PlantsPerHost: 1})
	var whole, col, id string
	for i := range f.Hosts {
		h := &f.Hosts[i]
		if !h.Compromised || id != "" {
			continue
		}
		p := &h.Planted[0]
		for c, v := range p.Row {
			if len(v) > len(p.Row[col]) || col == "" {
				col = c
			}
		}
		whole = p.Row[col] + strings.Repeat("A", 8<<20)
		rows := h.Rows[p.CommandID]
		for j, r := range rows {
			if maps.Equal(r, p.Row) {
				rows[j] = maps.Clone(r)
				rows[j][col] = whole
			}
		}
		p.Row = maps.Clone(p.Row)
		p.Row[col] = whole
		id = h.Instance.ID
	}
	if id == "" {
		t.Fatal("the fleet has no compromised host")
	}
	rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: "k", Results: f.Results(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if ev := f.Evaluate(rep); ev.Recall != 1 {
		t.Errorf("the host with the 8 MiB value is not found: %v", ev)
	}
	sum := sha256.Sum256([]byte(whole))
	var cut bool
	for _, h := range rep.Hosts {
		for _, fd := range h.Findings {
			for _, c := range fd.Cut {
				if c.Field == "row" && c.Column == col {
					cut = true
					if h.InstanceID != id || c.Bytes != len(whole) || c.SHA256 != hex.EncodeToString(sum[:]) {
						t.Errorf("%s: cut %+v; want %s's, %d bytes", h.InstanceID, c, id, len(whole))
					}
					if v := fd.Row[col]; len(v) > analyze.MaxValueBytes+128 || !strings.HasPrefix(whole, v[:analyze.MaxValueBytes]) ||
						!strings.Contains(v, "cut: 8388") {
						t.Errorf("kept value of %d bytes: %.80q...%q", len(v), v, v[max(0, len(v)-100):])
					}
				}
			}
		}
	}
	if !cut {
		t.Errorf("no finding says its %s value was cut", col)
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"json":  func(b *bytes.Buffer) error { return render.JSON(b, rep) },
		"html":  func(b *bytes.Buffer) error { return render.HTML(b, rep) },
		"csv":   func(b *bytes.Buffer) error { return render.CSV(b, rep) },
		"table": func(b *bytes.Buffer) error { return render.Table(b, rep, render.WithVerbose(true)) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d bytes", name, b.Len())
		// Generous: the report of these 12 hosts without the value is
		// under 100 KB; the cut value may appear a few times.
		if b.Len() > 1<<20 {
			t.Errorf("%s report of 12 hosts: %d bytes", name, b.Len())
		}
	}
}
