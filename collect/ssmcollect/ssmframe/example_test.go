package ssmframe_test

import (
	"bytes"
	"fmt"

	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/payload"
)

// A script for two commands, the stdout a host prints for it (written here
// with the Append functions, as a fake endpoint does), cut by the
// transport, decoded and split back: the first command is whole, the
// second is cut and must not be parsed.
func Example() {
	marker := "DIFFY-0123456789abcdef0123456789abcdef" // normally ssmframe.NewMarker()
	cmds := []payload.Command{
		{ID: "users", Shell: `osqueryi --json 'SELECT username FROM users;'`},
		{ID: "crontab", Shell: `osqueryi --json 'SELECT command FROM crontab;'`},
	}
	if _, err := ssmframe.Script(marker, cmds, ssmframe.EncodingPlain); err != nil {
		fmt.Println(err)
		return
	}
	var stream []byte
	stream = ssmframe.AppendErrFrame(stream, marker, "users", 0, nil)
	stream = ssmframe.AppendFrame(stream, marker, "users", 0, []byte(`[{"username":"root"}]`))
	stream = ssmframe.AppendErrFrame(stream, marker, "crontab", 0, nil)
	stream = ssmframe.AppendFrame(stream, marker, "crontab", 0, []byte(`[{"command":"/usr/bin/backup"}]`))
	stream = ssmframe.AppendDone(stream, marker)
	stdout := ssmframe.AppendOutput(nil, marker, ssmframe.EncodingPlain, stream)

	cut := stdout[:bytes.Index(stdout, []byte("backup"))] // as if the API returned only the first part
	st, _ := ssmframe.Decode(cut, marker, 1<<20)
	split := ssmframe.Split(st.Data, st.Data, marker, []string{"users", "crontab"})
	for _, id := range []string{"users", "crontab"} {
		f := split.Frames[id]
		fmt.Printf("%s: %v exit %d %q\n", id, f.State, f.ExitCode, f.Stdout)
	}
	fmt.Println("script ran to its end:", split.Done)
	// Output:
	// users: whole exit 0 "[{\"username\":\"root\"}]"
	// crontab: cut exit 0 "[{\"command\":\"/usr/bin/"
	// script ran to its end: false
}
