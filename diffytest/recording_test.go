package diffytest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// The fakes record what they were asked, as copies, and a FakeCollector's
// raw output goes through collect.Limits.Fill like a real collector's.

func TestFakeCollectorRawOutput(t *testing.T) {
	c := diffytest.NewFakeCollector(nil)
	c.Limits = collect.Limits{MaxBytes: 64}
	c.SetOutput("i-1", "notjson", []byte("Error: no such table: users"), "", 0)
	c.SetOutput("i-1", "exit2", []byte(""), "permission denied\n", 2)
	c.SetOutput("i-1", "big", []byte(`[{"a":"`+strings.Repeat("x", 100)+`"}]`), "", 0)
	c.SetOutput("i-1", "ok", []byte(`[{"a":"1","n":2}]`), "", 0)
	var cmds []payload.Command
	for _, id := range []string{"notjson", "exit2", "big", "ok", "unset"} {
		cmds = append(cmds, payload.Command{ID: id, Shell: "true"})
	}
	rs, err := c.Collect(context.Background(), []target.Instance{{ID: "i-1"}}, cmds)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]collect.Result{}
	for _, r := range rs {
		got[r.CommandID] = r
	}
	if r := got["notjson"]; r.Status != collect.StatusFailed || !strings.Contains(r.Error, "notjson") {
		t.Errorf("output that is not JSON: %+v, want StatusFailed with an error naming the command", r)
	}
	if r := got["exit2"]; r.Status != collect.StatusFailed || r.ExitCode != 2 || r.Stderr != "permission denied\n" {
		t.Errorf("exit status 2: %+v, want StatusFailed keeping the exit code and stderr", r)
	}
	if r := got["big"]; r.Status != collect.StatusFailed || !r.Truncated || r.Rows != nil {
		t.Errorf("output over MaxBytes: %+v, want StatusFailed, Truncated, no rows", r)
	}
	if r := got["ok"]; r.Status != collect.StatusSuccess || len(r.Rows) != 1 || r.Rows[0]["n"] != "2" || r.RawBytes == 0 {
		t.Errorf("good output: %+v, want one row with n=2 and RawBytes", r)
	}
	if r := got["unset"]; r.Status != collect.StatusFailed || r.ExitCode != 1 {
		t.Errorf("a command with no output set: %+v, want StatusFailed with exit status 1", r)
	}

	calls := c.Calls()
	if len(calls) != 1 || len(calls[0].Commands) != 5 || calls[0].Instances[0].ID != "i-1" {
		t.Fatalf("Calls() = %+v, want the one call", calls)
	}
	calls[0].Instances[0].ID = "changed"
	if c.Calls()[0].Instances[0].ID != "i-1" {
		t.Error("changing what Calls returned changed the record")
	}
}

func TestFakeStoreRecords(t *testing.T) {
	ctx := context.Background()
	s := diffytest.NewFakeStore()
	_ = s.Put(ctx, persist.KindBaseline, "web", []byte(`{}`))
	_, _ = s.Get(ctx, persist.KindBaseline, "db")
	_ = s.Put(ctx, persist.KindBaseline, "../x", []byte(`{}`))
	_, _ = s.List(ctx, persist.KindBaseline)
	_ = s.Delete(ctx, persist.KindBaseline, "web")
	calls := s.Calls()
	var ops []string
	for _, c := range calls {
		ops = append(ops, c.Op+" "+string(c.Kind)+" "+c.Key)
	}
	want := []string{"Put baseline web", "Get baseline db", "Put baseline ../x", "List baseline ", "Delete baseline web"}
	if !slices.Equal(ops, want) {
		t.Fatalf("calls %q, want %q", ops, want)
	}
	if calls[0].Err != nil || !errors.Is(calls[1].Err, diffyerr.ErrNotFound) || !errors.Is(calls[2].Err, diffyerr.ErrInvalidKey) {
		t.Errorf("recorded errors %v, %v, %v: want nil, ErrNotFound, ErrInvalidKey", calls[0].Err, calls[1].Err, calls[2].Err)
	}
}

func TestFakeTargetPayloadInventoryRecord(t *testing.T) {
	ctx := context.Background()
	tg := diffytest.NewFakeTarget(map[string][]target.Instance{"web": {{ID: "i-1"}}})
	_, _ = tg.Targets(ctx, "web")
	_, err := tg.Targets(ctx, "db")
	if !errors.Is(err, diffyerr.ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	tg.Set("db", target.Instance{ID: "i-9"})
	if insts, err := tg.Targets(ctx, "db"); err != nil || insts[0].ID != "i-9" {
		t.Errorf("after Set: %v, %v", insts, err)
	}
	tg.Set("db")
	if _, err := tg.Targets(ctx, "db"); !errors.Is(err, diffyerr.ErrNotFound) {
		t.Errorf("after Set with no instance: %v, want ErrNotFound", err)
	}
	if got := tg.Calls(); !slices.Equal(got, []string{"web", "db", "db", "db"}) {
		t.Errorf("target calls %q", got)
	}

	p := diffytest.NewFakePayload(payload.StandardPack()...)
	_, _ = p.Generate(ctx, "inc-1")
	_, _ = p.Generate(ctx, "inc-2")
	if got := p.Incidents(); !slices.Equal(got, []string{"inc-1", "inc-2"}) {
		t.Errorf("incidents %q", got)
	}
	if _, err := diffytest.NewFakePayload().Generate(ctx, "x"); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("a payload of no command: %v, want ErrInvalidInput", err)
	}

	inv := diffytest.NewFakeInventory(inventory.Entry{Key: "web"})
	inv.Add(inventory.Entry{Key: "db"})
	es, err := inv.Entries(ctx)
	if err != nil || len(es) != 2 || es[1].Key != "db" {
		t.Errorf("entries %v, %v", es, err)
	}
	inv.Add(inventory.Entry{Key: "web"})
	if _, err := inv.Entries(ctx); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("a repeated key: %v, want ErrInvalidInput", err)
	}
	if inv.Calls() != 2 {
		t.Errorf("inventory calls %d, want 2", inv.Calls())
	}
}

func TestFakeAnalyzerRecordsInputs(t *testing.T) {
	a := &diffytest.FakeAnalyzer{}
	rows := []collect.Row{{"a": "1"}}
	in := analyze.Input{Key: "web", Results: []collect.Result{{InstanceID: "i-1", CommandID: "c", Status: collect.StatusSuccess, Rows: rows}}}
	if _, err := a.Analyze(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	rows[0]["a"] = "changed"
	got := a.Inputs()
	if len(got) != 1 || got[0].Key != "web" || got[0].Results[0].Rows[0]["a"] != "1" {
		t.Errorf("Inputs() = %+v, want a copy of the input as it was", got)
	}
	b := &diffytest.FakeAnalyzer{UseBaseline: true}
	if _, err := b.Analyze(context.Background(), in); !errors.Is(err, diffyerr.ErrNoBaseline) {
		t.Errorf("UseBaseline without a baseline: %v, want ErrNoBaseline", err)
	}
	if !b.NeedsBaseline() || a.NeedsBaseline() {
		t.Error("NeedsBaseline does not follow UseBaseline")
	}
}

func TestStoreFuncsUnset(t *testing.T) {
	var s diffytest.StoreFuncs
	ctx := context.Background()
	_, gerr := s.Get(ctx, persist.KindBaseline, "k")
	_, lerr := s.List(ctx, persist.KindBaseline)
	for _, err := range []error{s.Put(ctx, persist.KindBaseline, "k", nil), gerr, lerr} {
		if !errors.Is(err, diffytest.ErrUnset) {
			t.Errorf("an unset method returned %v, want ErrUnset", err)
		}
	}
}
