package main

import (
	"github.com/diffy-dfir/diffy/analyze"
)

// analyzers are the --analyzer names, for `diffy plugins` and the usage
// check.
var analyzers = []plugin{
	{"baseline", "row diff of every host against the key's baseline (run diffy baseline KEY first)"},
	{"cluster", "hosts and rows most of the fleet does not share; no baseline needed"},
}

// newAnalyzer returns the analyzer named by --analyzer.
func newAnalyzer(name string) (analyze.Analyzer, error) {
	switch name {
	case "baseline":
		return analyze.Baseline{}, nil
	case "cluster":
		return analyze.Clustering{}, nil
	}
	return nil, usagef("unknown --analyzer %q", name)
}
