package analyze_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// TestReportWriteJSON checks the stored form of a Report: indented, one
// trailing newline, read back equal, and the same bytes every time.
func TestReportWriteJSON(t *testing.T) {
	in := &analyze.Report{Key: "web", Analyzer: "cluster", CreatedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Hosts: []analyze.Host{{InstanceID: "i-1", Outlier: true, Score: 7.2, Findings: []analyze.Finding{
			{CommandID: "listening_ports", Kind: analyze.KindRare, Row: collect.Row{"port": "4444", "name": "<nc>"}, HostsWithRow: 1},
		}}}}
	var a, b bytes.Buffer
	if err := in.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := in.WriteJSON(&b); err != nil || a.String() != b.String() {
		t.Fatalf("WriteJSON is not deterministic: %v\n%s\n%s", err, a.String(), b.String())
	}
	s := a.String()
	if !strings.HasPrefix(s, "{\n  \"key\": \"web\"") || !strings.HasSuffix(s, "}\n") || strings.HasSuffix(s, "\n\n") {
		t.Errorf("WriteJSON is not two-space indented JSON ending in one newline:\n%s", s)
	}
	var out analyze.Report
	if err := json.Unmarshal(a.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&out, in) {
		t.Errorf("read back %+v, want %+v", out, *in)
	}
	var nilReport *analyze.Report
	if err := nilReport.WriteJSON(&a); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("nil Report: WriteJSON = %v, want ErrInvalidInput", err)
	}
}
