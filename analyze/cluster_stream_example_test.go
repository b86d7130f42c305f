package analyze_test

import (
	"context"
	"fmt"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// Analyze a group host by host, as a reader of one file per host does:
// each host's Results are added, then dropped. The Report is Analyze's on
// all of them at once.
func ExampleStreamer() {
	f := fleet.Generate(fleet.Scenario("medium"))
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()

	var a analyze.Analyzer = analyze.Clustering{}
	st, ok := a.(analyze.Streamer)
	if !ok {
		fmt.Println("not a Streamer")
		return
	}
	s, err := st.NewStream("shop-prod", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range f.Hosts {
		if err := s.Add(ctx, f.Hosts[i].Results(at)); err != nil {
			fmt.Println(err)
			return
		}
	}
	rep, err := s.Report(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("hosts:", len(rep.Hosts), "outliers:", len(rep.Outliers()))
	for _, h := range rep.Outliers() {
		fmt.Printf("%s: %s row on %d host\n", h.InstanceID, h.Findings[0].CommandID, h.Findings[0].HostsWithRow)
	}
	// Output:
	// hosts: 200 outliers: 4
	// i-069e31e6dfec2ae06: processes row on 1 host
	// i-06d246c3412a81d29: kernel_modules row on 1 host
	// i-0bab1956f12340eec: processes row on 1 host
	// i-0e4a57e982386b085: users row on 1 host
}
