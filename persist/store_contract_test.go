package persist_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// badKeys are keys (and kinds) every Store must refuse with ErrInvalidKey.
var badKeys = map[string]string{
	"empty":           "",
	"dot":             ".",
	"dotdot":          "..",
	"slash":           "a/b",
	"leading slash":   "/etc/passwd",
	"parent path":     "../escape",
	"deep parent":     "../../../../../../tmp/escape",
	"trailing slash":  "a/",
	"backslash":       `a\b`,
	"windows parent":  `..\escape`,
	"nul":             "a\x00b",
	"newline":         "a\nb",
	"escape byte":     "a\x1b[31m",
	"del":             "a\x7f",
	"256 bytes":       strings.Repeat("k", 256),
	"only slash":      "/",
	"dotdot slash":    "../",
	"absolute nested": "/tmp/x/../y",
}

// oddGoodKeys are valid keys that look like something else; every Store
// must accept and list them.
var oddGoodKeys = []string{
	".hidden", "..a", "a..b", "a.", "key.json", ".diffy-123.tmp", "x.long",
	"with space", "ünïcødé-グループ", "i-0123456789abcdef0", "-dash", "~tilde",
	strings.Repeat("m", 250), strings.Repeat("n", 251), strings.Repeat("o", 255),
	strings.Repeat("p", 200) + "tail", strings.Repeat("p", 200) + "other-tail-" + strings.Repeat("q", 44),
}

// storeContract runs the Store rules this package promises on a fresh store
// from newStore for each rule.
func storeContract(t *testing.T, newStore func(t *testing.T) persist.Store) {
	ctx := context.Background()

	t.Run("RoundTripByteForByte", func(t *testing.T) {
		s := newStore(t)
		docs := map[string][]byte{
			"empty":  {},
			"json":   []byte(`[{"instance_id":"i-1","stdout":[]}]`),
			"binary": {0, 1, 2, 0xff, 0xfe, '\n', '\r', 0},
			"large":  bytes.Repeat([]byte("0123456789abcdef"), 1<<16),
		}
		for key, doc := range docs {
			if err := s.Put(ctx, persist.KindCollection, key, doc); err != nil {
				t.Fatalf("Put %q: %v", key, err)
			}
		}
		for key, want := range docs {
			got, err := s.Get(ctx, persist.KindCollection, key)
			if err != nil {
				t.Fatalf("Get %q: %v", key, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Get %q: %d bytes differ from the %d put", key, len(got), len(want))
			}
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		for _, doc := range []string{"first, a longer document", "second", ""} {
			if err := s.Put(ctx, persist.KindBaseline, "k", []byte(doc)); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, persist.KindBaseline, "k")
			if err != nil || string(got) != doc {
				t.Fatalf("after Put %q: Get = %q, %v", doc, got, err)
			}
		}
		keys, err := s.List(ctx, persist.KindBaseline)
		if err != nil || !slices.Equal(keys, []string{"k"}) {
			t.Fatalf("List after overwrites = %q, %v; want [k]", keys, err)
		}
	})

	t.Run("ListSortedPerKind", func(t *testing.T) {
		s := newStore(t)
		keys, err := s.List(ctx, persist.KindAnalysis)
		if err != nil || keys == nil || len(keys) != 0 {
			t.Fatalf("List of an empty kind = %#v, %v; want an empty non-nil list", keys, err)
		}
		want := []string{"b", "a", "c-3", "c-10", "Z"}
		for _, k := range want {
			if err := s.Put(ctx, persist.KindAnalysis, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Put(ctx, persist.KindBaseline, "only-baseline", []byte("x")); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		got, err := s.List(ctx, persist.KindAnalysis)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("List = %q, %v; want %q", got, err, want)
		}
		got, err = s.List(ctx, persist.KindBaseline)
		if err != nil || !slices.Equal(got, []string{"only-baseline"}) {
			t.Fatalf("List baseline = %q, %v; want [only-baseline]", got, err)
		}
	})

	t.Run("OddButValidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range oddGoodKeys {
			if err := s.Put(ctx, persist.KindBaseline, k, []byte("doc of "+k)); err != nil {
				t.Fatalf("Put of valid key %q (%d bytes): %v", k, len(k), err)
			}
		}
		for _, k := range oddGoodKeys {
			got, err := s.Get(ctx, persist.KindBaseline, k)
			if err != nil || string(got) != "doc of "+k {
				t.Fatalf("Get %q = %q, %v", k, got, err)
			}
		}
		want := slices.Sorted(slices.Values(oddGoodKeys))
		got, err := s.List(ctx, persist.KindBaseline)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("List = %q, %v; want %q", got, err, want)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, persist.KindBaseline, "present", []byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			kind persist.Kind
			key  string
		}{{persist.KindBaseline, "absent"}, {persist.KindAnalysis, "present"}, {"other-kind", "present"}} {
			_, err := s.Get(ctx, c.kind, c.key)
			if !errors.Is(err, diffyerr.ErrNotFound) {
				t.Fatalf("Get %s/%s: err = %v, want ErrNotFound", c.kind, c.key, err)
			}
			if !strings.Contains(err.Error(), string(c.kind)) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("Get %s/%s: error %q does not name the kind and key", c.kind, c.key, err)
			}
		}
	})

	t.Run("BadKeysRefused", func(t *testing.T) {
		s := newStore(t)
		for name, key := range badKeys {
			isInvalid := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, diffyerr.ErrInvalidKey) {
					t.Errorf("%s with %s key %q: err = %v, want ErrInvalidKey", op, name, key, err)
				}
			}
			isInvalid("Put", s.Put(ctx, persist.KindBaseline, key, []byte("x")))
			_, err := s.Get(ctx, persist.KindBaseline, key)
			isInvalid("Get", err)
			isInvalid("Put kind", s.Put(ctx, persist.Kind(key), "k", []byte("x")))
			_, err = s.Get(ctx, persist.Kind(key), "k")
			isInvalid("Get kind", err)
			_, err = s.List(ctx, persist.Kind(key))
			isInvalid("List kind", err)
			if d, ok := s.(persist.Deleter); ok {
				isInvalid("Delete", d.Delete(ctx, persist.KindBaseline, key))
			}
		}
		for _, kind := range []persist.Kind{persist.KindBaseline, "k"} {
			keys, err := s.List(ctx, kind)
			if err != nil || len(keys) != 0 {
				t.Errorf("List %s after refused Puts = %q, %v; want nothing", kind, keys, err)
			}
		}
	})

	t.Run("Cancelled", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, persist.KindBaseline, "k", []byte("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled ctx: err = %v, want context.Canceled", err)
		}
		if _, err := s.Get(cctx, persist.KindBaseline, "k"); !errors.Is(err, context.Canceled) {
			t.Errorf("Get with a cancelled ctx: err = %v, want context.Canceled", err)
		}
		if _, err := s.List(cctx, persist.KindBaseline); !errors.Is(err, context.Canceled) {
			t.Errorf("List with a cancelled ctx: err = %v, want context.Canceled", err)
		}
		if _, err := s.Get(ctx, persist.KindBaseline, "k"); !errors.Is(err, diffyerr.ErrNotFound) {
			t.Errorf("a Put with a cancelled ctx stored something: Get err = %v", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		d, ok := s.(persist.Deleter)
		if !ok {
			t.Fatalf("%T does not implement persist.Deleter", s)
		}
		long := strings.Repeat("d", 240) + "-long"
		for _, k := range []string{"a", "b", long} {
			if err := s.Put(ctx, persist.KindCollection, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []string{"a", long} {
			if err := d.Delete(ctx, persist.KindCollection, k); err != nil {
				t.Fatalf("Delete %q: %v", k, err)
			}
			if _, err := s.Get(ctx, persist.KindCollection, k); !errors.Is(err, diffyerr.ErrNotFound) {
				t.Fatalf("Get after Delete %q: err = %v, want ErrNotFound", k, err)
			}
		}
		err := d.Delete(ctx, persist.KindCollection, "a")
		if !errors.Is(err, diffyerr.ErrNotFound) || !strings.Contains(err.Error(), `"a"`) {
			t.Fatalf("second Delete: err = %v, want ErrNotFound naming the key", err)
		}
		keys, err := s.List(ctx, persist.KindCollection)
		if err != nil || !slices.Equal(keys, []string{"b"}) {
			t.Fatalf("List after Delete = %q, %v; want [b]", keys, err)
		}
		if err := s.Put(ctx, persist.KindCollection, long, []byte("again")); err != nil {
			t.Fatalf("Put after Delete of a long key: %v", err)
		}
	})

	t.Run("ConcurrentWritersNeverTorn", func(t *testing.T) {
		s := newStore(t)
		const writers, rounds = 8, 25
		// Each document carries the hash of its body: a reader can tell a
		// whole document from a torn one.
		makeDoc := func(w, r int) []byte {
			body := bytes.Repeat([]byte(fmt.Sprintf("writer %d round %d;", w, r)), 500+w*97)
			sum := sha256.Sum256(body)
			return append([]byte(hex.EncodeToString(sum[:])+"\n"), body...)
		}
		whole := func(doc []byte) bool {
			sum, body, ok := bytes.Cut(doc, []byte("\n"))
			h := sha256.Sum256(body)
			return ok && string(sum) == hex.EncodeToString(h[:])
		}
		if err := s.Put(ctx, persist.KindCollection, "shared", makeDoc(0, -1)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan error, writers+4)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					if err := s.Put(ctx, persist.KindCollection, "shared", makeDoc(w, r)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		var readers sync.WaitGroup
		var reads, torn int
		var mu sync.Mutex
		for range 4 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					doc, err := s.Get(ctx, persist.KindCollection, "shared")
					if err != nil {
						errs <- fmt.Errorf("Get during writes: %w", err)
						return
					}
					mu.Lock()
					reads++
					if !whole(doc) {
						torn++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if torn > 0 {
			t.Errorf("%d of %d reads saw a torn document", torn, reads)
		}
		t.Logf("%d writes, %d reads during them, none torn", writers*rounds, reads)
		last, err := s.Get(ctx, persist.KindCollection, "shared")
		if err != nil || !whole(last) {
			t.Fatalf("final document: whole=%v err=%v", whole(last), err)
		}
		lastRound := false
		for w := range writers {
			lastRound = lastRound || bytes.Equal(last, makeDoc(w, rounds-1))
		}
		if !lastRound {
			t.Errorf("final document is not any writer's last one: %.80q", last)
		}
		keys, err := s.List(ctx, persist.KindCollection)
		if err != nil || !slices.Equal(keys, []string{"shared"}) {
			t.Fatalf("List after concurrent writes = %q, %v; want [shared]", keys, err)
		}
	})
}
