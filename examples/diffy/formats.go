package main

import "github.com/diffy-dfir/diffy/examples/internal/cli"

// formats are the --format names (cli.Formats), for `diffy plugins` and
// the usage check.
var formats = func() []plugin {
	out := make([]plugin, len(cli.Formats))
	for i, f := range cli.Formats {
		out[i] = plugin{f.Name, f.What}
	}
	return out
}()
