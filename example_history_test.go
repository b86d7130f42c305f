package diffy_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/persist"
)

// Every collection is kept as a run of its key, beside the newest one:
// here two collections of a day apart (run IDs fixed with WithRun for a
// stable output; by default each call takes a new one), listed and one of
// them loaded again.
func ExampleDiffy_Runs() {
	ctx := context.Background()
	store := persist.NewMemory()
	var d *diffy.Diffy
	for _, run := range []string{"20261125T120000.000Z-mon", "20261126T120000.000Z-tue"} {
		var err error
		d, err = diffy.New(diffy.WithTarget(labTarget{}), diffy.WithPayload(portsPayload{}),
			diffy.WithCollector(labCollector{}), diffy.WithStore(store), diffy.WithRun(run))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := d.Collect(ctx, "web"); err != nil {
			log.Fatal(err)
		}
	}
	runs, err := d.Runs(ctx, "web")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range runs {
		fmt.Printf("%s %s %s latest=%v\n", r.Kind, r.ID, r.Time.Format("2006-01-02"), r.Latest)
	}
	monday, err := d.LoadCollection(ctx, "web", runs[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(monday), "results on", runs[0].ID)
	// Output:
	// collection 20261125T120000.000Z-mon 2026-11-25 latest=false
	// collection 20261126T120000.000Z-tue 2026-11-26 latest=true
	// 3 results on 20261125T120000.000Z-mon
}

// Diff collects now and compares each host with its own earlier
// collection; the first Diff of a key only keeps its collection.
func ExampleDiffy_Diff() {
	ctx := context.Background()
	d, err := diffy.New(diffy.WithTarget(labTarget{}), diffy.WithPayload(portsPayload{}),
		diffy.WithCollector(labCollector{}), diffy.WithStore(persist.NewMemory()))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := d.Diff(ctx, "web", diffy.Earlier{}); errors.Is(err, diffy.ErrNoEarlier) {
		fmt.Println("first collection kept")
	}
	// Later (here at once): the lab did not change.
	rep, err := d.Diff(ctx, "web", diffy.Earlier{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Analyzer, len(rep.Hosts), "hosts,", len(rep.Outliers()), "changed")
	// Output:
	// first collection kept
	// diff 3 hosts, 0 changed
}
