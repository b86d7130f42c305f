package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileSyncsTheFolder: -o's write flushes the folder after the
// rename, so that the new report survives a crash once the CLI said it
// wrote it (issue 10.11); the report is whole and 0600 by then.
func TestWriteFileSyncsTheFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	var synced []string
	real := syncDir
	syncDir = func(d string) error {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "new report" {
			t.Errorf("the folder was synced before the rename: %q %v", b, err)
		}
		synced = append(synced, d)
		return real(d)
	}
	defer func() { syncDir = real }()
	if err := WriteFile(path, []byte("new report")); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("folders synced: %q, want [%s]", synced, dir)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("report: %v %v", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files, want the report alone", len(entries))
	}
}
