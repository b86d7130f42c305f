package target_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/target"
)

func TestLocalKeys(t *testing.T) {
	ctx := context.Background()
	host, _ := os.Hostname()
	for _, key := range []string{"local", "localhost"} {
		insts, err := target.Local{}.Targets(ctx, key)
		if err != nil {
			t.Fatalf("Targets(%q): %v", key, err)
		}
		if len(insts) != 1 || insts[0].ID != target.LocalID || target.LocalID != "local" {
			t.Fatalf("Targets(%q) = %+v, want one instance with ID %q", key, insts, "local")
		}
		if insts[0].Name != host {
			t.Errorf("Targets(%q): name %q, want the host name %q", key, insts[0].Name, host)
		}
	}
}

func TestLocalUnknownKey(t *testing.T) {
	for _, key := range []string{"my-asg", "Local", "", "local ", "127.0.0.1", "i-0abc"} {
		insts, err := target.Local{}.Targets(context.Background(), key)
		if !errors.Is(err, diffyerr.ErrNotFound) || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("Targets(%q): err = %v, want ErrNotFound naming the key", key, err)
		}
		if insts != nil {
			t.Errorf("Targets(%q) returned %+v with its error", key, insts)
		}
	}
}

func TestLocalCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (target.Local{}).Targets(ctx, "local"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v, want context.Canceled", err)
	}
}

func TestStatic(t *testing.T) {
	ctx := context.Background()
	s := target.Static{
		"web": {{ID: "i-2", Tags: map[string]string{"role": "web"}}, {ID: "i-1"}, {ID: "i-2", Name: "dup"}},
		"db":  {{ID: "i-9"}},
		"bad": {{ID: "i-1"}, {ID: ""}},
		"nil": nil,
	}
	insts, err := s.Targets(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range insts {
		ids = append(ids, in.ID)
	}
	if !slices.Equal(ids, []string{"i-2", "i-1"}) {
		t.Fatalf("Targets(web) IDs = %v, want [i-2 i-1]: order given, duplicates dropped", ids)
	}
	if insts[0].Tags["role"] != "web" {
		t.Fatalf("Targets(web) lost the tags: %+v", insts[0])
	}
	insts[0].Tags["role"] = "changed"
	again, _ := s.Targets(ctx, "web")
	if again[0].Tags["role"] != "web" {
		t.Fatal("changing a returned instance's tags changed the Static")
	}
	for _, key := range []string{"cache", "nil"} {
		if _, err := s.Targets(ctx, key); !errors.Is(err, diffyerr.ErrNotFound) || !strings.Contains(err.Error(), key) {
			t.Errorf("Targets(%q): err = %v, want ErrNotFound naming the key", key, err)
		}
	}
	if _, err := s.Targets(ctx, "bad"); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("Targets(bad) with an empty ID: err = %v, want ErrInvalidInput", err)
	}
	if got := s.Keys(); !slices.Equal(got, []string{"bad", "db", "nil", "web"}) {
		t.Errorf("Keys() = %v", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Targets(cctx, "web"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

func TestStaticIDs(t *testing.T) {
	s := target.StaticIDs("group", "i-b", "i-a")
	insts, err := s.Targets(context.Background(), "group")
	if err != nil || len(insts) != 2 || insts[0].ID != "i-b" || insts[1].ID != "i-a" {
		t.Fatalf("StaticIDs Targets = %+v, %v", insts, err)
	}
	if _, err := target.StaticIDs("empty").Targets(context.Background(), "empty"); !errors.Is(err, diffyerr.ErrNotFound) {
		t.Fatalf("a key with no IDs: err = %v, want ErrNotFound", err)
	}
}

func TestParseIDs(t *testing.T) {
	good := []struct {
		key  string
		want []string
	}{
		{"i-0abc", []string{"i-0abc"}},
		{"i-1,i-2", []string{"i-1", "i-2"}},
		{" i-1 , i-2 ,i-1", []string{"i-1", "i-2"}},
		{"i-2,i-1,i-2,i-1", []string{"i-2", "i-1"}},
		{"mi-0123456789abcdef0", []string{"mi-0123456789abcdef0"}},
	}
	for _, c := range good {
		got, err := target.ParseIDs(c.key)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseIDs(%q) = %q, %v; want %q", c.key, got, err, c.want)
		}
	}
	bad := map[string]string{
		"empty":                 "",
		"spaces only":           "   ",
		"lone comma":            ",",
		"trailing comma":        "i-1,",
		"leading comma":         ",i-1",
		"empty element":         "i-1,,i-2",
		"blank element":         "i-1, ,i-2",
		"inner space":           "i-1 i-2",
		"inner tab":             "i-1\ti-2",
		"newline":               "i-1\ni-2",
		"nul":                   "i-1\x00",
		"escape sequence":       "i-\x1b[31m",
		"del":                   "i-1\x7f",
		"no-break space":        "i-1\u00a0x",
		"too many":              strings.Repeat("i-1,", target.MaxIDs) + "i-1",
		"line separator":        "i-\u2028x",
		"next line (C1)":        "i-\u0085x",
		"inner carriage return": "i-\r1",
	}
	for name, key := range bad {
		ids, err := target.ParseIDs(key)
		if !errors.Is(err, diffyerr.ErrInvalidKey) {
			t.Errorf("ParseIDs (%s) = %q, %v; want ErrInvalidKey", name, ids, err)
		}
		if ids != nil {
			t.Errorf("ParseIDs (%s) returned %q with its error", name, ids)
		}
	}
	// Exactly MaxIDs is fine.
	ids, err := target.ParseIDs(strings.Repeat("i-1,", target.MaxIDs-1) + "i-2")
	if err != nil || len(ids) != 2 {
		t.Errorf("ParseIDs of MaxIDs elements = %d IDs, %v", len(ids), err)
	}
}

// Local and Static pass the Target conformance suite plugin authors use.
func TestTargetSuites(t *testing.T) {
	t.Run("Local", func(t *testing.T) {
		diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
			return diffytest.TargetHarness{Target: target.Local{}, Key: "localhost", Want: []string{target.LocalID}, Missing: "my-asg"}
		})
	})
	t.Run("Static", func(t *testing.T) {
		diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
			return diffytest.TargetHarness{Target: target.StaticIDs("web", "i-1", "i-2", "i-1"), Key: "web",
				Want: []string{"i-1", "i-2"}, Missing: "db"}
		})
	})
}
