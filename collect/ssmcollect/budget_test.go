package ssmcollect_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// hexHost prints, for every query, rows of random hexadecimal (seeded by
// the host), about n bytes: gzip keeps about half of it, so that both the
// S3 object and what it decompresses to weigh in the read budget.
type hexHost struct {
	seed uint64
	n    int
}

const hexRow = 64 // hexadecimal digits a row

func (h hexHost) Output(commandID string) ([]byte, bool) {
	rng := rand.New(rand.NewPCG(h.seed, uint64(len(commandID))))
	raw := make([]byte, hexRow/2)
	out := []byte{'['}
	for i := 0; len(out) < h.n; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		out = append(out, `{"k":"`...)
		out = hex.AppendEncode(out, raw)
		out = append(out, `"}`...)
	}
	return append(out, "]\n"...), true
}

// rows is how many rows Output prints.
func (h hexHost) rows() int {
	const row = len(`{"k":""},`) + hexRow
	return (h.n - 1 + row - 1) / row
}

// TestReadBudgetHoldsBytesInMemory: the bytes of output in memory at once,
// over all the reads of a run, stay within the read budget, when many big
// outputs are read at once and each read must grow its reservation (the S3
// object first, then what it decompresses to, which only the object
// tells). Before, a read that could not grow at once gave back what it
// held while the object it had read was still in memory, and another read
// took that budget: 1.67 to 1.94 times the budget were held at once (3
// runs). Each
// output here weighs about 1.2 MiB (0.5 of object, 0.7 decompressed), the
// budget is 3 MiB, and 12 are read: the reads must wait for one another.
func TestReadBudgetHoldsBytesInMemory(t *testing.T) {
	const (
		hosts  = 12
		each   = 100 << 10 // bytes of each command's output
		budget = 3 << 20
	)
	var insts []awsfake.Instance
	want := map[string]int{}
	for i := 0; i < hosts; i++ {
		h := hexHost{seed: uint64(i), n: each}
		id := fmt.Sprintf("i-%017x", 0xbd0+i)
		insts = append(insts, awsfake.Instance{Instance: target.Instance{ID: id}, Host: h})
		want[id] = h.rows()
	}
	e, tis := newHostsEnv(t, insts)
	var (
		mu                sync.Mutex
		live, peak, total int64
	)
	hook := func(d int64) {
		mu.Lock()
		defer mu.Unlock()
		live += d
		peak = max(peak, live)
		total += max(d, 0)
	}
	col := e.collector(t, "diffy-budget", ssmcollect.WithReadBudget(budget), ssmcollect.WithLiveHook(hook))
	res, err := col.Collect(context.Background(), tis, payload.StandardPack())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != collect.StatusSuccess || len(r.Rows) != want[r.InstanceID] {
			t.Errorf("%s %s: %s, %d rows (want Success, %d rows): %s", r.InstanceID, r.CommandID, r.Status, len(r.Rows), want[r.InstanceID], r.Error)
		}
	}
	t.Logf("bytes of output in memory: at most %d at once (%.2f times the %d-byte budget), %d over the run; %d GetObject calls for %d hosts",
		peak, float64(peak)/budget, budget, total, e.srv.Calls()["s3:GetObject"].Operations, hosts)
	if total < 2*budget {
		t.Fatalf("the reads brought %d bytes into memory over the run, under twice the %d-byte budget: they need not wait for one another, so the test shows nothing", total, budget)
	}
	if peak > budget {
		t.Errorf("%d bytes of output were in memory at once, over the %d-byte read budget (%.2f times)", peak, budget, float64(peak)/budget)
	}
	if live != 0 {
		t.Errorf("%d bytes still counted in memory after the run", live)
	}
}
