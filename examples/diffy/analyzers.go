package main

// analyzers are the --analyzer names, for `diffy plugins` and the usage
// check; cli.NewAnalyzer makes them.
var analyzers = []plugin{
	{"baseline", "row diff of every host against the key's baseline (run diffy baseline KEY first)"},
	{"cluster", "hosts and rows most of the fleet does not share; no baseline needed"},
}
