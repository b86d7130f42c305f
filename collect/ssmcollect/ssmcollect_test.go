package ssmcollect_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
)

func TestCollectBothModes(t *testing.T) {
	for _, mode := range []string{"api", "s3"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, 120, awsfake.WithInMemory())
				bucket := ""
				if mode == "s3" {
					bucket = "diffy-output"
				}
				c := e.collector(t, bucket)
				insts := e.fleet.Instances()
				res, err := c.Collect(context.Background(), insts, payload.StandardPack())
				if err != nil {
					t.Fatal(err)
				}
				by := e.check(t, insts, res, wholeOrCut(mode == "api"))
				t.Logf("statuses %v; calls%s", by, calls(e.srv))
				checkShared(t, res)
				// The design's call counts (see the package doc): one
				// SendCommand and one precheck per 50 instances, one read per
				// instance, at least one poll per command.
				cc := e.srv.Calls()
				read := "ssm:GetCommandInvocation"
				if mode == "s3" {
					read = "s3:GetObject"
				}
				batches := int64((len(insts) + 49) / 50)
				// (Operations, not Calls: the SDK may retry an attempt on its
				// own under load.)
				if cc["ssm:SendCommand"].Operations != batches || cc["ssm:DescribeInstanceInformation"].Operations != batches ||
					cc[read].Operations != int64(len(insts)) || cc["ssm:ListCommandInvocations"].Operations < batches {
					t.Errorf("calls%s; want %d SendCommand and DescribeInstanceInformation, >= %d ListCommandInvocations, %d %s",
						calls(e.srv), batches, batches, len(insts), read)
				}
			})
		})
	}
}

// checkShared checks that equal rows of different instances are one map
// (collect.RowPool), and that the fleet has some.
func checkShared(t *testing.T, res []collect.Result) {
	t.Helper()
	type seen struct {
		row      collect.Row
		instance string
	}
	first := map[string]seen{} // by the row's printed form
	shared := 0
	for _, r := range res {
		for _, row := range r.Rows {
			k := fmt.Sprint(r.CommandID, row) // fmt sorts map keys
			s, ok := first[k]
			if !ok {
				first[k] = seen{row, r.InstanceID}
				continue
			}
			if s.instance == r.InstanceID {
				continue // a host may list the same row twice
			}
			if reflect.ValueOf(s.row).UnsafePointer() != reflect.ValueOf(row).UnsafePointer() || !maps.Equal(s.row, row) {
				t.Fatalf("%s and %s have the same %s row %v in two maps", s.instance, r.InstanceID, r.CommandID, row)
			}
			shared++
		}
	}
	if shared == 0 {
		t.Error("no row is shared between instances: the fleet has rows in common")
	}
}

// TestMaxErrors: with MaxConcurrency 1 and MaxErrors 0 (WithRateControl),
// SSM stops a batch's command after its first failed instance; every
// instance still has its Results: Success before the failure, Failed for
// the failing one, Terminated (with an error naming MaxErrors) after.
func TestMaxErrors(t *testing.T) { synctest.Test(t, testMaxErrors) }

// testMaxErrors is TestMaxErrors, in a synctest bubble, where one-at-a-time
// invocations (MaxConcurrency 1) take their RunTime on the bubble's clock.
func testMaxErrors(t *testing.T) {
	e := newEnv(t, 8, awsfake.WithFaults(awsfake.Faults{Seed: 3, Failing: 0.25}), awsfake.WithInMemory())
	c := e.collector(t, "diffy-output", ssmcollect.WithRateControl("1", "0"))
	insts := e.fleet.Instances()
	failing := map[string]bool{}
	for _, id := range e.srv.Selected(awsfake.FaultFailing) {
		failing[id] = true
	}
	if len(failing) == 0 {
		t.Fatal("no failing instance selected")
	}
	res, err := c.Collect(context.Background(), insts, payload.StandardPack())
	if err != nil {
		t.Fatal(err)
	}
	seenFailure, terminated := false, 0
	e.check(t, insts, res, func(r collect.Result) error {
		switch {
		case !seenFailure && !failing[r.InstanceID] && r.Status == collect.StatusSuccess:
		case !seenFailure && failing[r.InstanceID] && r.Status == collect.StatusFailed:
		case r.Status == collect.StatusTerminated && r.StatusDetails == "Terminated" && strings.Contains(r.Error, "MaxErrors"):
			terminated++
		default:
			return fmt.Errorf("status %s (%s), failing %v, after a failure %v: %s", r.Status, r.StatusDetails, failing[r.InstanceID], seenFailure, r.Error)
		}
		if failing[r.InstanceID] && r.CommandID == payload.StandardPack()[len(payload.StandardPack())-1].ID {
			seenFailure = true
		}
		return nil
	})
	if terminated == 0 {
		t.Error("no instance was stopped by MaxErrors")
	}
}
