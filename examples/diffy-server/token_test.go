package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenFile: the first start makes the file (0600, 256 bits, in a
// folder made 0700), the next reads the same token; a link, a file others
// may read, a short token, or a folder others may write are refused, each
// naming the file and the problem; nothing is written over.
func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "token")
	tok, created, err := loadToken(path)
	if err != nil || !created || len(tok) != 43 {
		t.Fatalf("first start: %q %v %v", tok, created, err)
	}
	fi, _ := os.Stat(path)
	di, _ := os.Stat(filepath.Dir(path))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes %v, %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	again, created, err := loadToken(path)
	if err != nil || created || again != tok {
		t.Errorf("second start: %q %v %v, want the same token", again, created, err)
	}

	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("not-the-token-but-long-enough-0123456789"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(secret, link)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "made-by-attacker"), dangling)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte(strings.Repeat("x", 40)), 0o644)
	os.Chmod(open, 0o644)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	for _, c := range []struct{ path, says string }{
		{link, "symbolic link"},
		{dangling, "symbolic link"},
		{open, "others may read"},
		{short, "at least"},
		{filepath.Join(shared, "token"), "others may write"},
		{dir, "not a regular file"},
	} {
		got, _, err := loadToken(c.path)
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: %q, %v; want an error naming it and saying %q", c.path, got, err, c.says)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "made-by-attacker")); err == nil {
		t.Error("a file was created through the dangling link")
	}
	if b, _ := os.ReadFile(secret); !bytes.HasPrefix(b, []byte("not-the-token")) {
		t.Error("the link's target was changed")
	}
}

// TestOpenAPI: the description served is the one in docs/, and names
// every route the server has.
func TestOpenAPI(t *testing.T) {
	doc, err := os.ReadFile("../../docs/diffy-server-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, openAPI) {
		t.Error("docs/diffy-server-openapi.json and examples/diffy-server/openapi.json differ: copy one to the other")
	}
	for _, route := range []string{`"/v1/jobs"`, `"/v1/jobs/{id}"`, `"/v1/jobs/{id}/resume"`, `"/v1/jobs/{id}/events"`,
		`"/v1/keys"`, `"/v1/keys/{key}/runs"`, `"/v1/reports/{key}"`, `"/v1/openapi.json"`} {
		if !bytes.Contains(openAPI, []byte(route)) {
			t.Errorf("the OpenAPI description lacks %s", route)
		}
	}
}
