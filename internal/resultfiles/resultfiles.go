// Package resultfiles makes results files (the JSON arrays of
// collect.Result that `diffy collect` saves and `diffy analyze --from`
// reads) for the tests and benchmarks of the packages that read them:
// a simulated fleet's hosts, one file a host, and a file of distinct tiny
// rows, the shape that holds the most memory for its size.
package resultfiles

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// At is when the files' Results were collected: 2026-11-26 12:00 UTC.
var At = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Fleet returns the files of the hosts of fleet.Scenario(scenario) made
// hosts large, one a host in the fleet's order, collected At, and their
// size in all.
func Fleet(scenario string, hosts int) (files [][]byte, size int) {
	cfg := fleet.Scenario(scenario)
	cfg.Hosts = hosts
	f := fleet.Generate(cfg)
	for i := range f.Hosts {
		data, err := json.Marshal(f.Hosts[i].Results(At))
		if err != nil {
			panic("resultfiles: " + err.Error())
		}
		files = append(files, data)
		size += len(data)
	}
	return files, size
}

// TinyRows returns a file of results Results ("i-0", "i-1", ...; command
// "x"), each of rows distinct one-column rows {"a":"N"}, N counting from
// 0 across the file: about 35 times its size in memory when kept.
func TinyRows(results, rows int) []byte {
	var b strings.Builder
	b.WriteString("[")
	for r := range results {
		if r > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"instance_id":"i-%d","command_id":"x","status":"Success","stdout":[`, r)
		for i := range rows {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"a":"%d"}`, r*rows+i)
		}
		b.WriteString("]}")
	}
	b.WriteString("]")
	return []byte(b.String())
}
