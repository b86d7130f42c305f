package ssmcollect_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
)

// TestBatchesCollectedWhileStoring: while fn stores a batch (here an hour
// on the bubble's clock), the other batches are collected, and each is
// handed to fn the moment the one before returns, one call at a time,
// every pair once. Before, a finished batch waited for the store on a
// mutex, which a testing/synctest bubble does not count as durably
// blocked: the bubble's clock stopped, and the run (the test) hung.
func TestBatchesCollectedWhileStoring(t *testing.T) {
	synctest.Test(t, testBatchesCollectedWhileStoring)
}

func testBatchesCollectedWhileStoring(t *testing.T) {
	const store = time.Hour
	e := newEnv(t, 30, awsfake.WithInMemory())
	col := e.collector(t, "", ssmcollect.WithBatchSize(10))
	insts := e.fleet.Instances()
	var (
		res      []collect.Result
		in       atomic.Int32
		calls    int
		returned time.Time
	)
	err := col.CollectBatches(context.Background(), insts, payload.StandardPack(), func(b []collect.Result) error {
		if in.Add(1) != 1 {
			t.Error("fn called while another call runs")
		}
		defer in.Add(-1)
		calls++
		if calls > 1 && !time.Now().Equal(returned) {
			t.Errorf("batch %d handed over %v after the one before was stored, want at once (it was collected meanwhile)", calls, time.Since(returned))
		}
		res = append(res, b...)
		if calls == 1 {
			time.Sleep(store) // a slow store write
		}
		returned = time.Now()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("%d batches, want 3", calls)
	}
	e.check(t, insts, res, wholeOrCut(true))
}
