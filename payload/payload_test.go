package payload_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
)

var standardIDs = []string{payload.ListeningPorts, payload.Processes, payload.Crontab, payload.KernelModules, payload.Users, payload.AuthorizedKeys}

func TestStandardPack(t *testing.T) {
	pack := payload.StandardPack()
	if len(pack) != len(standardIDs) {
		t.Fatalf("%d commands, want %d", len(pack), len(standardIDs))
	}
	for i, c := range pack {
		if c.ID != standardIDs[i] {
			t.Errorf("command %d is %q, want %q", i, c.ID, standardIDs[i])
		}
		if !payload.ValidID(c.ID) || c.Description == "" || c.Query == "" {
			t.Errorf("command %q: valid ID %v, description %q, query %q: want all set", c.ID, payload.ValidID(c.ID), c.Description, c.Query)
		}
		if c.Shell != payload.OsqueryShell(c.Query) {
			t.Errorf("command %q: Shell is not OsqueryShell(Query)", c.ID)
		}
		if strings.Contains(strings.ToLower(c.Shell), "aws_") || strings.Contains(c.Shell, "AKIA") {
			t.Errorf("command %q: its Shell mentions credentials: %q", c.ID, c.Shell)
		}
	}
	if err := payload.Validate(pack); err != nil {
		t.Errorf("Validate(StandardPack()) = %v", err)
	}
	// A fresh copy each time: changing one does not change the next.
	pack[0].ID = "changed"
	if payload.StandardPack()[0].ID != payload.ListeningPorts {
		t.Error("changing a returned pack changed the next one")
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"listening_ports": true, "a": true, "x-1_y": true, "0": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "Upper": false, "with space": false, "dot.ted": false,
		"slash/": false, "é": false, "a\x00": false,
	} {
		if got := payload.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := payload.Command{ID: "ok", Shell: "echo '[]'"}
	cases := []struct {
		name     string
		cmds     []payload.Command
		mentions string
	}{
		{"no command", nil, "no command"},
		{"bad ID", []payload.Command{ok, {ID: "Bad", Shell: "true"}}, `"Bad"`},
		{"duplicate", []payload.Command{ok, {ID: "ok", Query: "SELECT 1;"}}, `"ok" appears twice`},
		{"nothing to run", []payload.Command{{ID: "empty"}}, `"empty"`},
	}
	for _, tc := range cases {
		err := payload.Validate(tc.cmds)
		if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("%s: Validate = %v, want ErrInvalidInput mentioning %s", tc.name, err, tc.mentions)
		}
	}
	if err := payload.Validate([]payload.Command{ok, {ID: "q", Query: "SELECT 1;"}}); err != nil {
		t.Errorf("Validate of good commands = %v", err)
	}
}

func TestCommandsGenerateReturnsCopy(t *testing.T) {
	cmds := payload.Commands{{ID: "a", Shell: "echo '[]'"}, {ID: "b", Query: "SELECT 1;"}}
	got, err := cmds.Generate(context.Background(), "incident-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != cmds[0] || got[1] != cmds[1] {
		t.Fatalf("Generate = %v, want %v", got, cmds)
	}
	got[0].ID = "changed"
	if cmds[0].ID != "a" {
		t.Error("changing Generate's result changed the Commands")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cmds.Generate(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := (payload.Commands{{ID: "a", Shell: "x"}, {ID: "a", Shell: "y"}}).Generate(context.Background(), ""); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("Generate of duplicate IDs = %v, want ErrInvalidInput", err)
	}
}

func TestOsqueryGenerate(t *testing.T) {
	extra := payload.QueryCommand("usb", "USB devices", "SELECT vendor, model FROM usb_devices;")
	got, err := payload.Osquery{Extra: []payload.Command{extra}}.Generate(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(standardIDs)+1 || got[len(got)-1] != extra {
		t.Errorf("Generate = %d commands ending %v, want the pack then %v", len(got), got[len(got)-1], extra)
	}
	clash := payload.QueryCommand(payload.Users, "", "SELECT 1;")
	if _, err := (payload.Osquery{Extra: []payload.Command{clash}}).Generate(context.Background(), ""); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("Generate with an Extra reusing %q = %v, want ErrInvalidInput", payload.Users, err)
	}
}

// tricky are strings a shell would mangle if they were not quoted right.
var tricky = []string{
	"SELECT 1;",
	`SELECT 'it''s' AS a;`,
	`SELECT "double" AS b, '$HOME' AS c, '` + "`id`" + `' AS d;`,
	"SELECT '\\n\\t' AS e; -- backslashes",
	"SELECT 1\nFROM t; multi\nline",
	"'",
	"''",
	`'\''`,
	"",
	"!$&;|<>(){}*?[]~#",
}

func requireSh(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil || runtime.GOOS == "windows" {
		t.Skip("no POSIX sh here")
	}
	return sh
}

func TestShellQuoteRoundTrips(t *testing.T) {
	sh := requireSh(t)
	for _, s := range tricky {
		out, err := exec.Command(sh, "-c", "printf '%s' "+payload.ShellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh printed %q (%v), want %q", out, err, s)
		}
	}
}

func TestOsqueryShellWithoutOsqueryi(t *testing.T) {
	sh := requireSh(t)
	cmd := exec.Command(sh, "-c", payload.OsqueryShell("SELECT 1;"))
	cmd.Env = []string{"PATH=" + t.TempDir()} // an empty PATH: no osqueryi
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != payload.ExitNoOsquery {
		t.Fatalf("exit = %v, want status %d", err, payload.ExitNoOsquery)
	}
	if strings.TrimSpace(stderr.String()) != "osqueryi not found on this host" || stdout.Len() != 0 {
		t.Errorf("stdout %q stderr %q, want nothing and the message", stdout.String(), stderr.String())
	}
}

func TestOsqueryShellRunsOsqueryi(t *testing.T) {
	sh := requireSh(t)
	dir := t.TempDir()
	// A fake osqueryi that prints its arguments, one per NUL-ended record.
	fake := "#!" + sh + "\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n"
	if err := os.WriteFile(filepath.Join(dir, "osqueryi"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sql := range tricky {
		cmd := exec.Command(sh, "-c", payload.OsqueryShell(sql))
		cmd.Env = []string{"PATH=" + dir}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("query %q: %v", sql, err)
		}
		want := "--json\x00" + sql + "\x00"
		if string(out) != want {
			t.Errorf("osqueryi got %q, want %q", out, want)
		}
	}
}
