package persist_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// FuzzValidKey checks that a key ValidKey accepts can never leave the
// store's directory: it holds no separator, NUL or control byte, is not a
// directory reference, and filepath.Join(dir, key) names a file directly
// inside dir, one that can really be created there. Refused keys match
// diffyerr.ErrInvalidKey and the message quotes the key.
func FuzzValidKey(f *testing.F) {
	for _, s := range []string{
		"my-asg", "i-0abc,i-0def", "tag:Name=web", ".", "..", "...", "../etc/passwd", "a/b", `a\b`,
		"/abs", "a\x00b", "a\nb", "a\x7fb", "", strings.Repeat("k", 255), strings.Repeat("k", 256),
		"ключ", "\xff\xfe", ".hidden", "trailing.", " spaced ", "C:", "con", "a..b", "~",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, key string) {
		err := persist.ValidKey(key)
		if err != nil {
			if !errors.Is(err, diffyerr.ErrInvalidKey) {
				t.Fatalf("ValidKey(%q) = %v, not ErrInvalidKey", key, err)
			}
			return
		}
		if key == "" || key == "." || key == ".." || len(key) > 255 {
			t.Fatalf("ValidKey accepted %q", key)
		}
		for i := 0; i < len(key); i++ {
			if c := key[i]; c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
				t.Fatalf("ValidKey accepted %q with byte 0x%02x", key, c)
			}
		}
		p := filepath.Join(dir, key)
		if filepath.Dir(p) != filepath.Clean(dir) || filepath.Base(p) != key {
			t.Fatalf("filepath.Join(%q, %q) = %q: not a file directly inside the directory", dir, key, p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel != key || filepath.IsAbs(rel) || strings.HasPrefix(rel, "..") && rel != key {
			t.Fatalf("filepath.Rel(%q, %q) = %q, %v: escapes", dir, p, rel, err)
		}
		// A key ValidKey accepts is a real file name here, and nothing
		// else in the directory is touched by writing it.
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatalf("accepted key %q cannot be a file name: %v", key, err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != key {
			t.Fatalf("writing key %q left %d entries in the directory", key, len(ents))
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDirKey puts a document under a fuzzed key in a real Dir: a key
// ValidKey refuses touches nothing; an accepted one (long keys included)
// reads back byte for byte, is listed under exactly its own name, and its
// file lies inside the store, 0600.
func FuzzDirKey(f *testing.F) {
	for _, s := range []string{"my-asg", "..", "a/../../b", strings.Repeat("x", 251), strings.Repeat("é", 127), "k.json", ".diffy-1.tmp", "x.long"} {
		f.Add(s)
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, key string) {
		ctx := t.Context()
		store := filepath.Join(root, "store")
		defer os.RemoveAll(store)
		d := persist.NewDir(store)
		doc := []byte(`{"key":` + strconv.Quote(key) + `}`)
		err := d.Put(ctx, persist.KindBaseline, key, doc)
		if persist.ValidKey(key) != nil {
			if !errors.Is(err, diffyerr.ErrInvalidKey) {
				t.Fatalf("Put(%q) = %v, want ErrInvalidKey", key, err)
			}
			if ents, _ := os.ReadDir(root); len(ents) != 0 {
				t.Fatalf("refused key %q left %d entries", key, len(ents))
			}
			return
		}
		if err != nil {
			t.Fatalf("Put(%q) = %v", key, err)
		}
		got, err := d.Get(ctx, persist.KindBaseline, key)
		if err != nil || string(got) != string(doc) {
			t.Fatalf("Get(%q) = %q, %v; want %q", key, got, err, doc)
		}
		keys, err := d.List(ctx, persist.KindBaseline)
		if err != nil || len(keys) != 1 || keys[0] != key {
			t.Fatalf("List after Put(%q) = %q, %v", key, keys, err)
		}
		ents, _ := os.ReadDir(root)
		if len(ents) != 1 || ents[0].Name() != "store" {
			t.Fatalf("Put(%q) wrote outside the store: %v", key, ents)
		}
		err = filepath.WalkDir(store, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if rel, rerr := filepath.Rel(store, p); rerr != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("file %s outside %s", p, store)
			}
			if fi, _ := e.Info(); !e.IsDir() && fi.Mode().Perm() != persist.FileMode {
				t.Fatalf("file %s has mode %v", p, fi.Mode().Perm())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
