package diffytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// TestStore runs the Store suite: each rule below is a subtest of t, run on
// a fresh, empty Store from newStore. A broken rule fails its subtest with
// a message naming the rule. The rules, from the doc comment of
// persist.Store:
//
//   - round-trip: Get returns every document byte for byte as Put wrote
//     it: JSON with raw and escaped Unicode, control characters, HTML,
//     indentation and a trailing newline, numbers a re-encoder would
//     rewrite, and a 1 MiB document. (The suite never puts an empty
//     document: a store holds JSON documents.)
//   - get-missing: Get of a key never written returns an error matching
//     diffyerr.ErrNotFound that names the key and the kind, in an empty
//     store, in one holding other keys, and under a kind never written.
//   - list-sorted: List returns every key held for a kind, each once,
//     sorted as Go sorts strings; an empty kind gives an empty list and nil
//     error.
//   - kinds-separate: the same key under two kinds holds two documents;
//     List of a third kind does not show it.
//   - overwrite: a second Put of a key replaces the document (a shorter
//     one too), and List still shows the key once.
//   - valid-keys: keys that persist.ValidKey accepts but a careless store
//     might mangle, hide or confuse with its own files ("..a", "a..",
//     ".hidden", ".diffy-123.tmp", "x.long", "with space", Unicode,
//     "%2e%2e%2fx", 250, 251 and 255 bytes, two long keys sharing their
//     first 200 bytes, ...) are stored and listed as they are.
//   - invalid-keys: Put and Get of a key persist.ValidKey refuses ("",
//     ".", "..", "../x", "a/b", "/abs", "/etc/passwd", `a\b`, "a\x00b",
//     "a\nb", "a\x1b[31m", 256 bytes), and Put, Get and List of such a
//     kind, return an error matching diffyerr.ErrInvalidKey, and nothing is
//     stored.
//   - atomic-overwrite: while writers overwrite one key concurrently with
//     documents of different sizes, every Get returns one of the documents
//     written, whole; afterwards the key holds one of the last ones.
//   - returns-copies: changing the slice given to Put after it returned,
//     or the slice Get returned, does not change the stored document.
//   - cancelled-context: Put, Get and List with a cancelled context return
//     an error matching context.Canceled, and such a Put stores nothing.
//   - concurrent-use: Puts, Gets and Lists of different keys from several
//     goroutines at once all succeed and every key is kept (run the suite
//     with -race).
//   - delete: for a Store with the optional persist.Deleter capability,
//     Delete removes one document (Get then fails with ErrNotFound, List no
//     longer shows it, the same key under another kind stays, a long key
//     can be deleted and put again), Delete of a missing document matches
//     ErrNotFound and names the key, and of every invalid key
//     ErrInvalidKey. Skipped for a Store without Delete.
//   - list-info: for a Store with the optional persist.InfoLister
//     capability, ListInfo with an empty prefix returns the keys List
//     returns, sorted, each with the size of its document in bytes; with a
//     prefix, exactly the keys that start with it (short and long keys
//     alike, none for a prefix nothing starts with); a ModTime that is not
//     zero does not go back when a key is overwritten; an invalid kind or
//     prefix matches ErrInvalidKey, a cancelled context context.Canceled.
//     Skipped for a Store without ListInfo.
//   - put-from: for a Store with the optional persist.StreamPutter
//     capability, a document given to PutFrom as a reader that yields a
//     few bytes at a time (the round-trip documents, 1 MiB among them) is
//     returned by Get byte for byte, over a document Put before; while a
//     PutFrom is still reading, Get returns the old document whole; a
//     reader that fails part way stores nothing (the old document stays)
//     and PutFrom's error matches the reader's; an invalid kind or key
//     matches ErrInvalidKey and the reader is not read; a cancelled
//     context matches context.Canceled and stores nothing. Skipped for a
//     Store without PutFrom.
//
// A call that panics, or does not return within HangTimeout, breaks the
// rule that made it.
func TestStore(t *testing.T, newStore func(t *testing.T) persist.Store) {
	t.Helper()
	runTest(t, "Store", storeRules, newStore)
}

// CheckStore runs the rules of TestStore without a *testing.T, each on a
// fresh, empty Store from newStore, and returns every rule broken as a
// *Violation, joined with errors.Join; nil when the Store keeps them all.
func CheckStore(newStore func() (persist.Store, error)) error {
	return runCheck("Store", storeRules, newStore)
}

// storeDocs are the documents of the round-trip rule.
func storeDocs() map[string][]byte {
	big := bytes.NewBufferString(`[`)
	for i := 0; big.Len() < 1<<20; i++ {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(big, `{"instance_id":"i-%012x","command_id":"processes","status":"Success","stdout":[{"pid":"%d","name":"worker-%d","cmdline":"/usr/bin/worker --id=%d"}]}`, i, i, i%97, i)
	}
	big.WriteString("]\n")
	return map[string][]byte{
		"small":   []byte(`{"a":1}`),
		"array":   []byte(`[]`),
		"pretty":  []byte("{\n  \"k\": [\n    1,\n    2\n  ],\n\t\"tab\": true\n}\n"),
		"unicode": []byte(`{"name":"ünïcödé ☃ 日本語 😀 ß","rtl":"שלום"}`),
		"escapes": []byte(`{"ctl":"\u0000\u001b[31mred\u001b[0m","html":"<script>alert('x')</script> &amp;","bs":"C:\\path\\x","quote":"\"q\"","nl":"a\nb"}`),
		"numbers": []byte(`{"n":1.0e+3,"m":-0.0,"big":12345678901234567890123,"f":0.1000}`),
		"big":     big.Bytes(),
	}
}

// validStoreKeys are keys persist.ValidKey accepts that a careless store
// might mangle or refuse.
var validStoreKeys = []string{
	"plain", "key.with.dots", "..leading-dots", "trailing-dots..", "...", "with space", " edge spaces ",
	"ünïcödé-ключ-鍵", "i-0abc,i-0def", "UPPER-lower_123", "-dash", "~tilde", "%2e%2e%2fx", "a%00b",
	"key.json", ".hidden", "a.", ".diffy-123.tmp", "x.long", strings.Repeat("k", 255),
	strings.Repeat("m", 250), strings.Repeat("n", 251),
	// Two long keys alike in their first 200 bytes: a store that shortens
	// long names must keep them apart.
	strings.Repeat("p", 200) + "tail", strings.Repeat("p", 200) + "other-tail-" + strings.Repeat("q", 44),
}

// invalidStoreKeys are keys persist.ValidKey refuses.
var invalidStoreKeys = []string{
	"", ".", "..", "../x", "..\\x", "a/b", "/abs", "a\\b", "a\x00b", "a\nb", "\x7f", "x/../../y", strings.Repeat("k", 256),
	"/", "../", "a/", "/etc/passwd", "../../../../../../tmp/escape", "/tmp/x/../y", "a\x1b[31m",
}

// invalidKinds are kinds persist.ValidKey refuses.
var invalidKinds = []persist.Kind{"", "..", "../baseline", "a/b", "/abs", "k\x00"}

var storeRules = []rule[persist.Store]{
	{"round-trip", func(ctx context.Context, s persist.Store) error {
		docs := storeDocs()
		for _, key := range slices.Sorted(maps.Keys(docs)) {
			if err := put(ctx, s, persist.KindCollection, key, bytes.Clone(docs[key])); err != nil {
				return fmt.Errorf("Put(%q): %w", key, err)
			}
		}
		var errs []error
		for _, key := range slices.Sorted(maps.Keys(docs)) {
			got, err := get(ctx, s, persist.KindCollection, key)
			if err != nil {
				errs = append(errs, fmt.Errorf("Get(%q): %w", key, err))
			} else if !bytes.Equal(got, docs[key]) {
				errs = append(errs, fmt.Errorf("Get(%q) returned a document other than the one put: %s", key, diffBytes(docs[key], got)))
			}
		}
		return errors.Join(errs...)
	}},
	{"get-missing", func(ctx context.Context, s persist.Store) error {
		if err := wantNotFound(ctx, s, persist.KindBaseline, "never-written", "in an empty store"); err != nil {
			return err
		}
		if err := put(ctx, s, persist.KindBaseline, "written", []byte(`{}`)); err != nil {
			return fmt.Errorf("Put(%q): %w", "written", err)
		}
		if err := wantNotFound(ctx, s, persist.KindBaseline, "never-written", "beside another key"); err != nil {
			return err
		}
		return wantNotFound(ctx, s, "other-kind", "written", "under a kind never written")
	}},
	{"list-sorted", func(ctx context.Context, s persist.Store) error {
		keys, err := list(ctx, s, persist.KindAnalysis)
		if err != nil {
			return fmt.Errorf("List of an empty kind: %w", err)
		}
		if len(keys) != 0 {
			return fmt.Errorf("List of an empty kind returned %q", keys)
		}
		put := []string{"b", "a", "c-1", "C", "ä", "a.b", "0", "a b", "b"}
		for _, k := range put {
			if err := putDoc(ctx, s, persist.KindAnalysis, k); err != nil {
				return err
			}
		}
		want := slices.Compact(slices.Sorted(slices.Values(put)))
		keys, err = list(ctx, s, persist.KindAnalysis)
		if err != nil {
			return fmt.Errorf("List: %w", err)
		}
		if !slices.Equal(keys, want) {
			return fmt.Errorf("List returned %q, want %q", keys, want)
		}
		return nil
	}},
	{"kinds-separate", func(ctx context.Context, s persist.Store) error {
		a, b := []byte(`{"kind":"baseline"}`), []byte(`{"kind":"collection"}`)
		if err := put(ctx, s, persist.KindBaseline, "shared", a); err != nil {
			return fmt.Errorf("Put(baseline, shared): %w", err)
		}
		if err := put(ctx, s, persist.KindCollection, "shared", b); err != nil {
			return fmt.Errorf("Put(collection, shared): %w", err)
		}
		for _, c := range []struct {
			kind persist.Kind
			want []byte
		}{{persist.KindBaseline, a}, {persist.KindCollection, b}} {
			got, err := get(ctx, s, c.kind, "shared")
			if err != nil {
				return fmt.Errorf("Get(%s, shared): %w", c.kind, err)
			}
			if !bytes.Equal(got, c.want) {
				return fmt.Errorf("Get(%s, shared) returned %q, want %q: kinds share a namespace", c.kind, got, c.want)
			}
		}
		keys, err := list(ctx, s, persist.KindAnalysis)
		if err != nil {
			return fmt.Errorf("List(analysis): %w", err)
		}
		if len(keys) != 0 {
			return fmt.Errorf("List(analysis) returned %q, though only baseline and collection were written", keys)
		}
		return wantNotFound(ctx, s, persist.KindAnalysis, "shared", "under a kind it was not written to")
	}},
	{"overwrite", func(ctx context.Context, s persist.Store) error {
		first, second := []byte(`{"version":1,"padding":"`+strings.Repeat("x", 4096)+`"}`), []byte(`{"version":2}`)
		if err := put(ctx, s, persist.KindBaseline, "k", first); err != nil {
			return fmt.Errorf("first Put: %w", err)
		}
		if err := put(ctx, s, persist.KindBaseline, "k", second); err != nil {
			return fmt.Errorf("second Put: %w", err)
		}
		got, err := get(ctx, s, persist.KindBaseline, "k")
		if err != nil {
			return fmt.Errorf("Get: %w", err)
		}
		if !bytes.Equal(got, second) {
			return fmt.Errorf("after overwriting with a shorter document, Get returned %s", diffBytes(second, got))
		}
		keys, err := list(ctx, s, persist.KindBaseline)
		if err != nil {
			return fmt.Errorf("List: %w", err)
		}
		if !slices.Equal(keys, []string{"k"}) {
			return fmt.Errorf("after overwriting key %q, List returned %q", "k", keys)
		}
		return nil
	}},
	{"valid-keys", func(ctx context.Context, s persist.Store) error {
		var errs []error
		for _, k := range validStoreKeys {
			if err := persist.ValidKey(k); err != nil {
				panic("diffytest: validStoreKeys holds an invalid key: " + err.Error())
			}
			doc := []byte(fmt.Sprintf(`{"key":%q}`, k))
			if err := put(ctx, s, persist.KindCollection, k, doc); err != nil {
				errs = append(errs, fmt.Errorf("Put(%q), a valid key: %w", k, err))
				continue
			}
			got, err := get(ctx, s, persist.KindCollection, k)
			if err != nil {
				errs = append(errs, fmt.Errorf("Get(%q): %w", k, err))
			} else if !bytes.Equal(got, doc) {
				errs = append(errs, fmt.Errorf("Get(%q) returned %q, want %q", k, got, doc))
			}
		}
		if errs != nil {
			return errors.Join(errs...)
		}
		keys, err := list(ctx, s, persist.KindCollection)
		if err != nil {
			return fmt.Errorf("List: %w", err)
		}
		if want := slices.Sorted(slices.Values(validStoreKeys)); !slices.Equal(keys, want) {
			return fmt.Errorf("List returned %q, want %q", keys, want)
		}
		return nil
	}},
	{"invalid-keys", func(ctx context.Context, s persist.Store) error {
		var errs []error
		bad := func(op string, err error) {
			switch {
			case asCallError(err) != nil:
				errs = append(errs, err)
			case err == nil:
				errs = append(errs, fmt.Errorf("%s returned no error, want one matching ErrInvalidKey", op))
			case !errors.Is(err, diffyerr.ErrInvalidKey):
				errs = append(errs, fmt.Errorf("%s returned %v, which does not match ErrInvalidKey", op, err))
			}
		}
		for _, k := range invalidStoreKeys {
			bad(fmt.Sprintf("Put(baseline, %q)", k), put(ctx, s, persist.KindBaseline, k, []byte(`{"escaped":true}`)))
			_, err := get(ctx, s, persist.KindBaseline, k)
			bad(fmt.Sprintf("Get(baseline, %q)", k), err)
		}
		for _, kind := range invalidKinds {
			bad(fmt.Sprintf("Put(kind %q, k)", kind), put(ctx, s, kind, "k", []byte(`{"escaped":true}`)))
			_, err := get(ctx, s, kind, "k")
			bad(fmt.Sprintf("Get(kind %q, k)", kind), err)
			_, err = list(ctx, s, kind)
			bad(fmt.Sprintf("List(kind %q)", kind), err)
		}
		for _, kind := range []persist.Kind{persist.KindBaseline, persist.KindCollection, persist.KindAnalysis} {
			keys, err := list(ctx, s, kind)
			if err != nil {
				errs = append(errs, fmt.Errorf("List(%s): %w", kind, err))
			} else if len(keys) != 0 {
				errs = append(errs, fmt.Errorf("after refused Puts only, List(%s) returned %q", kind, keys))
			}
		}
		for _, k := range []string{"x", "y", "abs", "b", "k", "passwd", "escape"} {
			if _, err := get(ctx, s, persist.KindBaseline, k); err == nil {
				errs = append(errs, fmt.Errorf("after refused Puts only, Get(baseline, %q) found a document: an escaping key was written", k))
			}
		}
		return errors.Join(errs...)
	}},
	{"atomic-overwrite", func(ctx context.Context, s persist.Store) error {
		const writers, readers, rounds = 2, 2, 12
		docs := map[string]bool{}
		initial := []byte(`{"writer":"initial"}`)
		docs[string(initial)] = true
		writerDocs := make([][][]byte, writers)
		for w := range writers {
			for r := range rounds {
				// Sizes differ (16 KiB to 112 KiB) so that a mix of two
				// documents, or a cut one, is never one of them.
				fill := strings.Repeat(string(rune('A'+w)), (16<<10)*(1+(w+r)%7))
				d := []byte(fmt.Sprintf(`{"writer":%d,"round":%d,"fill":%q}`, w, r, fill))
				writerDocs[w] = append(writerDocs[w], d)
				docs[string(d)] = true
			}
		}
		if err := put(ctx, s, persist.KindCollection, "contended", initial); err != nil {
			return fmt.Errorf("Put: %w", err)
		}
		var done atomic.Int32
		err := parallel(writers+readers, func(i int) error {
			if i < writers {
				defer done.Add(1)
				for r, d := range writerDocs[i] {
					if err := put(ctx, s, persist.KindCollection, "contended", bytes.Clone(d)); err != nil {
						return fmt.Errorf("writer %d, round %d: Put: %w", i, r, err)
					}
				}
				return nil
			}
			for n := 0; n == 0 || done.Load() < writers; n++ {
				got, err := get(ctx, s, persist.KindCollection, "contended")
				if err != nil {
					return fmt.Errorf("reader %d, read %d: Get during overwrites: %w", i, n, err)
				}
				if !docs[string(got)] {
					return fmt.Errorf("reader %d, read %d: Get during overwrites returned %d bytes that are none of the documents written (torn or mixed), beginning %.80q", i, n, len(got), got)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		got, err := get(ctx, s, persist.KindCollection, "contended")
		if err != nil {
			return fmt.Errorf("Get after the overwrites: %w", err)
		}
		for _, wd := range writerDocs {
			if bytes.Equal(got, wd[len(wd)-1]) {
				return nil
			}
		}
		return fmt.Errorf("after the overwrites, Get returned %d bytes that are no writer's last document", len(got))
	}},
	{"returns-copies", func(ctx context.Context, s persist.Store) error {
		want := []byte(`{"doc":"original"}`)
		in := bytes.Clone(want)
		if err := put(ctx, s, persist.KindBaseline, "k", in); err != nil {
			return fmt.Errorf("Put: %w", err)
		}
		copy(in, `{"doc":"CHANGED!"}`)
		got, err := get(ctx, s, persist.KindBaseline, "k")
		if err != nil {
			return fmt.Errorf("Get: %w", err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("changing the slice given to Put after it returned changed the stored document to %q", got)
		}
		copy(got, `{"doc":"CHANGED!"}`)
		again, err := get(ctx, s, persist.KindBaseline, "k")
		if err != nil {
			return fmt.Errorf("second Get: %w", err)
		}
		if !bytes.Equal(again, want) {
			return fmt.Errorf("changing the slice Get returned changed the stored document to %q", again)
		}
		return nil
	}},
	{"cancelled-context", func(ctx context.Context, s persist.Store) error {
		var errs []error
		want := func(op string, err error) {
			if err := wantCanceled(op, err); err != nil {
				errs = append(errs, err)
			}
		}
		if err := put(ctx, s, persist.KindBaseline, "present", []byte(`{}`)); err != nil {
			return fmt.Errorf("Put: %w", err)
		}
		cctx := cancelled(ctx)
		want("Put", put(cctx, s, persist.KindBaseline, "k", []byte(`{"cancelled":true}`)))
		_, err := get(cctx, s, persist.KindBaseline, "present")
		want("Get", err)
		_, err = list(cctx, s, persist.KindBaseline)
		want("List", err)
		if doc, err := get(ctx, s, persist.KindBaseline, "k"); err == nil {
			errs = append(errs, fmt.Errorf("a Put with a cancelled context stored %q", doc))
		}
		return errors.Join(errs...)
	}},
	{"concurrent-use", func(ctx context.Context, s persist.Store) error {
		const perWorker = 10
		err := parallel(concurrency, func(w int) error {
			for i := range perWorker {
				key := fmt.Sprintf("w%d-k%02d", w, i)
				doc := []byte(fmt.Sprintf(`{"worker":%d,"i":%d}`, w, i))
				if err := put(ctx, s, persist.KindCollection, key, doc); err != nil {
					return fmt.Errorf("worker %d: Put(%q): %w", w, key, err)
				}
				got, err := get(ctx, s, persist.KindCollection, key)
				if err != nil {
					return fmt.Errorf("worker %d: Get(%q): %w", w, key, err)
				}
				if !bytes.Equal(got, doc) {
					return fmt.Errorf("worker %d: Get(%q) returned %q, want %q", w, key, got, doc)
				}
				if _, err := list(ctx, s, persist.KindCollection); err != nil {
					return fmt.Errorf("worker %d: List: %w", w, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys, err := list(ctx, s, persist.KindCollection)
		if err != nil {
			return fmt.Errorf("List: %w", err)
		}
		if len(keys) != concurrency*perWorker || !slices.IsSorted(keys) {
			return fmt.Errorf("after %d concurrent Puts of distinct keys, List returned %d keys (sorted: %v)", concurrency*perWorker, len(keys), slices.IsSorted(keys))
		}
		return nil
	}},
	{"delete", storeDeleteRule},
	{"list-info", storeListInfoRule},
	{"put-from", storePutFromRule},
}

// storePutFromRule is the rule of the optional persist.StreamPutter
// capability.
func storePutFromRule(ctx context.Context, s persist.Store) error {
	sp, ok := s.(persist.StreamPutter)
	if !ok {
		return skip("the Store does not implement persist.StreamPutter")
	}
	putFrom := func(ctx context.Context, kind persist.Kind, key string, r io.Reader) error {
		_, err := call(fmt.Sprintf("PutFrom(%q, %q)", kind, key), func() (struct{}, error) { return struct{}{}, sp.PutFrom(ctx, kind, key, r) })
		return err
	}
	docs := storeDocs()
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		if err := put(ctx, s, persist.KindAnalysis, key, []byte(`{"old":true}`)); err != nil {
			return fmt.Errorf("Put(%q): %w", key, err)
		}
		if err := putFrom(ctx, persist.KindAnalysis, key, iotest.HalfReader(bytes.NewReader(docs[key]))); err != nil {
			errs = append(errs, fmt.Errorf("PutFrom(%q): %w", key, err))
			continue
		}
		if got, err := get(ctx, s, persist.KindAnalysis, key); err != nil {
			errs = append(errs, fmt.Errorf("Get(%q) after PutFrom: %w", key, err))
		} else if !bytes.Equal(got, docs[key]) {
			errs = append(errs, fmt.Errorf("Get(%q) after PutFrom returned another document than the one read: %s", key, diffBytes(docs[key], got)))
		}
	}
	// While PutFrom reads, the old document is the one stored.
	old := []byte(`{"doc":"old"}`)
	if err := put(ctx, s, persist.KindAnalysis, "half", old); err != nil {
		return fmt.Errorf("Put(half): %w", err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- putFrom(ctx, persist.KindAnalysis, "half", pr) }()
	if _, err := pw.Write([]byte(`{"doc":`)); err != nil {
		return fmt.Errorf("PutFrom(half) stopped reading: %w", err)
	}
	if got, err := get(ctx, s, persist.KindAnalysis, "half"); err != nil || !bytes.Equal(got, old) {
		errs = append(errs, fmt.Errorf("while PutFrom(half) is reading, Get returned %q, %v; want the old document %q", got, err, old))
	}
	// A reader that fails part way stores nothing.
	bad := errors.New("the source failed part way")
	pw.CloseWithError(bad)
	if err := <-done; !errors.Is(err, bad) {
		errs = append(errs, fmt.Errorf("PutFrom of a reader failing part way returned %v, want an error matching the reader's", err))
	}
	if got, err := get(ctx, s, persist.KindAnalysis, "half"); err != nil || !bytes.Equal(got, old) {
		errs = append(errs, fmt.Errorf("after PutFrom of a reader failing part way, Get returned %q, %v; want the old document %q", got, err, old))
	}
	if keys, err := list(ctx, s, persist.KindAnalysis); err != nil || slices.Contains(keys, "never") {
		errs = append(errs, fmt.Errorf("List after a failed PutFrom: %v, %v", keys, err))
	}
	// Invalid kinds and keys: refused before the reader is read.
	for _, key := range invalidStoreKeys {
		r := &countingReader{r: strings.NewReader(`{}`)}
		if err := putFrom(ctx, persist.KindAnalysis, key, r); asCallError(err) != nil {
			errs = append(errs, err)
		} else if !errors.Is(err, diffyerr.ErrInvalidKey) {
			errs = append(errs, fmt.Errorf("PutFrom(analysis, %.40q) returned %v, want an error matching ErrInvalidKey", key, err))
		} else if r.n.Load() > 0 {
			errs = append(errs, fmt.Errorf("PutFrom(analysis, %.40q) read the document of an invalid key", key))
		}
	}
	for _, kind := range invalidKinds {
		if err := putFrom(ctx, kind, "k", strings.NewReader(`{}`)); asCallError(err) != nil {
			errs = append(errs, err)
		} else if !errors.Is(err, diffyerr.ErrInvalidKey) {
			errs = append(errs, fmt.Errorf("PutFrom(kind %q) returned %v, want an error matching ErrInvalidKey", kind, err))
		}
	}
	// A cancelled context stores nothing.
	if err := putFrom(cancelled(ctx), persist.KindAnalysis, "cancelled", strings.NewReader(`{}`)); asCallError(err) != nil {
		errs = append(errs, err)
	} else if err := wantCanceled("PutFrom", err); err != nil {
		errs = append(errs, err)
	}
	if err := wantNotFound(ctx, s, persist.KindAnalysis, "cancelled", "after PutFrom with a cancelled context"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// countingReader counts the reads of r.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n.Add(1)
	return c.r.Read(p)
}

// storeDeleteRule is the rule of the optional persist.Deleter capability.
func storeDeleteRule(ctx context.Context, s persist.Store) error {
	d, ok := s.(persist.Deleter)
	if !ok {
		return skip("the Store does not implement persist.Deleter")
	}
	del := func(kind persist.Kind, key string) error {
		_, err := call(fmt.Sprintf("Delete(%q, %q)", kind, key), func() (struct{}, error) { return struct{}{}, d.Delete(ctx, kind, key) })
		return err
	}
	for _, k := range []string{"gone", "kept"} {
		if err := putDoc(ctx, s, persist.KindCollection, k); err != nil {
			return err
		}
	}
	if err := putDoc(ctx, s, persist.KindBaseline, "gone"); err != nil {
		return err
	}
	if err := del(persist.KindCollection, "gone"); err != nil {
		return fmt.Errorf("Delete(collection, gone): %w", err)
	}
	if err := wantNotFound(ctx, s, persist.KindCollection, "gone", "after Delete"); err != nil {
		return err
	}
	keys, err := list(ctx, s, persist.KindCollection)
	if err != nil {
		return fmt.Errorf("List: %w", err)
	}
	if !slices.Equal(keys, []string{"kept"}) {
		return fmt.Errorf("after deleting %q, List returned %q, want [kept]", "gone", keys)
	}
	if _, err := get(ctx, s, persist.KindBaseline, "gone"); err != nil {
		return fmt.Errorf("deleting collection %q removed baseline %q too: %w", "gone", "gone", err)
	}
	switch err := del(persist.KindCollection, "gone"); {
	case asCallError(err) != nil:
		return err
	case !errors.Is(err, diffyerr.ErrNotFound):
		return fmt.Errorf("Delete of a missing document returned %v, want an error matching ErrNotFound", err)
	case !strings.Contains(err.Error(), "gone"):
		return fmt.Errorf("Delete of a missing document returned %q, which does not name the key %q", err, "gone")
	}
	long := strings.Repeat("d", 240) + "-long"
	if err := putDoc(ctx, s, persist.KindCollection, long); err != nil {
		return err
	}
	if err := del(persist.KindCollection, long); err != nil {
		return fmt.Errorf("Delete of a %d-byte key: %w", len(long), err)
	}
	if err := wantNotFound(ctx, s, persist.KindCollection, long, "after Delete"); err != nil {
		return err
	}
	if err := putDoc(ctx, s, persist.KindCollection, long); err != nil {
		return fmt.Errorf("Put again after Delete of a %d-byte key: %w", len(long), err)
	}
	var errs []error
	for _, k := range append([]string{"../kept"}, invalidStoreKeys...) {
		switch err := del(persist.KindCollection, k); {
		case asCallError(err) != nil:
			errs = append(errs, err)
		case !errors.Is(err, diffyerr.ErrInvalidKey):
			errs = append(errs, fmt.Errorf("Delete of key %q returned %v, want an error matching ErrInvalidKey", k, err))
		}
	}
	return errors.Join(errs...)
}

// storeListInfoRule is the rule of the optional persist.InfoLister
// capability.
func storeListInfoRule(ctx context.Context, s persist.Store) error {
	il, ok := s.(persist.InfoLister)
	if !ok {
		return skip("the Store does not implement persist.InfoLister")
	}
	listInfo := func(ctx context.Context, kind persist.Kind, prefix string) ([]persist.Info, error) {
		return call(fmt.Sprintf("ListInfo(%q, %q)", kind, prefix), func() ([]persist.Info, error) { return il.ListInfo(ctx, kind, prefix) })
	}
	long := strings.Repeat("p", 200)
	docs := map[string][]byte{
		"a": []byte(`{}`), "ab": []byte(`{"k":"ab"}`), "abc": []byte(`[1,2,3]`), "b": []byte(`{"k":"` + strings.Repeat("b", 5000) + `"}`),
		"a@20261126T120000.000Z-x": []byte(`{"run":1}`), long + "-one": []byte(`{"long":1}`), long + "-two-" + strings.Repeat("t", 40): []byte(`{"long":2}`),
		strings.Repeat("p", 150): []byte(`{"short":true}`),
	}
	for _, k := range slices.Sorted(maps.Keys(docs)) {
		if err := put(ctx, s, persist.KindCollection, k, docs[k]); err != nil {
			return fmt.Errorf("Put(collection, %q): %w", k, err)
		}
	}
	if err := put(ctx, s, persist.KindBaseline, "a-baseline", []byte(`{}`)); err != nil {
		return fmt.Errorf("Put(baseline, a-baseline): %w", err)
	}
	keys, err := list(ctx, s, persist.KindCollection)
	if err != nil {
		return fmt.Errorf("List: %w", err)
	}
	infos, err := listInfo(ctx, persist.KindCollection, "")
	if err != nil {
		return fmt.Errorf("ListInfo with no prefix: %w", err)
	}
	var got []string
	for _, in := range infos {
		got = append(got, in.Key)
		if want := int64(len(docs[in.Key])); in.Size != want {
			return fmt.Errorf("ListInfo says document %q has %d bytes; Put wrote %d", in.Key, in.Size, want)
		}
	}
	if !slices.Equal(got, keys) {
		return fmt.Errorf("ListInfo with no prefix returned keys %q; List returns %q", got, keys)
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"a", []string{"a", "a@20261126T120000.000Z-x", "ab", "abc"}},
		{"ab", []string{"ab", "abc"}},
		{"a@", []string{"a@20261126T120000.000Z-x"}},
		{"abcd", nil},
		{"zzz", nil},
		{strings.Repeat("p", 100), []string{strings.Repeat("p", 150), long + "-one", long + "-two-" + strings.Repeat("t", 40)}},
		{long, []string{long + "-one", long + "-two-" + strings.Repeat("t", 40)}},
		{long + "-t", []string{long + "-two-" + strings.Repeat("t", 40)}},
	} {
		infos, err := listInfo(ctx, persist.KindCollection, c.prefix)
		if err != nil {
			return fmt.Errorf("ListInfo(collection, %.40q): %w", c.prefix, err)
		}
		var got []string
		for _, in := range infos {
			got = append(got, in.Key)
		}
		if !slices.Equal(got, c.want) {
			return fmt.Errorf("ListInfo(collection, %.40q) returned keys %.300q, want %.300q", c.prefix, got, c.want)
		}
	}
	// An overwrite does not go back in time.
	before, err := listInfo(ctx, persist.KindCollection, "ab")
	if err != nil {
		return fmt.Errorf("ListInfo: %w", err)
	}
	if err := put(ctx, s, persist.KindCollection, "ab", []byte(`{"k":"ab","again":true}`)); err != nil {
		return fmt.Errorf("Put(collection, ab) again: %w", err)
	}
	after, err := listInfo(ctx, persist.KindCollection, "ab")
	if err != nil {
		return fmt.Errorf("ListInfo: %w", err)
	}
	if len(before) < 1 || len(after) < 1 || after[0].Key != "ab" {
		return fmt.Errorf("ListInfo(collection, ab) lost key ab on overwrite: %v", after)
	}
	if after[0].Size != int64(len(`{"k":"ab","again":true}`)) {
		return fmt.Errorf("after an overwrite, ListInfo says %q has %d bytes, want %d", "ab", after[0].Size, len(`{"k":"ab","again":true}`))
	}
	if !after[0].ModTime.IsZero() && after[0].ModTime.Before(before[0].ModTime) {
		return fmt.Errorf("after an overwrite, ListInfo's ModTime of %q went back from %v to %v", "ab", before[0].ModTime, after[0].ModTime)
	}
	var errs []error
	for _, kind := range invalidKinds {
		if _, err := listInfo(ctx, kind, ""); asCallError(err) != nil {
			errs = append(errs, err)
		} else if !errors.Is(err, diffyerr.ErrInvalidKey) {
			errs = append(errs, fmt.Errorf("ListInfo(kind %q) returned %v, want an error matching ErrInvalidKey", kind, err))
		}
	}
	for _, p := range []string{"a/b", "../", "a\\b", "a\x00", strings.Repeat("k", 256)} {
		if _, err := listInfo(ctx, persist.KindCollection, p); asCallError(err) != nil {
			errs = append(errs, err)
		} else if !errors.Is(err, diffyerr.ErrInvalidKey) {
			errs = append(errs, fmt.Errorf("ListInfo with prefix %.40q returned %v, want an error matching ErrInvalidKey", p, err))
		}
	}
	if infos, err := listInfo(ctx, persist.KindAnalysis, ""); err != nil || len(infos) != 0 {
		errs = append(errs, fmt.Errorf("ListInfo of a kind never written returned %v, %v; want an empty list and no error", infos, err))
	}
	if _, err := listInfo(cancelled(ctx), persist.KindCollection, ""); asCallError(err) != nil {
		errs = append(errs, err)
	} else if err := wantCanceled("ListInfo", err); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func put(ctx context.Context, s persist.Store, kind persist.Kind, key string, doc []byte) error {
	_, err := call(fmt.Sprintf("Put(%q, %q)", kind, key), func() (struct{}, error) { return struct{}{}, s.Put(ctx, kind, key, doc) })
	return err
}

func putDoc(ctx context.Context, s persist.Store, kind persist.Kind, key string) error {
	if err := put(ctx, s, kind, key, []byte(fmt.Sprintf(`{"key":%q}`, key))); err != nil {
		return fmt.Errorf("Put(%s, %q): %w", kind, key, err)
	}
	return nil
}

func get(ctx context.Context, s persist.Store, kind persist.Kind, key string) ([]byte, error) {
	return call(fmt.Sprintf("Get(%q, %q)", kind, key), func() ([]byte, error) { return s.Get(ctx, kind, key) })
}

func list(ctx context.Context, s persist.Store, kind persist.Kind) ([]string, error) {
	return call(fmt.Sprintf("List(%q)", kind), func() ([]string, error) { return s.List(ctx, kind) })
}

// wantNotFound checks that Get(kind, key) fails with ErrNotFound.
func wantNotFound(ctx context.Context, s persist.Store, kind persist.Kind, key, where string) error {
	doc, err := get(ctx, s, kind, key)
	switch {
	case asCallError(err) != nil:
		return err
	case err == nil:
		return fmt.Errorf("Get(%s, %q) of a key never written (%s) returned %q and no error", kind, key, where, doc)
	case !errors.Is(err, diffyerr.ErrNotFound):
		return fmt.Errorf("Get(%s, %q) of a key never written (%s) returned %v, which does not match ErrNotFound", kind, key, where, err)
	case !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), string(kind)):
		return fmt.Errorf("Get(%s, %q) of a key never written (%s) returned %q, which does not name the kind and the key: the caller cannot tell what is missing", kind, key, where, err)
	}
	return nil
}

// diffBytes describes where got departs from want.
func diffBytes(want, got []byte) string {
	n := 0
	for n < len(want) && n < len(got) && want[n] == got[n] {
		n++
	}
	excerpt := func(b []byte) []byte { return b[n:min(len(b), n+40)] }
	return fmt.Sprintf("%d bytes, want %d; first difference at byte %d: %q, want %q", len(got), len(want), n, excerpt(got), excerpt(want))
}
