package ssmcollect_test

import (
	"context"
	"testing"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
)

func TestCollectBothModes(t *testing.T) {
	for _, mode := range []string{"api", "s3"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, 120, awsfake.Options{})
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
		})
	}
}
