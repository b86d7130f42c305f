package cli

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version returns what --version prints for program prog: the module's
// version and the VCS revision it was built from, as the Go toolchain
// recorded them in the binary (debug.ReadBuildInfo), and the Go version.
func Version(prog string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return prog + " (no build information in this binary)"
	}
	return versionOf(prog, bi)
}

// versionOf is Version for the build information bi:
//
//	diffy v1.2.0 (github.com/diffy-dfir/diffy), revision 0f61989c1a2b (2026-12-01T22:30:00Z, modified), go1.26.8
//
// "(devel)" stands for a version the toolchain did not know (a build from
// a checkout that is not a tagged module version); the revision is left out
// when the build recorded none (go run, go test).
func versionOf(prog string, bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	s := fmt.Sprintf("%s %s (%s)", prog, v, bi.Main.Path)
	settings := map[string]string{}
	for _, kv := range bi.Settings {
		settings[kv.Key] = kv.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		s += ", revision " + rev[:min(12, len(rev))]
		var about []string
		if t := settings["vcs.time"]; t != "" {
			about = append(about, t)
		}
		if settings["vcs.modified"] == "true" {
			about = append(about, "modified")
		}
		if len(about) > 0 {
			s += " (" + strings.Join(about, ", ") + ")"
		}
	}
	if bi.GoVersion != "" {
		s += ", " + bi.GoVersion
	}
	return s
}
