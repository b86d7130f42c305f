package payload_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// The standard pack: one command per query, each with a stable ID that
// Results and Findings carry.
func ExampleStandardPack() {
	for _, c := range payload.StandardPack() {
		fmt.Println(c.ID)
	}
	// Output:
	// listening_ports
	// processes
	// crontab
	// kernel_modules
	// users
	// authorized_keys
}

// Osquery adds the caller's own queries after the standard pack.
func ExampleOsquery() {
	p := payload.Osquery{Extra: []payload.Command{
		payload.QueryCommand("usb_devices", "USB devices", "SELECT vendor, model FROM usb_devices;"),
	}}
	cmds, err := p.Generate(context.Background(), "incident-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(cmds), "commands, the last:", cmds[len(cmds)-1].ID)
	// Output:
	// 7 commands, the last: usb_devices
}

// OsqueryShell is the script a remote collector sends: it runs the query
// with osqueryi, or says osqueryi is missing and exits 127.
func ExampleOsqueryShell() {
	fmt.Println(payload.OsqueryShell("SELECT name FROM users WHERE shell != '/usr/sbin/nologin';"))
	// Output:
	// command -v osqueryi >/dev/null 2>&1 || { echo 'osqueryi not found on this host' >&2; exit 127; }
	// osqueryi --json 'SELECT name FROM users WHERE shell != '\''/usr/sbin/nologin'\'';'
}

// Commands is a fixed list; Generate checks it and returns a copy.
func ExampleCommands() {
	p := payload.Commands{
		{ID: "uptime", Description: "seconds since boot", Shell: `printf '[{"uptime":"%s"}]' "$(cut -d' ' -f1 /proc/uptime)"`},
		{ID: "Bad ID", Shell: "true"},
	}
	_, err := p.Generate(context.Background(), "")
	fmt.Println(err)
	// Output:
	// command 2: ID "Bad ID" is not 1-64 of [a-z0-9_-]: invalid input
}

// Hosts without osqueryi download it from a presigned URL, checked
// against its digest; the hosts need no credential.
func ExampleFetchPayload() {
	fetch := payload.OsqueryFetch{
		URL:    "https://ir-tools.s3.us-east-1.amazonaws.com/osqueryd-5.12?X-Amz-Signature=...",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
	p := payload.FetchPayload(payload.Osquery{}, fetch)
	cmds, err := p.Generate(context.Background(), "INC-7")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(cmds), strings.Contains(cmds[0].Shell, "sha256sum"))
	// Output: 6 true
}
