package diffy_test

import (
	"context"
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
