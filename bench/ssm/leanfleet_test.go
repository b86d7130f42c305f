package main

import "testing"

// BenchmarkLeanFleet measures building the fake's fleet (leanFleet) of
// 2,000 -distinct hosts: what the 100,000-host run spends before it
// collects anything, fifty times over.
//
//	go test -run '^$' -bench LeanFleet -benchtime 2x -benchmem ./bench/ssm
func BenchmarkLeanFleet(b *testing.B) {
	distinct = true
	defer func() { distinct = false }()
	for b.Loop() {
		insts, _, err := leanFleet(2000)
		if err != nil {
			b.Fatal(err)
		}
		if len(insts) != 2000 {
			b.Fatalf("%d hosts, want 2000", len(insts))
		}
	}
}
