package main

import (
	"bytes"
	"errors"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseArgs feeds the command line parser any arguments (NUL-separated
// in the fuzz input): it never panics; a refusal is a usage error (exit
// status 2); an accepted line names only built-in plugins and formats, a
// positive batch size, and positional arguments that were given.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"analyze\x00web-asg\x00--target\x00asg\x00--analyzer\x00cluster",
		"baseline\x00local\x00--instance\x00i-1", "analyze\x00--from\x00/tmp/x\x00--format\x00html\x00-o\x00r.html",
		"--target=ids\x00analyze\x00i-1,i-2", "--\x00--target", "-h", "--batch-size\x000\x00analyze", "--batch-size=-1",
		"--format\x00xml", "--target", "-v\x00plugins", "analyze\x00--store\x00s3://b/p\x00k",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		c, pos, err := parseArgs(args)
		if err != nil {
			var ue *cli.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("parseArgs(%q) = %v, not a usage error", args, err)
			}
			checkOneLine(t, err)
			return
		}
		if c.help {
			return
		}
		for _, chk := range []struct {
			v     string
			known []string
		}{
			{c.target, []string{"local", "asg", "tag", "ids"}},
			{c.collector, []string{"local", "ssm"}},
			{c.analyzer, names(analyzers)},
			{c.format, names(formats)},
		} {
			if !slices.Contains(chk.known, chk.v) {
				t.Fatalf("parseArgs(%q) accepted %q", args, chk.v)
			}
		}
		if c.set["batch-size"] && c.batchSize < 1 {
			t.Fatalf("parseArgs(%q) accepted batch size %d", args, c.batchSize)
		}
		for _, p := range pos {
			if !slices.Contains(args, p) {
				t.Fatalf("parseArgs(%q): positional %q was not given", args, p)
			}
		}
	})
}

// FuzzErrorLine checks what the CLI prints for an error built from
// outside text (a host's message, a file name, a key): exactly one line,
// terminal-safe, and without the AWS credentials planted in it.
func FuzzErrorLine(f *testing.F) {
	for _, s := range []string{"plain", "multi\nline\r\n", "\x1b[2Jowned", "bad \xff", "key AKIAIOSFODNN7EXAMPLE", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		for _, err := range []error{errors.New(msg), cli.Usagef("%s", msg), errors.New(msg + " AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")} {
			checkOneLine(t, err)
		}
	})
}

// checkOneLine runs exit on err and checks what it prints.
func checkOneLine(t *testing.T, err error) {
	t.Helper()
	var buf bytes.Buffer
	code := exit(&buf, err)
	var ue *cli.UsageError
	if want := map[bool]int{true: 2, false: 1}[errors.As(err, &ue)]; code != want {
		t.Fatalf("exit(%q) = %d, want %d", err, code, want)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "diffy: ") || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit(%q) printed %q, not one line", err, out)
	}
	if !utf8.ValidString(out) {
		t.Fatalf("exit(%q) printed invalid UTF-8 %q", err, out)
	}
	for _, r := range strings.TrimSuffix(out, "\n") {
		if !unicode.IsPrint(r) {
			t.Fatalf("exit(%q) printed %U in %q", err, r, out)
		}
	}
	if strings.Contains(out, "AKIAIOSFODNN7EXAMPLE") {
		t.Fatalf("exit(%q) printed an access key ID: %q", err, out)
	}
	if strings.Contains(out, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") {
		t.Fatalf("exit(%q) printed a secret key: %q", err, out)
	}
}
