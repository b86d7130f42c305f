package analyze_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

func TestDefaultVolatileColumns(t *testing.T) {
	v := analyze.DefaultVolatile()
	for _, c := range []struct {
		cmd     string
		dropped []string
		kept    []string
	}{
		{payload.ListeningPorts, []string{"pid", "fd", "socket"}, []string{"address", "port", "protocol", "name", "path", "cmdline"}},
		{payload.Processes, []string{"pid", "parent", "start_time"}, []string{"name", "path", "cmdline", "uid"}},
		{payload.KernelModules, []string{"size", "address"}, []string{"name", "used_by", "status"}},
		{payload.Users, nil, []string{"uid", "gid", "username", "description", "directory", "shell"}},
		{payload.Crontab, nil, []string{"event", "minute", "hour", "day_of_month", "month", "day_of_week", "command", "path"}},
		{payload.AuthorizedKeys, nil, []string{"username", "algorithm", "key", "key_file"}},
		{"", []string{"pid", "start_time"}, []string{"port"}},
	} {
		cols := v.Columns(c.cmd)
		for _, d := range c.dropped {
			if !slices.Contains(cols, d) {
				t.Errorf("%s: column %q is not volatile by default", c.cmd, d)
			}
		}
		for _, k := range c.kept {
			if slices.Contains(cols, k) {
				t.Errorf("%s: column %q is dropped by default; it must be compared", c.cmd, k)
			}
		}
	}
}

func TestDefaultVolatileIsFresh(t *testing.T) {
	v := analyze.DefaultVolatile()
	v[analyze.AnyCommand] = append(v[analyze.AnyCommand][:0], "name")
	delete(v, payload.KernelModules)
	w := analyze.DefaultVolatile()
	if slices.Contains(w[analyze.AnyCommand], "name") || w[payload.KernelModules] == nil {
		t.Fatal("changing one DefaultVolatile() changed the next")
	}
}

func TestVolatileColumnsNoRepeats(t *testing.T) {
	v := analyze.Volatile{analyze.AnyCommand: {"pid", "time"}, "x": {"time", "size", "pid", "size"}}
	if got, want := v.Columns("x"), []string{"pid", "time", "size"}; !slices.Equal(got, want) {
		t.Fatalf("Columns = %q, want %q", got, want)
	}
	if got := v.Columns("other"); !slices.Equal(got, []string{"pid", "time"}) {
		t.Fatalf("Columns of a command without its own list = %q", got)
	}
	if got := analyze.Volatile(nil).Columns("x"); len(got) != 0 {
		t.Fatalf("nil Volatile drops %q", got)
	}
}

func TestVolatileStrip(t *testing.T) {
	v := analyze.DefaultVolatile()
	row := collect.Row{"name": "ext4", "size": "1036288", "used_by": "-", "status": "Live", "address": "0xffffffffc0a1b000"}
	orig := maps.Clone(row)
	got := v.Strip(payload.KernelModules, row)
	if want := (collect.Row{"name": "ext4", "used_by": "-", "status": "Live"}); !maps.Equal(got, want) {
		t.Fatalf("Strip = %v, want %v", got, want)
	}
	if !maps.Equal(row, orig) {
		t.Fatal("Strip changed its input")
	}
	got["name"] = "changed"
	if row["name"] != "ext4" {
		t.Fatal("Strip returned the input row itself")
	}
	if s := v.Strip(payload.Users, nil); s == nil || len(s) != 0 {
		t.Fatalf("Strip(nil) = %#v, want an empty row", s)
	}
	if k1, k2 := v.Key(payload.KernelModules, row), analyze.RowKey(v.Strip(payload.KernelModules, row)); k1 != k2 {
		t.Fatal("Key differs from RowKey(Strip)")
	}
}

func TestVolatileClone(t *testing.T) {
	v := analyze.DefaultVolatile()
	c := v.Clone()
	c[payload.Processes][0] = "changed"
	if v[payload.Processes][0] == "changed" {
		t.Fatal("Clone shares its lists")
	}
	if analyze.Volatile(nil).Clone() != nil {
		t.Fatal("Clone of nil is not nil")
	}
}
