package diffy_test

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/persist"
)

// ExampleScanResults counts the Results of saved files without holding
// them: each file's Results are seen once, then dropped.
func ExampleScanResults() {
	n := 0
	hosts := map[string]bool{}
	skipped, err := diffy.ScanResults([]string{"testdata/original"}, func(source string, rs []collect.Result) error {
		n += len(rs)
		for _, r := range rs {
			hosts[r.InstanceID] = true
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n, "results of", len(hosts), "hosts,", len(skipped), "skipped")
	// Output:
	// 3 results of 3 hosts, 0 skipped
}

// ExampleDiffy_AnalyzeFiles analyzes saved files with the cluster
// analyzer, which reads them one at a time (it is an analyze.Streamer).
func ExampleDiffy_AnalyzeFiles() {
	d, _ := diffy.New(diffy.WithAnalyzer(analyze.Clustering{}), diffy.WithStore(persist.NewMemory()))
	report, skipped, err := d.AnalyzeFiles(context.Background(), "web", []string{"testdata/original"}, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Analyzer, len(report.Hosts), "hosts,", len(skipped), "files skipped")
	// Output:
	// cluster 3 hosts, 0 files skipped
}
