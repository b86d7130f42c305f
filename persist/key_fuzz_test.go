package persist_test

import (
	"errors"
	"os"
	"path/filepath"
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
