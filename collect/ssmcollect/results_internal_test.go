package ssmcollect

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/payload"
)

// noSSM is a client the test never calls.
type noSSM struct {
	SendCommandAPI
	ListCommandInvocationsAPI
	GetCommandInvocationAPI
	CancelCommandAPI
}

// TestResultsShareRowsInOnePass: the rows of a whole frame are decoded
// straight into the run's RowPool (collect.Limits.FillShared), so that a
// row the pool already has is never made: building a host's Results
// allocates no more than FillShared alone on the same output (its floor)
// and a few values of the Result. Before, every row was made as a map of
// its own and then swapped for the pool's (Fill, then RowPool.Share): 807
// allocations more than the floor for the 200 rows of two columns here.
func TestResultsShareRowsInOnePass(t *testing.T) {
	const rows = 200
	var c noSSM
	col, err := New(Clients{Send: c, List: c, Get: c, Cancel: c})
	if err != nil {
		t.Fatal(err)
	}
	cmd := payload.Command{ID: "users", Shell: "cat /etc/passwd"}
	stdout := []byte{'['}
	for i := range rows {
		if i > 0 {
			stdout = append(stdout, ',')
		}
		stdout = fmt.Appendf(stdout, `{"name":"user%d","uid":"%d"}`, i, 1000+i)
	}
	stdout = append(stdout, "]\n"...)
	marker := ssmframe.NewMarker()
	stream := ssmframe.AppendDone(ssmframe.AppendFrame(nil, marker, cmd.ID, 0, stdout), marker)
	sp := ssmframe.Split(stream, stream, marker, []string{cmd.ID})
	pool := new(collect.RowPool)
	r := &run{c: col, cmds: []payload.Command{cmd}, cmdIDs: []string{cmd.ID}}
	s := sent{commandID: "cmd", marker: marker, cmds: r.cmds, cmdIDs: r.cmdIDs, pool: pool}
	inv := types.CommandInvocation{Status: types.CommandInvocationStatusSuccess, StatusDetails: aws.String("Success")}
	build := func() []collect.Result {
		res, _ := r.results(s, "i-0123456789abcdef0", inv, sp, output{ok: true})
		return res
	}
	first := build() // fills the pool
	if x := first[0]; x.Status != collect.StatusSuccess || len(x.Rows) != rows {
		t.Fatalf("%s, %d rows: %s", x.Status, len(x.Rows), x.Error)
	}
	var f collect.Result
	floor := testing.AllocsPerRun(50, func() {
		f = collect.Result{CommandID: cmd.ID}
		col.o.limits.FillShared(pool, &f, sp.Frames[cmd.ID].Stdout, "", false, "")
	})
	got := testing.AllocsPerRun(50, func() { _ = build() })
	again := build()
	for i := range again[0].Rows {
		if fmt.Sprintf("%p", again[0].Rows[i]) != fmt.Sprintf("%p", first[0].Rows[i]) {
			t.Fatalf("row %d of a second host is not the pool's", i)
		}
	}
	// Made rows would cost at least one allocation each; the Result's own
	// values (the slice of Results, strings) a handful, whatever the rows
	// (under -race sync.Pool drops items at random, and the decoder's
	// scratch is made again: the floor and the count vary by tens).
	t.Logf("%.0f allocations to build the Results, %.0f for FillShared alone", got, floor)
	if got-floor >= rows {
		t.Errorf("building the Results of %d pooled rows took %.0f allocations, %.0f more than FillShared alone (want under one a row): rows are made before they are shared", rows, got, got-floor)
	}
}
