package history

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/persist"
)

// plainStore is a Store without the optional capabilities of the one it
// holds.
type plainStore struct{ persist.Store }

// failingPutFrom is a Dir whose PutFrom fails for one kind.
type failingPutFrom struct {
	*persist.Dir
	kind persist.Kind
}

var errDisk = errors.New("disk full")

func (f failingPutFrom) PutFrom(ctx context.Context, kind persist.Kind, key string, r io.Reader) error {
	if kind == f.kind {
		_, _ = io.CopyN(io.Discard, r, 10)
		return errDisk
	}
	return f.Dir.PutFrom(ctx, kind, key, r)
}

// TestPutStream checks that PutStream stores what write writes as the
// run's document and the plain one, byte for byte, with and without the
// store's StreamPutter; that an error of write stores neither and is
// returned; and that a store failing either document stores neither and
// its error is returned, not the other's stopping.
func TestPutStream(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	doc := strings.Repeat(`{"host":"i-0abc","findings":[1,2,3]}`+"\n", 50000) // 2 MB, many pipe writes
	write := func(w io.Writer) error {
		for i := 0; i < len(doc); i += 4096 {
			if _, err := w.Write([]byte(doc[i:min(i+4096, len(doc))])); err != nil {
				return err
			}
		}
		return nil
	}
	for name, st := range map[string]persist.Store{
		"Dir":                persist.NewDir(t.TempDir()),
		"Memory":             persist.NewMemory(),
		"without PutFrom":    plainStore{persist.NewDir(t.TempDir())},
		"Memory, no PutFrom": plainStore{persist.NewMemory()},
	} {
		t.Run(name, func(t *testing.T) {
			id := IDAt(now, "a1")
			if err := PutStream(ctx, st, persist.KindAnalysis, "k", id, write, Retention{}, now); err != nil {
				t.Fatal(err)
			}
			for _, got := range []struct {
				what string
				id   string
			}{{"run", id}, {"plain", Latest}} {
				b, err := Get(ctx, st, persist.KindAnalysis, "k", got.id)
				if err != nil || string(b) != doc {
					t.Errorf("%s document: %d bytes, %v; want the %d written", got.what, len(b), err, len(doc))
				}
			}
			bad := errors.New("the analysis failed")
			id2 := IDAt(now.Add(time.Second), "b2")
			err := PutStream(ctx, st, persist.KindAnalysis, "k", id2, func(w io.Writer) error {
				if _, err := w.Write([]byte(doc[:100000])); err != nil {
					return err
				}
				return bad
			}, Retention{}, now)
			if err != bad {
				t.Errorf("write failing: PutStream = %v, want write's error", err)
			}
			if b, err := Get(ctx, st, persist.KindAnalysis, "k", Latest); err != nil || string(b) != doc {
				t.Errorf("after a failed write the plain document changed (%d bytes, %v)", len(b), err)
			}
			if _, err := Get(ctx, st, persist.KindAnalysis, "k", id2); err == nil {
				t.Error("after a failed write the run's document was stored")
			}
		})
	}
	for _, kind := range []persist.Kind{KindOf(persist.KindAnalysis), persist.KindAnalysis} {
		st := failingPutFrom{persist.NewDir(t.TempDir()), kind}
		id := IDAt(now, "c3")
		err := PutStream(ctx, st, persist.KindAnalysis, "k", id, write, Retention{}, now)
		if !errors.Is(err, errDisk) {
			t.Errorf("store failing %s: PutStream = %v, want the store's error", kind, err)
		}
		for _, id := range []string{id, Latest} {
			if b, err := Get(ctx, st, persist.KindAnalysis, "k", id); err == nil {
				t.Errorf("store failing %s: document %s stored anyway (%d bytes)", kind, id, len(b))
			}
		}
	}
}
