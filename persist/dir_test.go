package persist_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// badKeys are keys (and kinds) that Dir must refuse with ErrInvalidKey
// before it touches the file system. (diffytest.TestStore checks every
// Store refuses such keys; this test checks Dir writes nothing outside.)
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

// tree lists every path under root (relative, sorted).
func tree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

func TestDirBadKeysTouchNothing(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	// A sibling the escaping keys would reach, and the store inside parent.
	if err := os.Mkdir(filepath.Join(parent, "sibling"), 0o700); err != nil {
		t.Fatal(err)
	}
	d := persist.NewDir(filepath.Join(parent, "store"))
	for name, key := range badKeys {
		for _, kind := range []persist.Kind{persist.KindBaseline, persist.Kind(key)} {
			if err := d.Put(ctx, kind, key, []byte("escaped")); !errors.Is(err, diffyerr.ErrInvalidKey) {
				t.Errorf("Put %s/%s (%s): err = %v, want ErrInvalidKey", kind, key, name, err)
			}
		}
		if err := d.Put(ctx, persist.Kind(key), "fine", []byte("escaped")); !errors.Is(err, diffyerr.ErrInvalidKey) {
			t.Errorf("Put with %s kind %q: err = %v, want ErrInvalidKey", name, key, err)
		}
	}
	// Refused before anything was touched: not even the store directory.
	if got, want := tree(t, parent), []string{".", "sibling"}; !slices.Equal(got, want) {
		t.Fatalf("after refused Puts the parent holds %q, want %q", got, want)
	}
	if _, err := os.Stat("/tmp/escape"); err == nil {
		data, _ := os.ReadFile("/tmp/escape")
		if string(data) == "escaped" {
			t.Fatal("a refused key wrote /tmp/escape")
		}
	}
}

func TestDirLayoutAndModes(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "a", "store")
	d := persist.NewDir(root)
	long := strings.Repeat("x", 200) + strings.Repeat("y", 55)
	for _, k := range []string{"my-asg", long} {
		if err := d.Put(ctx, persist.KindBaseline, k, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		".",
		"baseline",
		"baseline/my-asg.json",
		"baseline/" + strings.Repeat("x", 200) + ".long",
		"baseline/" + strings.Repeat("x", 200) + ".long/" + strings.Repeat("y", 55) + ".json",
	}
	slices.Sort(want)
	if got := tree(t, root); !slices.Equal(got, want) {
		t.Fatalf("store tree = %q, want %q", got, want)
	}
	for _, p := range want {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		wantMode := persist.FileMode
		if fi.IsDir() {
			wantMode = persist.DirMode
		}
		if fi.Mode().Perm() != wantMode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), wantMode)
		}
	}
}

func TestDirListIgnoresForeignFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := persist.NewDir(root)
	if err := d.Put(ctx, persist.KindCollection, "real", []byte("x")); err != nil {
		t.Fatal(err)
	}
	kdir := filepath.Join(root, string(persist.KindCollection))
	for _, name := range []string{".diffy-123456.tmp", "notes.txt", ".json", "README"} {
		if err := os.WriteFile(filepath.Join(kdir, name), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"sub.json", "short.long", strings.Repeat("s", 199) + ".long"} {
		if err := os.Mkdir(filepath.Join(kdir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(kdir, name, "inner.json"), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := d.List(ctx, persist.KindCollection)
	if err != nil || !slices.Equal(keys, []string{"real"}) {
		t.Fatalf("List = %q, %v; want [real]", keys, err)
	}
}

func TestDirNoTempFilesLeft(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := persist.NewDir(root)
	for i := range 20 {
		if err := d.Put(ctx, persist.KindAnalysis, "k", []byte(strings.Repeat("r", i*1000))); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = d.Put(cctx, persist.KindAnalysis, "k", []byte("cancelled"))
	if got, want := tree(t, root), []string{".", "analysis", "analysis/k.json"}; !slices.Equal(got, want) {
		t.Fatalf("store tree = %q, want %q", got, want)
	}
}

func TestDirEmptyPath(t *testing.T) {
	ctx := context.Background()
	var d persist.Dir
	if err := d.Put(ctx, persist.KindBaseline, "k", nil); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("Put on a Dir without Path: err = %v, want ErrInvalidInput", err)
	}
	if _, err := d.List(ctx, persist.KindBaseline); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("List on a Dir without Path: err = %v, want ErrInvalidInput", err)
	}
}

func TestDirPathIsAFile(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := persist.NewDir(file).Put(ctx, persist.KindBaseline, "k", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Put under a file: err = %v, want an error naming %s", err, file)
	}
	if data, _ := os.ReadFile(file); string(data) != "not a dir" {
		t.Fatalf("the file was changed to %q", data)
	}
}

func TestDirExistingRootKeepsMode(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if err := os.Chmod(root, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := persist.NewDir(root).Put(ctx, persist.KindBaseline, "k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(root)
	if err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("existing root mode = %v, %v; want it kept at 0750", fi.Mode().Perm(), err)
	}
}

func TestDirSharedBetweenValues(t *testing.T) {
	// Two Dir values on one Path (two processes, in effect) see each
	// other's documents.
	ctx := context.Background()
	root := t.TempDir()
	a, b := persist.NewDir(root), &persist.Dir{Path: root}
	if err := a.Put(ctx, persist.KindBaseline, "k", []byte("from a")); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, persist.KindBaseline, "k")
	if err != nil || string(got) != "from a" {
		t.Fatalf("b.Get = %q, %v", got, err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data/xdg")
	t.Setenv("HOME", "/home/someone")
	if got, want := persist.DefaultDir(), filepath.Join("/data/xdg", "diffy"); got != want {
		t.Errorf("with XDG_DATA_HOME: DefaultDir() = %q, want %q", got, want)
	}
	t.Setenv("XDG_DATA_HOME", "relative/xdg")
	if got, want := persist.DefaultDir(), filepath.Join("/home/someone", ".local", "share", "diffy"); got != want {
		t.Errorf("with a relative XDG_DATA_HOME (ignored, as the XDG spec says): DefaultDir() = %q, want %q", got, want)
	}
	t.Setenv("XDG_DATA_HOME", "")
	if got, want := persist.DefaultDir(), filepath.Join("/home/someone", ".local", "share", "diffy"); got != want {
		t.Errorf("with HOME only: DefaultDir() = %q, want %q", got, want)
	}
	t.Setenv("HOME", "")
	if got := persist.DefaultDir(); got != ".diffy" {
		t.Errorf("with no home: DefaultDir() = %q, want .diffy", got)
	}
}
