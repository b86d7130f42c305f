package ssmframe_test

import (
	"fmt"

	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/payload"
)

// A script for two commands, the output a host prints for it (written here
// with AppendFrame, as a fake endpoint does), cut by the transport, and
// split back: the first command is whole, the second is cut and must not be
// parsed.
func Example() {
	marker := "DIFFY-0123456789abcdef0123456789abcdef" // normally ssmframe.NewMarker()
	cmds := []payload.Command{
		{ID: "users", Shell: `osqueryi --json 'SELECT username FROM users;'`},
		{ID: "crontab", Shell: `osqueryi --json 'SELECT command FROM crontab;'`},
	}
	if _, err := ssmframe.Script(marker, cmds); err != nil {
		fmt.Println(err)
		return
	}
	var out []byte
	out = ssmframe.AppendFrame(out, marker, "users", 0, []byte(`[{"username":"root"}]`))
	out = ssmframe.AppendFrame(out, marker, "crontab", 0, []byte(`[{"command":"/usr/bin/backup"}]`))
	out = ssmframe.AppendDone(out, marker)

	cut := out[:len(out)-108] // as if the API returned only the first part
	split := ssmframe.Split(cut, nil, marker, []string{"users", "crontab"})
	for _, id := range []string{"users", "crontab"} {
		f := split.Frames[id]
		fmt.Printf("%s: %v exit %d %q\n", id, f.State, f.ExitCode, f.Stdout)
	}
	fmt.Println("script ran to its end:", split.Done)
	// Output:
	// users: whole exit 0 "[{\"username\":\"root\"}]"
	// crontab: cut exit -1 "[{\"command\":\"/usr/bin/"
	// script ran to its end: false
}
