package cli

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/diffy-dfir/diffy", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0f61989c1a2b3c4d5e6f0f61989c1a2b3c4d5e6f"},
			{Key: "vcs.time", Value: "2026-12-01T22:30:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf("diffy", bi), "diffy v1.2.0 (github.com/diffy-dfir/diffy), revision 0f61989c1a2b (2026-12-01T22:30:00Z, modified), go1.26.8"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/diffy-dfir/diffy"}}
	if got, want := versionOf("diffy", bi), "diffy (devel) (github.com/diffy-dfir/diffy), go1.26.8"; got != want {
		t.Errorf("versionOf without VCS = %q, want %q", got, want)
	}
	if v := Version("diffy"); !strings.HasPrefix(v, "diffy ") {
		t.Errorf("Version = %q", v)
	}
}
