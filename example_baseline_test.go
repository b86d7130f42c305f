package diffy_test

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/persist"
)

// ExampleDiffy_Baseline baselines the lab's group without naming a clean
// machine: Baseline collects the group, runs the cluster analysis and
// keeps its most typical host (the medoid), never the odd web-3.
func ExampleDiffy_Baseline() {
	ctx := context.Background()
	d, err := diffy.New(diffy.WithTarget(labTarget{}), diffy.WithPayload(portsPayload{}),
		diffy.WithCollector(labCollector{}), diffy.WithStore(persist.NewMemory()))
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := d.Baseline(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("baseline from", rs[0].InstanceID)
	report, err := d.Analyze(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range report.Outliers() {
		fmt.Println("outlier", h.InstanceID)
	}
	// Output:
	// baseline from web-1
	// outlier web-3
}

// ExampleDiffy_BaselineFleet keeps the whole group as the baseline: the
// baseline analyzer then compares each machine with that fleet, so what
// the group held then is no finding.
func ExampleDiffy_BaselineFleet() {
	ctx := context.Background()
	d, err := diffy.New(diffy.WithTarget(labTarget{}), diffy.WithPayload(portsPayload{}),
		diffy.WithCollector(labCollector{}), diffy.WithStore(persist.NewMemory()),
		diffy.WithAnalyzer(analyze.Baseline{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := d.BaselineFleet(ctx, "web")
	fmt.Println(len(rs), "baseline Results", err)
	report, err := d.Analyze(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.BaselineHosts, "baseline hosts,", len(report.Outliers()), "outliers")
	// Output:
	// 3 baseline Results <nil>
	// 3 baseline hosts, 0 outliers
}
