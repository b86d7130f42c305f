package persist_test

import (
	"context"
	"testing"

	"github.com/diffy-dfir/diffy/persist"
)

func TestMemoryCopiesInAndOut(t *testing.T) {
	ctx := context.Background()
	m := persist.NewMemory()
	doc := []byte("original")
	if err := m.Put(ctx, persist.KindBaseline, "k", doc); err != nil {
		t.Fatal(err)
	}
	copy(doc, "CHANGED!")
	got, err := m.Get(ctx, persist.KindBaseline, "k")
	if err != nil || string(got) != "original" {
		t.Fatalf("after changing the slice put: Get = %q, %v; want original", got, err)
	}
	copy(got, "CHANGED!")
	again, err := m.Get(ctx, persist.KindBaseline, "k")
	if err != nil || string(again) != "original" {
		t.Fatalf("after changing the slice got: Get = %q, %v; want original", again, err)
	}
}

func TestMemoryZeroValueReady(t *testing.T) {
	var m persist.Memory
	ctx := context.Background()
	if keys, err := m.List(ctx, persist.KindAnalysis); err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("List on the zero Memory = %#v, %v", keys, err)
	}
	if err := m.Put(ctx, persist.KindAnalysis, "k", nil); err != nil {
		t.Fatal(err)
	}
	got, err := m.Get(ctx, persist.KindAnalysis, "k")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get of a nil document = %#v, %v; want an empty non-nil slice", got, err)
	}
}
