package analyze_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// TestWriteJSONIsEncodingJSON checks that WriteJSON writes the bytes
// encoding/json's Encoder writes with two-space indentation, on a Report
// with what a hostile host can put in rows (HTML, JSON's and JavaScript's
// special characters, control characters, invalid UTF-8, in names and
// values) and every kind of field, empty and not.
func TestWriteJSONIsEncodingJSON(t *testing.T) {
	hostile := []string{"", "<script>&amp;</script>", "a\u2028b\u2029c", "\x00\x01\x1f\x7f", "\xff\xfe", "ok\xc3", "\"\\/", "é中文😀", "\t\n\r"}
	row := collect.Row{}
	for i, s := range hostile {
		row[s] = hostile[(i+1)%len(hostile)]
		row[fmt.Sprint("c", i)] = s
	}
	in := &analyze.Report{Key: "web<&>", Analyzer: "cluster", CreatedAt: time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.FixedZone("x", 3600)),
		Hosts: []analyze.Host{
			{InstanceID: "i-1\xff", Outlier: true, Score: 7.25, Errors: []string{"e\u2028"}, Tags: map[string]string{"b": "1", "a": "<2>"},
				Findings: []analyze.Finding{
					{CommandID: "listening_ports", Kind: analyze.KindRare, Row: row, HostsWithRow: 1, Prevalence: 0.1, Why: "x < y", Template: row,
						Usual: "a&b", UsualHosts: 3, Deciding: true},
					{CommandID: "", Row: collect.Row{}},
				}},
			{InstanceID: "i-2", Score: 1e21, Position: []float64{0, -0.5, 1e-7, 123456789012}, Rank: 2, FindingsOmitted: 4},
			{InstanceID: "i-3", Score: 1.0 / 3},
			{},
		},
		Skipped: []analyze.Skip{{Source: "\xff", Reason: "<r>"}},
		Notes:   []string{"n1", ""},
	}
	// Without invalid UTF-8 (written by go-json-experiment/json alone):
	valid := &analyze.Report{}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(bytes.ReplaceAll(data, []byte(`\ufffd`), []byte("x")), valid); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(data, bytes.ReplaceAll(data, []byte(`\ufffd`), []byte("x"))) {
		t.Fatal("the hostile report holds no invalid UTF-8")
	}
	for _, r := range []*analyze.Report{in, valid, {}, {Hosts: []analyze.Host{}}} {
		var got, want bytes.Buffer
		if err := r.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("WriteJSON:\n%s\nencoding/json:\n%s", got.String(), want.String())
		}
	}
}

// TestJSONWriterIsWriteJSON checks that a Report written a host at a time
// (JSONWriter) is WriteJSON's document, byte for byte, with hosts with and
// without invalid UTF-8 side by side, none, and one; and that End refuses
// a Report whose leading fields changed since Begin.
func TestJSONWriterIsWriteJSON(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	hosts := []analyze.Host{
		{InstanceID: "i-1", Outlier: true, Score: 2, Findings: []analyze.Finding{{CommandID: "c", Kind: analyze.KindAdded, Row: collect.Row{"a": "<b>", "\xff": "x"}}}},
		{InstanceID: "i-2", Findings: []analyze.Finding{}},
		{InstanceID: "i-3", Errors: []string{"c: Failed: \xfe"}, Tags: map[string]string{"z": "1", "a": "2"}},
	}
	for _, n := range []int{0, 1, 2, 3} {
		r := &analyze.Report{Key: "k\xff", Analyzer: "baseline", CreatedAt: at, BaselineInstance: "i-0",
			Hosts: hosts[:n], Skipped: []analyze.Skip{{Source: "f", Reason: "r"}}, Notes: []string{"n"}}
		var want, got bytes.Buffer
		if err := r.WriteJSON(&want); err != nil {
			t.Fatal(err)
		}
		jw := analyze.NewJSONWriter(&got)
		head := *r
		head.Hosts, head.Skipped, head.Notes = nil, nil, nil
		if err := jw.Begin(&head); err != nil {
			t.Fatal(err)
		}
		for i := range r.Hosts {
			if err := jw.Host(&r.Hosts[i]); err != nil {
				t.Fatal(err)
			}
		}
		tail := *r
		tail.Hosts = nil
		if err := jw.End(&tail); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d hosts: JSONWriter:\n%s\nWriteJSON:\n%s", n, got.String(), want.String())
		}
		var back analyze.Report
		if err := json.Unmarshal(got.Bytes(), &back); err != nil || len(back.Hosts) != n {
			t.Errorf("%d hosts: read back %d hosts, %v", n, len(back.Hosts), err)
		}
	}
	jw := analyze.NewJSONWriter(io.Discard)
	if err := jw.Begin(&analyze.Report{Key: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := jw.End(&analyze.Report{Key: "b"}); err == nil {
		t.Error("End with another Key than Begin's: no error")
	}
	if err := analyze.NewJSONWriter(io.Discard).Host(&hosts[0]); err == nil {
		t.Error("Host before Begin: no error")
	}
}
