//go:build unix

package persist_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// refusedAll checks that Put, Get and List of d all fail with an
// UnsafePathError naming path and containing problem.
func refusedAll(t *testing.T, d *persist.Dir, path, problem string) {
	t.Helper()
	ctx := context.Background()
	check := func(op string, err error) {
		t.Helper()
		var uf *persist.UnsafePathError
		if !errors.As(err, &uf) || !errors.Is(err, diffyerr.ErrInvalidInput) || uf.Path != path ||
			!strings.Contains(err.Error(), problem) || uf.Fix == "" {
			t.Errorf("%s: %v, want an UnsafePathError naming %s: %q", op, err, path, problem)
		}
	}
	check("Put", d.Put(ctx, persist.KindBaseline, "web", []byte(`{"mine":true}`)))
	_, err := d.Get(ctx, persist.KindBaseline, "web")
	check("Get", err)
	_, err = d.List(ctx, persist.KindBaseline)
	check("List", err)
}

// planted writes the document an attacker put in place of a baseline.
func planted(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web.json"), []byte(`{"attacker":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDirRefusesLinks: a kind folder, or the store root, that is a
// symbolic link (to a folder of someone else's, say) is refused before
// anything is read from it or written to it. Before, Dir followed the
// link and read the attacker's baseline.
func TestDirRefusesLinks(t *testing.T) {
	base := t.TempDir()
	evil := filepath.Join(base, "evil")
	planted(t, filepath.Join(evil, "baseline"))

	root := filepath.Join(base, "store")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(evil, "baseline"), filepath.Join(root, "baseline")); err != nil {
		t.Fatal(err)
	}
	refusedAll(t, persist.NewDir(root), filepath.Join(root, "baseline"), "is a symbolic link")

	linked := filepath.Join(base, "linked-store")
	if err := os.Symlink(evil, linked); err != nil {
		t.Fatal(err)
	}
	refusedAll(t, persist.NewDir(linked), linked, "is a symbolic link")
	if b, _ := os.ReadFile(filepath.Join(evil, "baseline", "web.json")); string(b) != `{"attacker":true}` {
		t.Errorf("the link's target was written to: %s", b)
	}
}

// TestDirRefusesOpenFolders: a store root or kind folder that others may
// write to is refused, the error saying how to close it.
func TestDirRefusesOpenFolders(t *testing.T) {
	for _, c := range []struct {
		name, folder string
		mode         os.FileMode
	}{
		{"root open to everyone", "", 0o777},
		{"root writable by others", "", 0o703},
		{"kind folder open to everyone", "baseline", 0o777},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "store")
			d := persist.NewDir(root)
			if err := d.Put(context.Background(), persist.KindBaseline, "web", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			folder := filepath.Join(root, c.folder)
			if err := os.Chmod(folder, c.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(folder, 0o700)
			refusedAll(t, d, filepath.Clean(folder), "is writable by other users")
		})
	}
}

// TestDirRefusesOtherUsers (as root, the attack of issue 10.9): another
// user who owns the store or its kind folder, or a world-writable store
// in which they replaced a baseline, is refused; so is a store below a
// folder they own.
func TestDirRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give folders to another user")
	}
	const nobody = 65534
	t.Run("kind folder of another user", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "store")
		planted(t, filepath.Join(root, "baseline"))
		os.Chmod(root, 0o700)
		os.Chmod(filepath.Join(root, "baseline"), 0o700)
		if err := os.Chown(filepath.Join(root, "baseline"), nobody, nobody); err != nil {
			t.Fatal(err)
		}
		refusedAll(t, persist.NewDir(root), filepath.Join(root, "baseline"), "belongs to user 65534")
	})
	t.Run("baseline replaced in a world-writable store", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "store")
		d := persist.NewDir(root)
		if err := d.Put(context.Background(), persist.KindBaseline, "web", []byte(`{"mine":true}`)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(root, 0o777)
		os.Chmod(filepath.Join(root, "baseline"), 0o777)
		// What the other user does: replace the document with theirs.
		p := filepath.Join(root, "baseline", "web.json")
		os.Remove(p)
		planted(t, filepath.Dir(p))
		os.Chown(p, nobody, nobody)
		if doc, err := d.Get(context.Background(), persist.KindBaseline, "web"); err == nil {
			t.Fatalf("read %s from a store anyone could write to", doc)
		}
		refusedAll(t, d, root, "is writable by other users")
	})
	t.Run("store below another user's folder", func(t *testing.T) {
		theirs := filepath.Join(t.TempDir(), "theirs")
		if err := os.Mkdir(theirs, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		refusedAll(t, persist.NewDir(filepath.Join(theirs, "store")), theirs, "(above the store) belongs to user 65534")
	})
}

// TestDirAboveTheStore: a store below a folder anyone may write to is
// refused (anyone could rename the store and put theirs in its place),
// unless that folder has the sticky bit, as /tmp has.
func TestDirAboveTheStore(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	refusedAll(t, persist.NewDir(filepath.Join(shared, "store")), shared, "(above the store) is writable by other users")
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	d := persist.NewDir(filepath.Join(shared, "store"))
	if err := d.Put(context.Background(), persist.KindBaseline, "web", []byte(`{}`)); err != nil {
		t.Fatalf("below a sticky folder: %v", err)
	}
	// Reached through a link of this user's, the folders it leads to are
	// checked.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	if _, err := persist.NewDir(filepath.Join(link, "store")).Get(context.Background(), persist.KindBaseline, "web"); err != nil {
		t.Fatalf("through a link to a sticky folder: %v", err)
	}
	os.Chmod(shared, 0o777)
	refusedAll(t, persist.NewDir(filepath.Join(link, "store")), shared, "(above the store) is writable by other users")
	os.Chmod(shared, 0o700)
}

// TestDirRefusesPlantedDocuments: a document that is a link, or that
// another user wrote (while the folder was open to them, say), is not
// read, though its folder is now safe.
func TestDirRefusesPlantedDocuments(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "store")
	d := persist.NewDir(root)
	if err := d.Put(ctx, persist.KindBaseline, "web", []byte(`{"mine":true}`)); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(root, "baseline", "web.json")
	planted(t, filepath.Join(t.TempDir(), "evil"))
	check := func(what, problem string) {
		t.Helper()
		var up *persist.UnsafePathError
		if b, err := d.Get(ctx, persist.KindBaseline, "web"); !errors.As(err, &up) || up.Path != doc || !strings.Contains(err.Error(), problem) {
			t.Errorf("%s: Get = %s, %v; want an UnsafePathError naming %s: %q", what, b, err, doc, problem)
		}
	}
	os.Chmod(doc, 0o622)
	check("document writable by others", "is writable by other users")
	os.Remove(doc)
	if err := os.Symlink("/etc/hostname", doc); err != nil {
		t.Fatal(err)
	}
	check("document that is a link", "is a symbolic link")
	// A FIFO with no writer: opening it to read waited for one forever
	// (this test hung there before).
	os.Remove(doc)
	if err := syscall.Mkfifo(doc, 0o600); err != nil {
		t.Fatal(err)
	}
	check("document that is a FIFO", "is not a regular file")
	if os.Geteuid() == 0 {
		os.Remove(doc)
		if err := os.WriteFile(doc, []byte(`{"attacker":true}`), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chown(doc, 65534, 65534)
		check("document of another user", "belongs to user 65534")
	}
	// Put replaces it with this user's own.
	if err := d.Put(ctx, persist.KindBaseline, "web", []byte(`{"mine":true}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := d.Get(ctx, persist.KindBaseline, "web"); err != nil || string(b) != `{"mine":true}` {
		t.Fatalf("after Put: %s %v", b, err)
	}
}

// TestDirListRaceWithAnotherUser: a store root that is missing when List
// checks the folders, in a folder open to all (as /tmp is), and made by
// another user, with a document of theirs, before List reads it, is
// refused: the kind folder is checked on the descriptor List reads it
// from. Before, List returned the other user's keys.
func TestDirListRaceWithAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs another user: run the tests as root")
	}
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(shared, "store")
	kind := filepath.Join(root, "baseline")
	defer persist.SetAfterCheck(func() {
		planted(t, kind)
		for _, p := range []string{root, kind, filepath.Join(kind, "web.json")} {
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
	})()
	keys, err := persist.NewDir(root).List(context.Background(), persist.KindBaseline)
	var up *persist.UnsafePathError
	if !errors.As(err, &up) || up.Path != kind || !strings.Contains(err.Error(), "belongs to user 65534") {
		t.Fatalf("List = %q, %v; want an UnsafePathError naming %s", keys, err, kind)
	}
}
